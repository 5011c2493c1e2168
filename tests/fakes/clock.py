"""Time that only moves when code sleeps: pacing and pauses tested without real waiting."""

from __future__ import annotations


class FakeTime:
    """A monotonic clock (call it) and a matching ``sleep`` that advances it and records waits."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds
