"""Digests, quiet hours and the cap with a fake clock, on real storage (SQLite and PostgreSQL):
the digest comes at the channel's local time across a DST change, quiet hours end, the cap's
overflow rolls into the next digest, and each digest is queued exactly once, across a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from commands_helpers import T_A, User, make_service
from feedserver import Item, rss
from test_chat_why_preview import FEED, StaticFetcher, link, poll

from bot.domain.controls import ChannelControls, QuietHours, Schedule
from bot.jobs.digest import DigestJob
from bot.pipeline.controls import admit, flush_slot, last_digest
from bot.storage import open_storage

PARIS = ZoneInfo("Europe/Paris")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# --- the pure schedule ---------------------------------------------------------------------------
def test_the_daily_digest_follows_the_local_clock_across_dst() -> None:
    daily = Schedule.parse("daily 08:00")
    # Paris leaves CET (UTC+1) for CEST (UTC+2) at 01:00 UTC on 29 March 2026
    assert last_digest(daily, PARIS, at("2026-03-28T12:00")) == at("2026-03-28T07:00")
    assert last_digest(daily, PARIS, at("2026-03-29T05:59")) == at("2026-03-28T07:00")
    assert last_digest(daily, PARIS, at("2026-03-29T06:00")) == at("2026-03-29T06:00")
    # and back in October (CEST -> CET at 01:00 UTC on 25 October)
    assert last_digest(daily, PARIS, at("2026-10-25T06:59")) == at("2026-10-24T06:00")
    assert last_digest(daily, PARIS, at("2026-10-25T07:00")) == at("2026-10-25T07:00")
    weekly = Schedule.parse("weekly mon 09:30")
    assert last_digest(weekly, PARIS, at("2026-12-02T12:00")) == at("2026-11-30T08:30")


def test_admission_and_slots() -> None:
    quiet = ChannelControls(timezone="Europe/Paris", quiet=QuietHours.parse("22:00-07:00"))
    assert admit(quiet, at("2026-12-01T21:30"), 0).startswith("quiet hours")  # 22:30 Paris
    assert admit(quiet, at("2026-12-01T06:00"), 0) is None  # 07:00 Paris: over
    assert flush_slot(quiet, at("2026-12-01T05:59")) is None
    assert flush_slot(quiet, at("2026-12-01T06:00")) == at("2026-12-01T06:00")
    capped = ChannelControls(cap=2)
    assert admit(capped, at("2026-12-01T10:10"), 1) is None
    assert admit(capped, at("2026-12-01T10:10"), 2).startswith("over the cap of 2")
    assert flush_slot(capped, at("2026-12-01T10:59")) == at("2026-12-01T10:00")


# --- the job on real storage ----------------------------------------------------------------------
ITEMS = [Item(f"g{i}", f"Nvidia story number {i}", f"Nvidia said thing {i}.",
              link=link(f"n{i}")) for i in range(5)]


async def setup_channel(storage, clock, *commands: str, items=ITEMS) -> None:
    service = make_service(storage, clock)
    admin = User(service, admin=True)
    assert (await admin("feeds add " + FEED)).ok
    assert (await admin("subscribe company Nvidia")).ok
    for command in commands:
        reply = await admin(command)
        assert reply.ok, reply.text
    fetcher = StaticFetcher()
    await poll(storage, fetcher, clock)
    clock.advance(minutes=20)
    fetcher.body = rss(items)
    await poll(storage, fetcher, clock)


async def claim(storage, now):
    batches = await storage.claim_destinations(now, owner="w", lease=timedelta(seconds=45),
                                               platforms=["slack"], admit=admit)
    out = [d for b in batches for d in b.deliveries]
    for b in batches:
        await storage.release_destination(b.destination_id, "w")
    return out


async def statuses(storage) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in await storage.delivery_states(tenant=T_A):
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


async def test_a_daily_digest_at_local_time_across_dst_exactly_once_across_restart(
        storage, db_url, clock) -> None:
    clock.now = at("2026-03-28T09:00")
    await setup_channel(storage, clock, "digest daily 08:00 Europe/Paris")
    assert await claim(storage, clock.now) == []  # digest mode: nothing goes out now
    assert await statuses(storage) == {"held": 5}
    why = await User(make_service(storage, clock))("why " + link("n1"))
    assert "waiting (digest mode: in the daily 08:00 Europe/Paris digest" in why.text
    job = DigestJob(storage)
    assert await job.run(at("2026-03-29T05:59")) == 0  # 07:59 in Paris, now on summer time
    assert await job.run(at("2026-03-29T06:00")) == 1  # 08:00 in Paris
    assert await job.run(at("2026-03-29T06:01")) == 0
    url, connect_args = db_url
    again = await open_storage(url, connect_args=connect_args)  # a restart
    try:
        assert await DigestJob(again).run(at("2026-03-29T06:05")) == 0
        (digest,) = await claim(again, at("2026-03-29T06:05"))
    finally:
        await again.dispose()
    assert digest.alert.is_digest and digest.alert.title == "News digest: 5 stories"
    assert [i.url for i in digest.alert.items] == [link(f"n{i}") for i in range(5)]
    assert digest.alert.summary.startswith("daily 08:00 Europe/Paris")
    assert await statuses(storage) == {"digested": 5, "pending": 1}
    assert await claim(storage, at("2026-03-29T06:06")) != []  # still the one digest row
    assert await statuses(storage) == {"digested": 5, "pending": 1}


async def test_quiet_hours_end_few_go_one_by_one_many_as_a_digest(storage, clock) -> None:
    clock.now = at("2026-12-01T21:10")  # 22:10 in Paris, +20 min in setup
    await setup_channel(storage, clock, "quiet 22:00-07:00 Europe/Paris", items=ITEMS[:2])
    assert await claim(storage, clock.now) == []
    job = DigestJob(storage)
    assert await job.run(at("2026-12-02T05:59")) == 0  # 06:59 in Paris: still quiet
    assert await statuses(storage) == {"held": 2}
    assert await job.run(at("2026-12-02T06:00")) == 0  # over: two go out on their own
    assert len(await claim(storage, at("2026-12-02T06:00"))) == 2


async def test_quiet_hours_with_many_alerts_end_in_one_digest(storage, clock) -> None:
    clock.now = at("2026-12-01T21:10")
    await setup_channel(storage, clock, "quiet 22:00-07:00 Europe/Paris")
    assert await claim(storage, clock.now) == []
    assert await DigestJob(storage).run(at("2026-12-02T06:00")) == 1
    (digest,) = await claim(storage, at("2026-12-02T06:00"))
    assert digest.alert.title == "News digest: 5 stories"


async def test_the_cap_overflow_rolls_into_the_next_digest(storage, clock) -> None:
    clock.now = at("2026-12-01T10:00")
    await setup_channel(storage, clock, "cap 2")
    first = await claim(storage, clock.now)
    assert len(first) == 2
    for d in first:
        await storage.mark_sent(d.id, "ts", clock.now)
    assert await claim(storage, clock.now) == []
    assert await statuses(storage) == {"sent": 2, "held": 3}
    job = DigestJob(storage)
    assert await job.run(at("2026-12-01T10:59")) == 0
    assert await job.run(at("2026-12-01T11:00")) == 1
    (digest,) = await claim(storage, at("2026-12-01T11:00"))
    assert digest.alert.title == "News digest: 3 stories"


async def test_turning_the_digest_off_lets_held_alerts_go(storage, clock) -> None:
    clock.now = at("2026-12-01T10:00")
    await setup_channel(storage, clock, "digest weekly mon 08:00")
    assert await claim(storage, clock.now) == []
    await User(make_service(storage, clock), admin=True)("digest off")
    clock.advance(minutes=2)
    assert await DigestJob(storage).run(clock.now) == 1
    assert len(await claim(storage, clock.now)) == 1
