"""One pacer for every sink: per-key send slots, plus pauses the platform (or a 429) imposed.

A key is whatever the platform paces by: ``slack:C123`` (about 1 message per second per channel),
``discord:123`` (about 5 per 5 s), ``webhook:ID``, a method family such as ``slack:history``.
``acquire(key)`` waits for the next free slot when that is at most ``max_wait`` away (only that
key waits; other keys go on) and raises ``RateLimitedError(retry_after=...)`` otherwise: nothing is
sent, the outbox reschedules the delivery and the attempt does not count. ``block(key, s)`` pauses
a key after a 429 (``everywhere=True`` for a global limit). Deterministic: no jitter, and the
clock and sleep are injected (tests move time by hand).

The pacer is per process. With several workers, the outbox hands a channel's deliveries to one
worker at a time, so one pacer sees all sends to a channel.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

from bot.domain.errors import RateLimitedError
from bot.net.retry_after import header, parse_retry_after


class Pacer:
    """At most ``limit`` sends per ``window`` seconds per key, and no send to a paused key."""

    def __init__(self, limit: int = 5, window: float = 5.0, max_wait: float = 5.0, *,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if limit < 1 or window < 0 or max_wait < 0:
            raise ValueError("Pacer needs limit >= 1, window >= 0 and max_wait >= 0")
        self.limit, self.window, self.max_wait = limit, window, max_wait
        self._now, self._sleep = monotonic, sleep
        self._slots: dict[str, deque[float]] = {}
        self._blocked: dict[str, float] = {}
        self._global_until = 0.0

    def next_slot(self, key: str) -> float:
        """The earliest monotonic time a send to ``key`` may start (reserves nothing)."""
        now = self._now()
        slots = self._slots.get(key)
        if slots is not None:
            while slots and slots[0] <= now - self.window:
                slots.popleft()
        earliest = slots[0] + self.window if slots and len(slots) >= self.limit else now
        return max(earliest, self._blocked.get(key, 0.0), self._global_until, now)

    def paused_for(self, key: str) -> float:
        """Seconds until ``key`` may send again (0 when a send could start now)."""
        return max(self.next_slot(key) - self._now(), 0.0)

    async def acquire(self, key: str) -> None:
        """Take a slot for ``key`` now, after a short wait, or raise ``RateLimitedError``.

        The check is repeated after every wait: a pause that arrived meanwhile (another send's
        429) is honoured before this send goes out.
        """
        while (delay := self.paused_for(key)) > 0:
            if delay > self.max_wait:
                raise RateLimitedError(f"{key} is paused for {delay:.1f} s (rate limit)",
                                       retry_after=delay)
            await self._sleep(delay)
        self._slots.setdefault(key, deque()).append(self._now())

    def block(self, key: str, seconds: float, *, everywhere: bool = False) -> None:
        """Pause ``key`` (or every key) for ``seconds`` from now; never shortens a pause."""
        until = self._now() + max(seconds, 0.0)
        if everywhere:
            self._global_until = max(self._global_until, until)
        else:
            self._blocked[key] = max(self._blocked.get(key, 0.0), until)

    def observe(self, key: str, headers: Mapping[str, str] | None) -> None:
        """Honour ``X-RateLimit-Remaining: 0`` with its ``X-RateLimit-Reset-After`` (Discord)."""
        if header(headers, "X-RateLimit-Remaining") != "0":
            return
        seconds = parse_retry_after(header(headers, "X-RateLimit-Reset-After"))
        if seconds is not None:
            self.block(key, seconds)

    def rate_limited(self, key: str, seconds: float, what: str, *,
                     everywhere: bool = False) -> RateLimitedError:
        """Record a 429 for ``key`` and return the error that says so (the caller raises it)."""
        self.block(key, seconds, everywhere=everywhere)
        return RateLimitedError(f"rate limited on {what}; waiting {seconds:g} s",
                                retry_after=seconds)
