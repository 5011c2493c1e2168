"""What every command handler gets (``Ctx``), the per-tenant limits, and small shared helpers."""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.chat.types import Invocation
from bot.domain.errors import CommandError
from bot.domain.watchlist import Company, Topic, Watchlist, name_key
from bot.storage import ChatStorage
from bot.text.truncate import truncate

UrlVetter = Callable[[str], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Limits:
    max_feeds: int = 100  # follows per tenant
    max_watches: int = 500  # companies + topics per tenant
    max_subscriptions: int = 50  # per channel
    min_interval: int = 5  # minutes between polls of a chat-added feed
    max_interval: int = 1440
    default_interval: int = 15
    preview_days: int = 7
    preview_alerts: int = 5  # alerts shown by `preview company`
    preview_scan: int = 5000  # stored articles examined by `preview company`


@dataclass(frozen=True, slots=True)
class Ctx:
    storage: ChatStorage
    inv: Invocation
    now: datetime
    limits: Limits
    vetter: UrlVetter

    @property
    def tenant(self) -> str:
        return self.inv.tenant

    async def destination_id(self) -> int:
        return await self.storage.ensure_destination(self.inv.tenant, self.inv.destination,
                                                     self.now)


def did_you_mean(name: str, candidates: Sequence[str], what: str) -> CommandError:
    """'No company "Nvdia" is watched here. Did you mean Nvidia?' from the watchlist's names."""
    by_fold = {name_key(c): c for c in candidates}
    close = difflib.get_close_matches(name_key(name), list(by_fold), n=3, cutoff=0.6)
    if not close:
        close = [f for f in by_fold if name_key(name) in f][:3]
    lead = f"No {what} {short(name)} is watched here."
    if close:
        return CommandError(f"{lead} Did you mean {' or '.join(by_fold[c] for c in close)}?")
    hint = "/news watch list" if candidates else "an admin can add it with /news watch add"
    return CommandError(f"{lead} ({len(candidates)} {what} name(s) watched; see {hint}.)")


def find_company(watchlist: Watchlist, name: str) -> Company:
    """The watched company called ``name`` (``name_key``), else a did-you-mean error."""
    found = watchlist.company(name)
    if found is None:
        raise did_you_mean(name, [c.name for c in watchlist.companies], "company")
    return found


def find_topic(watchlist: Watchlist, name: str) -> Topic:
    """The watched topic called ``name`` (``name_key``), else a did-you-mean error."""
    found = watchlist.topic(name)
    if found is None:
        raise did_you_mean(name, [t.name for t in watchlist.topics], "topic")
    return found


def short(text: str, limit: int = 60) -> str:
    """A user's text quoted for a reply, cut to ``limit`` characters."""
    return f"\u201c{truncate(' '.join(text.split()), limit)}\u201d"


def when(at: datetime | None, now: datetime) -> str:
    """'3 min ago', 'in 2 h', 'never' — short and relative, with the UTC time for long spans."""
    if at is None:
        return "never"
    delta = at - now
    future = delta > timedelta(0)
    span = abs(delta)
    if span < timedelta(minutes=1):
        return "just now"
    if span < timedelta(hours=1):
        amount = f"{int(span.total_seconds() // 60)} min"
    elif span < timedelta(days=2):
        amount = f"{int(span.total_seconds() // 3600)} h"
    else:
        return at.strftime("%Y-%m-%d %H:%M UTC")
    return f"in {amount}" if future else f"{amount} ago"


def bullet(lines: Sequence[str], limit: int = 20) -> str:
    shown = [f"• {line}" for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"… and {len(lines) - limit} more")
    return "\n".join(shown)
