"""The one pacer: per-key slots, pauses after a 429, a refusal instead of a long sleep."""

from __future__ import annotations

import asyncio

import pytest
from fakes.clock import FakeTime

from bot.delivery.pacer import Pacer
from bot.domain.errors import RateLimitedError


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


def pacer(time_: FakeTime, **kw: float) -> Pacer:
    return Pacer(monotonic=time_, sleep=time_.sleep, **kw)  # type: ignore[arg-type]


async def test_five_messages_per_five_seconds_per_channel(time_) -> None:
    p = pacer(time_)
    for _ in range(5):
        await p.acquire("channel:1")
    await p.acquire("channel:2")
    assert time_.sleeps == []
    await p.acquire("channel:1")
    assert time_.sleeps == [5.0]


async def test_one_per_second_is_slack_pacing(time_) -> None:
    p = pacer(time_, limit=1, window=1.0)
    for _ in range(3):
        await p.acquire("slack:C1")
    assert time_.sleeps == [1.0, 1.0]


async def test_a_long_wait_is_refused_as_rate_limited_instead_of_slept(time_) -> None:
    p = pacer(time_, max_wait=1.0)
    p.block("channel:1", 30.0)
    with pytest.raises(RateLimitedError) as caught:
        await p.acquire("channel:1")
    assert caught.value.retry_after == pytest.approx(30.0) and time_.sleeps == []
    assert p.paused_for("channel:1") == pytest.approx(30.0) and p.paused_for("channel:2") == 0
    time_.now += 30
    await p.acquire("channel:1")
    assert time_.sleeps == []


async def test_a_rate_limit_is_recorded_and_returned_as_the_error_to_raise(time_) -> None:
    p = pacer(time_)
    error = p.rate_limited("slack:C1", 12.0, "Slack channel C1")
    assert isinstance(error, RateLimitedError) and error.retry_after == 12.0
    assert p.paused_for("slack:C1") == pytest.approx(12.0)
    p.block("slack:C1", 1.0)  # a shorter pause never shortens a longer one
    assert p.paused_for("slack:C1") == pytest.approx(12.0)


async def test_an_exhausted_bucket_pauses_the_channel_until_it_resets(time_) -> None:
    p = pacer(time_)
    p.observe("channel:1", {"x-ratelimit-remaining": "0", "X-RateLimit-Reset-After": "1.5"})
    p.observe("channel:2", {"X-RateLimit-Remaining": "3", "X-RateLimit-Reset-After": "9"})
    await p.acquire("channel:2")
    await p.acquire("channel:1")
    assert time_.sleeps == [1.5]


async def test_a_global_rate_limit_pauses_every_channel(time_) -> None:
    p = pacer(time_)
    p.block("channel:1", 2.0, everywhere=True)
    await p.acquire("channel:2")
    assert time_.sleeps == [2.0]


async def test_a_pause_that_arrives_during_a_wait_is_honoured_before_sending(time_) -> None:
    async def blocked_meanwhile(seconds: float) -> None:
        await time_.sleep(seconds)
        if len(time_.sleeps) == 1:
            p.block("k", 3.0)  # another send's 429 while this one waited for its slot

    p = Pacer(limit=1, window=1.0, max_wait=10.0, monotonic=time_, sleep=blocked_meanwhile)
    await p.acquire("k")
    await p.acquire("k")
    assert time_.sleeps == [1.0, 3.0]


async def test_concurrent_senders_get_distinct_slots(time_) -> None:
    p = pacer(time_, limit=1, window=1.0, max_wait=10.0)
    await asyncio.gather(*(p.acquire("k") for _ in range(3)))
    assert time_.now == pytest.approx(1002.0)


def test_nonsense_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        Pacer(limit=0)
