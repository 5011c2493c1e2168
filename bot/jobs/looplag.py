"""Event-loop lag: how late a short sleep wakes up, i.e. how long something held the loop.

A ticker task sleeps ``interval`` seconds again and again; the extra time each sleep took is the
lag (CPU work or a blocking call on the loop). It keeps the maximum and the recent samples, and
logs a warning for every gap over ``warn_after`` (250 ms: past that, chat commands risk the
platforms' 3 s deadline). ``snapshot()`` is what a ``/metrics`` endpoint reads.

Start it where the app starts (``lag = LoopLag(); lag.start()``) and ``await lag.stop()`` on
shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass

log = logging.getLogger(__name__)

INTERVAL = 0.05  # seconds between ticks
WARN_AFTER = 0.25  # seconds of lag that are logged
RECENT = 200  # samples kept (10 s at the default interval)


@dataclass(frozen=True, slots=True)
class LagSnapshot:
    """Lag in seconds: the worst since start, the worst of the recent samples, the last one."""

    max: float
    recent_max: float
    last: float
    samples: int
    slow: int  # ticks whose lag exceeded the warning threshold


class LoopLag:
    def __init__(self, *, interval: float = INTERVAL, warn_after: float = WARN_AFTER,
                 recent: int = RECENT) -> None:
        self.interval = interval
        self.warn_after = warn_after
        self.max = 0.0
        self.samples = 0
        self.slow = 0
        self._recent: deque[float] = deque(maxlen=recent)
        self._task: asyncio.Task[None] | None = None
        self._tick_from: float | None = None  # loop time the current tick's sleep began

    def record(self, lag: float) -> None:
        lag = max(0.0, lag)
        self.samples += 1
        self._recent.append(lag)
        self.max = max(self.max, lag)
        if lag > self.warn_after:
            self.slow += 1
            log.warning("event loop stalled %.0f ms (something CPU-heavy ran on the loop)",
                        lag * 1000)

    def snapshot(self) -> LagSnapshot:
        recent = tuple(self._recent)
        return LagSnapshot(self.max, max(recent, default=0.0), recent[-1] if recent else 0.0,
                           self.samples, self.slow)

    async def run(self) -> None:
        """Tick until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            self._tick_from = loop.time()
            await asyncio.sleep(self.interval)
            self.record(loop.time() - self._tick_from - self.interval)
            self._tick_from = None

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="loop-lag")
        return self._task

    async def stop(self) -> None:
        """Stop ticking; a stall still in progress (the loop was held until just now, so the
        ticker has not woken up yet) is recorded too."""
        task, self._task = self._task, None
        if task is not None:
            if self._tick_from is not None:
                late = asyncio.get_running_loop().time() - self._tick_from - self.interval
                if late > 0:
                    self.record(late)
                self._tick_from = None
            task.cancel()
            await asyncio.wait({task})  # (our own cancellation still propagates)
