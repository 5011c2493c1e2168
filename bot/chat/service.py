"""``CommandService``: the platform-neutral ``/news`` command layer (parse, authorise, act, reply).

The Slack and Discord adapters build an ``Invocation`` (deciding ``is_admin`` server-side), call
``handle`` and render the ``Reply``. Every call first makes sure the tenant exists (a new workspace
or server starts from the operator's watchlist). User mistakes become ``Reply(ok=False)`` with a
short message, checked before anything is written; admin commands are refused for non-admins before
their arguments are even looked at.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from bot.chat.admin_channel import admin_channel, status
from bot.chat.base import Ctx, Limits, UrlVetter
from bot.chat.controls import exclude, mute, set_control
from bot.chat.controls_grammar import parse_any
from bot.chat.feeds import feeds_add, feeds_list, feeds_remove
from bot.chat.grammar import check_text, tokenize
from bot.chat.help import help_reply
from bot.chat.messages import FAILURE, NOT_ADMIN
from bot.chat.opml import Download, feeds_import
from bot.chat.parsed import (
    ADMIN_COMMANDS,
    AdminChannel,
    Command,
    ExcludeCmd,
    FeedAdd,
    FeedImport,
    FeedList,
    FeedRemove,
    Help,
    ListSubs,
    MuteCmd,
    Preview,
    Resume,
    SetControl,
    Status,
    Subscribe,
    WatchAdd,
    WatchList,
    WatchRemove,
    Why,
)
from bot.chat.preview import preview
from bot.chat.subscriptions import list_subscriptions, resume, subscribe
from bot.chat.types import Invocation, Reply
from bot.chat.watch import watch_add, watch_list, watch_remove
from bot.chat.why import why
from bot.domain.errors import CommandError, NewsbotError, NotAuthorized
from bot.domain.watchlist import Watchlist, name_key
from bot.net.download import GuardedDownload
from bot.net.netguard import vet_url
from bot.storage import ChatStorage

log = logging.getLogger(__name__)

ADMIN_WORDS = ("watch", "feeds", "feed", "resume", "admin-channel", "admin_channel", "status",
               "mention", "mentions", "followups", "follow-ups", "follow_ups", "followup")
INLINE_NAMES = 2000  # watchlists up to this size are searched on the loop (a few ms at most)


async def _default_vetter(url: str) -> str:
    return await vet_url(url)


class CommandService:
    """Implements ``Commands`` on real storage. ``url_vetter`` checks chat-added feed URLs
    (default: ``vet_url`` with the system resolver; tests inject one with a fake resolver);
    ``download`` fetches an uploaded file (default: ``GuardedDownload`` with the default guard)."""

    def __init__(self, storage: ChatStorage, *, defaults: Watchlist, clock: Callable[[], datetime],
                 url_vetter: UrlVetter | None = None, limits: Limits | None = None,
                 download: Download | None = None) -> None:
        self.storage = storage
        self.defaults = defaults
        self.clock = clock
        self.vetter: UrlVetter = url_vetter or _default_vetter
        self.limits = limits or Limits()
        self.download: Download = download or GuardedDownload()

    async def handle(self, invocation: Invocation) -> Reply:
        """Run one command. Never raises for user mistakes: they become ``Reply(ok=False)``."""
        try:
            self._authorise_early(invocation)
            command = parse_any(invocation.text)
            if isinstance(command, ADMIN_COMMANDS) and not invocation.is_admin:
                raise NotAuthorized(NOT_ADMIN)
            now = self.clock()
            await self.storage.ensure_tenant(invocation.tenant, now, defaults=self.defaults)
            ctx = Ctx(self.storage, invocation, now, self.limits, self.vetter)
            return await self._run(ctx, command)
        except CommandError as exc:
            return Reply(str(exc), ok=False)
        except NewsbotError as exc:
            log.error("command %r in %s/%s by %s failed: %s: %s", invocation.text[:200],
                      invocation.tenant, invocation.channel, invocation.user,
                      exc.__class__.__name__, exc, extra={"tenant": invocation.tenant})
            return Reply(FAILURE, ok=False)

    @staticmethod
    def _authorise_early(invocation: Invocation) -> None:
        """Refuse admin commands from non-admins before parsing (and so before any detail)."""
        if invocation.is_admin:
            return
        try:
            tokens = tokenize(check_text(invocation.text[:200]))
        except CommandError:
            return
        if tokens and not tokens[0].quoted and tokens[0].text.casefold() in ADMIN_WORDS:
            raise NotAuthorized(NOT_ADMIN)

    async def _run(self, ctx: Ctx, command: Command) -> Reply:  # a dispatch table
        match command:
            case Help(topic):
                return help_reply(topic)
            case ListSubs():
                return await list_subscriptions(ctx)
            case Subscribe():
                return await subscribe(ctx, command)
            case Preview():
                return await preview(ctx, command)
            case Why():
                return await why(ctx, command)
            case WatchAdd():
                return await watch_add(ctx, command)
            case WatchRemove():
                return await watch_remove(ctx, command)
            case WatchList():
                return await watch_list(ctx)
            case FeedAdd():
                return await feeds_add(ctx, command)
            case FeedRemove():
                return await feeds_remove(ctx, command)
            case FeedList():
                return await feeds_list(ctx)
            case FeedImport():
                return await feeds_import(ctx, command, self.download)
            case Resume():
                return await resume(ctx)
            case SetControl():
                return await set_control(ctx, command)
            case MuteCmd():
                return await mute(ctx, command)
            case ExcludeCmd():
                return await exclude(ctx, command)
            case AdminChannel():
                return await admin_channel(ctx, command)
            case Status():
                return await status(ctx)
        raise CommandError("Unknown command; see /news help.")  # pragma: no cover

    async def complete(self, tenant: str, kind: Literal["company", "topic"], prefix: str,
                       limit: int = 25) -> list[str]:
        """Watched names: those starting with ``prefix`` first, then those containing it."""
        await self.storage.ensure_tenant(tenant, self.clock(), defaults=self.defaults)
        watchlist = await self.storage.watchlist(tenant)
        names = [c.name for c in watchlist.companies] if kind == "company" else [
            t.name for t in watchlist.topics]
        if len(names) <= INLINE_NAMES:
            return complete_names(names, prefix, limit)
        return await asyncio.to_thread(complete_names, names, prefix, limit)  # (100k names)


def complete_names(names: list[str], prefix: str, limit: int) -> list[str]:
    """Names starting with ``prefix`` (folded) first, then those containing it."""
    key = name_key(prefix.strip()) if prefix.strip() else ""
    starts: list[str] = []
    contains: list[str] = []
    for name in names:
        f = name_key(name)
        if f.startswith(key):
            starts.append(name)
        elif key in f:
            contains.append(name)
    return (starts + contains)[:max(0, limit)]
