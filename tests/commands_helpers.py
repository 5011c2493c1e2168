"""Shared pieces of the command-layer tests: a service on real storage, a fake DNS, a state dump."""

from __future__ import annotations

import socket
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult

from bot.chat.base import Limits
from bot.chat.service import CommandService
from bot.chat.types import Invocation, Reply
from bot.config.watchlist import watchlist_to_dict
from bot.domain.watchlist import Company, Topic, Watchlist
from bot.net.netguard import vet_url
from bot.storage import Storage

DEFAULTS = Watchlist(
    companies=(Company("Nvidia", aliases=("NVDA",)), Company("Mistral AI", aliases=("Mistral",),
                                                             context=("AI", "model")),
               Company("Airbus")),
    topics=(Topic("Funding", ("invest*", "funding round")), Topic("Acquisition", ("acqui*",))))
T_A = "slack:TA"
T_B = "discord:999"


class FakeDNS(AbstractResolver):
    """A resolver with behaviour: answers from a table; unknown names do not resolve."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if host not in self.answers:
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        return [ResolveResult(hostname=host, host=ip, port=port, family=socket.AF_INET, proto=0,
                              flags=0) for ip in self.answers[host]]

    async def close(self) -> None:
        return None


DNS = FakeDNS({"news.example.org": ["93.184.216.34"], "feeds.example.net": ["93.184.216.35"],
               "intranet.example.org": ["10.1.2.3"],
               "mixed.example.org": ["93.184.216.36", "127.0.0.1"]})


async def fake_vetter(url: str) -> str:
    return await vet_url(url, resolver=DNS)


def make_service(storage: Storage, clock: Any, limits: Limits | None = None) -> CommandService:
    return CommandService(storage, defaults=DEFAULTS, clock=clock, url_vetter=fake_vetter,
                          limits=limits)


class User:
    """Someone typing /news in one channel of one tenant."""

    def __init__(self, service: CommandService, tenant: str = T_A, channel: str = "C1", *,
                 admin: bool = False, user: str = "U1") -> None:
        self.service = service
        self.tenant = tenant
        self.channel = channel
        self.admin = admin
        self.user = user

    async def __call__(self, text: str) -> Reply:
        platform = "slack" if self.tenant.startswith("slack") else "discord"
        return await self.service.handle(Invocation(
            tenant=self.tenant, platform=platform, channel=self.channel, user=self.user,
            text=text, is_admin=self.admin, user_name=f"name-{self.user}"))


async def state(storage: Storage, tenant: str) -> dict[str, Any]:
    """Everything a command could change for ``tenant``."""
    return {
        "watchlist": watchlist_to_dict(await storage.watchlist(tenant)),
        "follows": [f.to_dict() for f in await storage.feed_follows(tenant)],
        "destinations": [(d.address, d.subscriptions)
                         for d in await storage.destinations(tenant, active_only=False)],
        "audit": len(await storage.audit_entries(tenant)),
    }
