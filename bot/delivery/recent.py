""""Did it land?" for many deliveries at once: a channel's recent messages read once, then reused.

After a crash or a timeout, several deliveries of one channel can be in doubt. Reading the
channel's recent messages once per delivery would cost N history reads (Slack's
``conversations.history`` allows about 50 a minute); ``RecentScans`` reads them once and answers
every in-doubt delivery of that channel from the markers it saw.

A scan answers for a delivery only if it started after that delivery's last attempt (a later
attempt may have landed after the scan: scan again) and is at most ``ttl`` seconds old. Scans of
one channel run one at a time, so concurrent questions share one read.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

SCAN_TTL = 60.0  # seconds a channel's scan answers later questions
Scan = Callable[[], Awaitable[dict[str, str]]]  # reads a channel: marker -> message id


@dataclass(frozen=True, slots=True)
class _Seen:
    started: datetime  # wall clock when the read began
    at: float  # monotonic time it ended
    markers: dict[str, str]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(when: datetime) -> datetime:
    """``when`` as an aware datetime (a naive one from a database is read as UTC)."""
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class RecentScans:
    """Per-channel cache of "markers seen in the recent messages" (see the module docstring)."""

    def __init__(self, ttl: float = SCAN_TTL, *, clock: Callable[[], datetime] = _utcnow,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock, self.monotonic = clock, monotonic
        self._seen: dict[str, _Seen] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.scans = 0  # reads done (for logs and tests)

    async def lookup(self, channel: str, marker: str, attempted_at: datetime | None,
                     scan: Scan) -> str | None:
        """The message id carrying ``marker`` in ``channel``, or None; reads only when needed."""
        async with self._locks.setdefault(channel, asyncio.Lock()):
            seen = self._seen.get(channel)
            if seen is None or not self._answers(seen, attempted_at):
                started = self.clock()
                markers = await scan()
                self.scans += 1
                seen = _Seen(started, self.monotonic(), markers)
                self._seen[channel] = seen
            return seen.markers.get(marker)

    def _answers(self, seen: _Seen, attempted_at: datetime | None) -> bool:
        if self.monotonic() - seen.at > self.ttl:
            return False
        return attempted_at is None or as_utc(seen.started) > as_utc(attempted_at)
