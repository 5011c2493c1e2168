"""The lease heartbeat: while a worker holds leases (feeds it polls, destinations it delivers to),
it renews them every few seconds, so leases can be short and a crashed worker's work is picked up
by another within about a lease (45 s) instead of many minutes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from types import TracebackType

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=45)  # how long a claim lasts without a heartbeat
BEAT_SECONDS = 15.0  # renew three times per lease: one missed beat is harmless


def worker_id() -> str:
    """This worker's name on its leases: host, process, and a random part (pids are reused)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Heartbeat:
    """``async with Heartbeat(renew):`` calls ``renew()`` every ``interval`` seconds inside."""

    def __init__(self, renew: Callable[[], Awaitable[None]],
                 interval: float = BEAT_SECONDS) -> None:
        self.renew = renew
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Heartbeat:
        self._task = asyncio.create_task(self._beat(), name="lease-heartbeat")
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.renew()
            except Exception as exc:  # a missed beat is retried on the next one
                log.warning("could not renew leases: %s: %s", exc.__class__.__name__, exc)
