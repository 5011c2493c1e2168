"""Chat adapters start in the background: polling and delivery never wait for Slack or Discord.

Each adapter's start (Slack's ``apps.connections.open``, Discord's login) runs in its own task and
is retried with exponential backoff and jitter while it fails for a reason that can pass (the
network, a 5xx); a reason that cannot (a refused token) is logged once and the adapter stays off.
``stop()`` ends a start in progress or the running adapter within ``stop_timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Protocol

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0  # seconds before the second attempt; doubled after each failure
MAX_DELAY = 300.0
STOP_TIMEOUT = 1.5


class Runtime(Protocol):
    async def stop(self) -> None: ...


Start = Callable[[], Awaitable[Runtime | None]]


class BackgroundAdapter:
    """One chat adapter: ``begin()`` starts it in the background, ``stop()`` ends it."""

    def __init__(self, name: str, start: Start, *,
                 permanent: tuple[type[BaseException], ...] = (),
                 first_delay: float = FIRST_DELAY, max_delay: float = MAX_DELAY,
                 stop_timeout: float = STOP_TIMEOUT) -> None:
        self.name = name
        self._start = start
        self._permanent = permanent
        self._delays = (first_delay, max_delay)
        self._stop_timeout = stop_timeout
        self._task: asyncio.Task[None] | None = None
        self.runtime: Runtime | None = None
        self.attempts = 0

    def begin(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"start-{self.name}")

    async def _run(self) -> None:
        delay, most = self._delays
        while True:
            self.attempts += 1
            try:
                self.runtime = await self._start()
                return
            except self._permanent as exc:
                log.error("%s cannot start: %s. It stays off until the next start; polling and "
                          "delivery go on.", self.name, str(exc).rstrip("."))
                return
            except Exception as exc:  # any start failure is retried later
                log.warning("%s could not start (%s: %s); retrying in %.0fs", self.name,
                            exc.__class__.__name__, str(exc)[:300], delay)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, most)

    async def wait_started(self) -> None:
        """Until the start has succeeded or been given up (tests, health checks)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.wait([self._task], timeout=self._stop_timeout)
        if self.runtime is None:
            return
        try:
            await asyncio.wait_for(self.runtime.stop(), self._stop_timeout)
        except Exception as exc:  # a stuck adapter must not hold the exit up
            log.warning("%s did not stop cleanly (%s); leaving it", self.name,
                        exc.__class__.__name__)


def start_all(adapters: list[BackgroundAdapter]) -> list[BackgroundAdapter]:
    for adapter in adapters:
        adapter.begin()
    return adapters


async def stop_all(adapters: list[BackgroundAdapter], *, when: asyncio.Event | None = None
                   ) -> None:
    """Stop every adapter at once (after ``when`` is set, if given)."""
    if when is not None:
        await when.wait()
    await asyncio.gather(*(a.stop() for a in adapters))
