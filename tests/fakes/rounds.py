"""Drive an App round by round (the scheduler's job) until something holds, moving its clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


async def cycle_until(app: Any, clock: Any, done: Callable[[], bool], *, step_seconds: float = 2,
                      rounds: int = 60) -> int:
    """Run ``app.cycle()`` until ``done()`` (at most ``rounds`` times); the rounds it took."""
    for n in range(1, rounds + 1):
        await app.cycle()
        if done():
            return n
        clock.advance(seconds=step_seconds)
    return rounds


async def deliver_through_a_storm(app: Any, clock: Any, *, add_items: Callable[[], Any],
                                  start_storm: Callable[[], Any],
                                  landed: Callable[[], list[str]], expected: int) -> list[str]:
    """First poll (nothing posted), then new items arrive during a 429 storm; runs rounds until
    ``expected`` alerts landed (or gives up) and returns what ``landed()`` says: one marker per
    message at the platform."""
    await app.cycle(all_feeds=True)
    add_items()
    start_storm()
    clock.advance(minutes=20)
    await cycle_until(app, clock, lambda: len(landed()) >= expected)
    return landed()
