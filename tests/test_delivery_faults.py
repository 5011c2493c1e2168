"""Delivery under faults, on real storage (SQLite and PostgreSQL) and the loopback Slack/Discord
fakes: rate-limit storms, gone channels, missing tokens, the age limit, crashes and two workers.
Every test counts what the platform received per delivery: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from apphelpers import open_app
from fakes.fake_discord import TOKEN
from fakes.fake_slack import Failure, FakeSlack
from sqlalchemy import select
from test_discord_e2e import FakeTime

from bot.app import App, CycleReport, run_summary
from bot.chat.types import Invocation
from bot.cli import main
from bot.config.operator import DestinationSpec
from bot.delivery.discord_sink import DiscordSink, Pacer
from bot.delivery.jsonl import JsonlSink
from bot.delivery.sinks import Sink
from bot.delivery.slack_sink import SlackSink, slack_client
from bot.domain.alert import Alert, Subscription
from bot.domain.article import Article, FeedSource
from bot.domain.delivery import Delivery, SendResult
from bot.domain.errors import NotSentError, PermanentDeliveryError, RateLimitedError
from bot.domain.watchlist import Company, Watchlist
from bot.jobs.deliver import Deliverer, DeliveryReport
from bot.jobs.liveness import Liveness
from bot.storage import NewDelivery, PollRecord, Storage, open_storage
from bot.storage.sql.tables import destinations

# The app runs on the test clock: Slack's message ts count from the same time.
pytestmark = pytest.mark.usefixtures("slack_on_clock")

WATCHLIST = Watchlist(companies=(Company("Nvidia"),))
ANY = (Subscription(company="*"),)
SLACK_CHANNEL, DISCORD_CHANNEL = "C123", "123456789012345678"


# --- helpers --------------------------------------------------------------------------------------
async def queue(storage: Storage, clock, address: str, n: int, *, tenant: str = "local",
                start: int = 0) -> list[int]:
    """Queue ``n`` alerts for ``address`` (as a poll would); returns their delivery ids."""
    await storage.ensure_tenant(tenant, clock())
    dest = await storage.ensure_destination(tenant, address, clock())
    feed = await storage.ensure_feed(FeedSource("https://news.example.com/feed", "News"), clock())
    await storage.follow(tenant, feed, title="News", backfill=0, source="config", now=clock())
    arts = tuple(Article(key=f"{address}/{i}", story=f"url:https://news.example.com/{address}/{i}",
                         feed_url="https://news.example.com/feed",
                         url=f"https://news.example.com/{i}", title=f"Nvidia news {i}",
                         text="Nvidia invests.") for i in range(start, start + n))
    await storage.record_poll(PollRecord(
        feed_id=feed, now=clock(), next_poll_at=clock() + timedelta(days=30), etag=None,
        last_modified=None, articles=arts, primed_follows=(), deliveries=tuple(
            NewDelivery(dest, a.key, Alert(destination=address, feed="News", url=a.url,
                                           title=a.title, published=None, companies=("Nvidia",),
                                           topics=(), summary="Nvidia invests.", story=a.story))
            for a in arts)))
    return [s.id for s in await storage.delivery_states(destination_id=dest)][-n:]


class TinySink:
    """A sink with exact control: ``fail(call_number, delivery)`` may return an error to raise;
    records every call, every accepted message, every find_sent check, and any overlap of two
    sends to one destination."""

    platform = "rec"

    def __init__(self, fail: Callable[[int, Delivery], Exception | None] = lambda n, d: None,
                 pause: float = 0.0) -> None:
        self.fail = fail
        self.pause = pause
        self.calls: list[int] = []
        self.sent: list[Delivery] = []
        self.checked: list[int] = []
        self.landed: dict[int, str] = {}
        self.inflight: Counter[str] = Counter()
        self.overlaps = 0

    async def send(self, delivery: Delivery) -> SendResult:
        self.calls.append(delivery.id)
        if (exc := self.fail(len(self.calls), delivery)) is not None:
            raise exc
        self.inflight[delivery.address] += 1
        self.overlaps += self.inflight[delivery.address] > 1
        await asyncio.sleep(self.pause)
        self.inflight[delivery.address] -= 1
        self.sent.append(delivery)
        return SendResult(message_id=f"m{delivery.id}")

    async def find_sent(self, delivery: Delivery) -> str | None:
        self.checked.append(delivery.id)
        return self.landed.get(delivery.id)

    async def close(self) -> None:
        return None


async def drain(app: App, clock, rounds: int = 200, step: float = 2.0) -> DeliveryReport:
    """Deliver, letting fake time pass between rounds, until nothing is left to retry; the
    events of every round added up, with the backlog after the last."""
    total = DeliveryReport()
    for _ in range(rounds):
        report = await app.deliver_due()
        total += DeliveryReport(sent=report.sent, expired=report.expired,
                                rejected=report.rejected)
        if report.retrying == 0:
            return replace(total, waiting=report.waiting, stopped=report.stopped)
        clock.advance(seconds=step)
    raise AssertionError(f"still retrying after {rounds} rounds")


def ask(app: App, text: str, *, admin: bool = False, channel: str = SLACK_CHANNEL):
    return app.commands.handle(Invocation(tenant="local", platform="slack", channel=channel,
                                          user="U1", text=text, is_admin=admin))


def slack_sink(slack: FakeSlack, clock) -> SlackSink:
    async def advance(seconds: float) -> None:
        clock.advance(seconds=seconds)

    return SlackSink(slack_client("xoxb-test", base_url=slack.api_url), clock=clock,
                     monotonic=lambda: clock().timestamp(), sleep=advance)


def slack_counts(slack: FakeSlack) -> Counter[int]:
    """Messages the fake Slack holds, per delivery id (from each message's metadata)."""
    return Counter(int(m["metadata"]["event_payload"]["delivery"])
                   for m in slack.posted(SLACK_CHANNEL))


async def make(db_url, tmp_path: Path, clock, sinks: dict[str, Sink], *addresses: str,
               **settings) -> App:
    return await open_app(db_url, tmp_path, clock, feeds=(), watchlist=WATCHLIST, sinks=sinks,
                          destinations=[DestinationSpec(a, ANY) for a in addresses], **settings)


# --- rate limits ----------------------------------------------------------------------------------
async def test_a_slack_429_storm_loses_nothing_and_doubles_nothing(db_url, tmp_path, clock,
                                                                   slack) -> None:
    slack.script("chat.postMessage", *[Failure(), Failure(status=429, retry_after=1)] * 40)
    app = await make(db_url, tmp_path, clock, {"slack": slack_sink(slack, clock)},
                     f"slack:{SLACK_CHANNEL}")
    try:
        ids = await queue(app.storage, clock, f"slack:{SLACK_CHANNEL}", 30)
        total = await drain(app, clock)
        assert total.sent == 30 and total.rejected == 0
        assert slack_counts(slack) == Counter(ids)  # every alert exactly once
        assert len(slack.calls_to("chat.postMessage")) >= 59  # the storm really happened
        assert [int(m["metadata"]["event_payload"]["delivery"])
                for m in slack.posted(SLACK_CHANNEL)] == ids  # and in order
    finally:
        await app.close()


async def test_a_discord_429_storm_loses_nothing_and_doubles_nothing(
        db_url, tmp_path, clock, discord) -> None:
    discord.rate_limit_every, discord.rate_limit_retry_after = 2, 1.0
    time_ = FakeTime()
    sink = DiscordSink(api_base=discord.base, token=TOKEN,
                       pacer=Pacer(monotonic=time_, sleep=time_.sleep))
    address = f"discord:{DISCORD_CHANNEL}"
    app = await make(db_url, tmp_path, clock, {"discord": sink}, address)
    try:
        await queue(app.storage, clock, address, 30)
        total = await drain(app, clock)
        assert total.sent == 30 and total.rejected == 0
        titles = Counter(m.body["embeds"][0]["title"]
                         for m in discord.channel_messages(DISCORD_CHANNEL))
        assert titles == Counter(f"Nvidia news {i}" for i in range(30))
    finally:
        await app.close()


async def test_rate_limits_never_use_up_attempts_and_hold_the_rest_of_the_queue(
        db_url, tmp_path, clock) -> None:
    sink = TinySink(lambda n, d: RateLimitedError("429", retry_after=1) if n % 2 == 0 else None)
    app = await make(db_url, tmp_path, clock, {"rec": sink}, "rec:main")
    try:
        ids = await queue(app.storage, clock, "rec:main", 30)
        total = await drain(app, clock)
        assert total.sent == 30 and total.rejected == 0
        # after each 429 the channel waits and the same alert goes first: nothing bounced
        assert sink.calls == [ids[0]] + [i for i in ids[1:] for _ in (1, 2)]
        assert [d.id for d in sink.sent] == ids
        states = await app.storage.delivery_states()
        assert {(s.status, s.attempts) for s in states} == {("sent", 1)}
    finally:
        await app.close()


async def test_an_unreachable_platform_waits_without_counting(db_url, tmp_path, clock) -> None:
    down = {"on": True}
    sink = TinySink(lambda n, d: NotSentError("connection refused") if down["on"] else None)
    app = await make(db_url, tmp_path, clock, {"rec": sink}, "rec:main")
    try:
        await queue(app.storage, clock, "rec:main", 3)
        for _ in range(20):  # far more rounds than MAX_ATTEMPTS
            report = await app.deliver_due()
            assert report.retrying == 3 and report.rejected == 0
            clock.advance(minutes=1)
        assert len(sink.calls) == 20  # one try per round: the rest of the queue waits
        down["on"] = False
        assert (await app.deliver_due()).sent == 3
    finally:
        await app.close()


# --- stopped destinations, resume, the age limit --------------------------------------------------
async def test_a_gone_channel_keeps_its_alerts_and_posts_them_oldest_first_after_resume(
        db_url, tmp_path, clock, slack) -> None:
    slack.script("chat.postMessage", Failure(error="channel_not_found"))
    address = f"slack:{SLACK_CHANNEL}"
    app = await make(db_url, tmp_path, clock, {"slack": slack_sink(slack, clock)}, address)
    try:
        ids = await queue(app.storage, clock, address, 5)
        report = await app.deliver_due()
        assert (report.sent, report.stopped, report.rejected) == (0, 5, 0)
        assert len(slack.calls_to("chat.postMessage")) == 1  # the rest were not tried
        assert len(await app.storage.delivery_states(status="pending")) == 5
        listed = (await ask(app, "list")).text
        assert "stopped: Slack refused the message to C123: channel_not_found" in listed
        assert "5 alert(s) are held" in listed
        why = (await ask(app, "why https://news.example.com/0")).text
        assert "held: alerts to this channel are stopped (Slack refused" in why
        assert (await app.deliver_due()).sent == 0  # stopped stays stopped

        refused = await ask(app, "resume")
        assert not refused.ok and "admins" in refused.text
        resumed = await ask(app, "resume", admin=True)
        assert resumed.ok and "5 held alert(s) will be posted" in resumed.text
        assert (await app.deliver_due()).sent == 5
        assert [int(m["metadata"]["event_payload"]["delivery"])
                for m in slack.posted(SLACK_CHANNEL)] == ids  # oldest first, once each
        actions = [e.action for e in await app.storage.audit_entries("local")]
        assert actions == ["destination.resume", "destination.stopped"]
    finally:
        await app.close()


async def test_alerts_past_the_age_limit_expire_with_the_reason(db_url, tmp_path, clock) -> None:
    sink = TinySink(lambda n, d: PermanentDeliveryError("gone") if n == 1 else None)
    app = await make(db_url, tmp_path, clock, {"slack": sink}, "slack:main",
                     delivery_max_age_days=2)
    try:
        await queue(app.storage, clock, "slack:main", 3)
        assert (await app.deliver_due()).stopped == 3
        clock.advance(days=3)
        report = await app.deliver_due()
        assert (report.expired, report.stopped) == (3, 0)
        states = await app.storage.delivery_states()
        assert {s.status for s in states} == {"expired"}
        assert states[0].last_error == ("expired: not delivered within 2 days "
                                        "(destination stopped: gone)")
        assert "3 alert(s) expired" in (await ask(app, "list", channel="main")).text
        why = (await ask(app, "why https://news.example.com/0", channel="main")).text
        assert "but expired: not delivered within 2 days (destination stopped: gone)." in why
        await app.storage.resume_destination(states[0].destination_id)
        new = await queue(app.storage, clock, "slack:main", 1, start=10)
        assert (await app.deliver_due()).sent == 1
        assert [d.id for d in sink.sent] == new  # the expired ones are never sent
        _, status = run_summary(CycleReport(delivery=report))
        assert status == 4
    finally:
        await app.close()


async def test_a_missing_token_waits_then_delivers_once_the_token_is_set(
        db_url, tmp_path, clock, slack, caplog) -> None:
    address = f"slack:{SLACK_CHANNEL}"
    with caplog.at_level(logging.WARNING, logger="bot.app"):
        app = await make(db_url, tmp_path, clock, {"jsonl": JsonlSink(tmp_path)}, address,
                         "jsonl:alerts.jsonl")
    (warning,) = [r for r in caplog.records if "token" in r.getMessage()]
    assert address in warning.getMessage() and "jsonl" not in warning.getMessage()
    try:
        ids = await queue(app.storage, clock, address, 3)
        report = await app.deliver_due()
        assert (report.waiting, report.rejected, report.sent) == (3, 0, 0)
        assert "waiting for a token: SLACK_BOT_TOKEN is not set; 3 alert(s) are held" in (
            await ask(app, "list")).text
        assert {s.status for s in await app.storage.delivery_states()} == {"pending"}
        why = (await ask(app, "why https://news.example.com/1")).text
        assert "held: alerts to this channel are waiting for a token: SLACK_BOT_TOKEN" in why
    finally:
        await app.close()
    restarted = await make(db_url, tmp_path, clock, {"slack": slack_sink(slack, clock)}, address)
    try:
        report = await restarted.deliver_due()
        assert (report.sent, report.waiting) == (3, 0)
        assert slack_counts(slack) == Counter(ids)
        dest = await restarted.storage.ensure_destination("local", address, clock())
        assert (await restarted.storage.destination_status(dest)).waiting_reason is None
    finally:
        await restarted.close()


# --- crashes and several workers ------------------------------------------------------------------
async def test_after_a_crash_only_the_delivery_in_flight_is_checked_and_nothing_doubles(
        db_url, tmp_path, clock) -> None:
    sink = TinySink()
    app = await make(db_url, tmp_path, clock, {"rec": sink}, "rec:a", "rec:b")
    # a worker whose end this one cannot see (it hangs holding its liveness lock, or runs on
    # another host with SQLite): only its lease running out frees its work. A killed worker's
    # is freed at once: tests/test_jobs_liveness.py
    hung = Liveness(app.storage, "hung-worker")
    try:
        await hung.start()
        a = await queue(app.storage, clock, "rec:a", 3)
        b = await queue(app.storage, clock, "rec:b", 2)
        # a worker claims both destinations, starts one send each ... and stops renewing
        await app.storage.claim_destinations(clock(), owner=hung.owner,
                                             lease=timedelta(seconds=45), platforms=["rec"])
        await app.storage.begin_attempt(a[0], clock())  # it landed before the crash
        await app.storage.begin_attempt(b[0], clock())  # it did not
        sink.landed[a[0]] = "m-before-crash"
        assert (await app.deliver_due()).sent == 0  # the hung worker's lease still runs
        clock.advance(seconds=46)  # well within 90 s of the next start
        assert (await app.deliver_due()).sent == 5
        assert sorted(sink.checked) == [a[0], b[0]]  # one check per in-flight delivery only
        assert Counter(d.id for d in sink.sent) == Counter(a[1:] + b)  # a[0] not sent again
        states = {s.id: s for s in await app.storage.delivery_states()}
        assert states[a[0]].message_id == "m-before-crash"
        assert {s.status for s in states.values()} == {"sent"}
        assert all(s.attempt_started_at is None for s in states.values())
    finally:
        await hung.close()
        await app.close()


async def test_two_workers_never_interleave_a_destination_and_never_double(
        db_url, clock) -> None:
    url, connect_args = db_url
    stores = [await open_storage(url, connect_args=connect_args) for _ in range(2)]
    sink = TinySink(pause=0.002)
    try:
        ids = {f"rec:{c}": await queue(stores[0], clock, f"rec:{c}", 8) for c in "abcd"}
        workers = [Deliverer(s, {"rec": sink}, clock, owner=f"w{i}") for i, s in enumerate(stores)]

        async def work(worker: Deliverer) -> None:
            idle = 0
            while idle < 3:
                idle = idle + 1 if (await worker.run_due(limit=2)).sent == 0 else 0
                await asyncio.sleep(0)

        await asyncio.gather(*(work(w) for w in workers))
        assert sink.overlaps == 0
        assert Counter(d.id for d in sink.sent) == Counter(i for v in ids.values() for i in v)
        for address, expected in ids.items():
            assert [d.id for d in sink.sent if d.address == address] == expected
    finally:
        for s in stores:
            await s.dispose()


async def test_a_live_worker_keeps_its_destination_through_a_slow_send(storage, clock) -> None:
    gate = asyncio.Event()

    class SlowSink(TinySink):
        async def send(self, delivery: Delivery) -> SendResult:
            self.calls.append(delivery.id)
            await gate.wait()
            return SendResult(message_id="m")

    sink = SlowSink()
    await queue(storage, clock, "rec:main", 1)
    slow = Deliverer(storage, {"rec": sink}, clock, owner="slow", beat_seconds=0.01)
    other = Deliverer(storage, {"rec": sink}, clock, owner="other")
    task = asyncio.create_task(slow.run_due())
    try:
        for _ in range(500):
            if sink.calls:
                break
            await asyncio.sleep(0.01)
        clock.advance(minutes=5)  # far past the lease: only the heartbeat keeps it
        for _ in range(500):
            async with storage.engine.connect() as conn:
                lease = (await conn.execute(select(destinations.c.lease_until))).scalar()
            if lease is not None and lease > clock():
                break
            await asyncio.sleep(0.01)
        assert (await other.run_due()).sent == 0 and sink.calls == [sink.calls[0]]
    finally:
        gate.set()
        assert (await task).sent == 1


# --- run --once -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("failed", "delivery", "status"), [
    (0, DeliveryReport(sent=3), 0),
    (1, DeliveryReport(sent=3), 3),
    (0, DeliveryReport(sent=3, waiting=1), 4),
    (0, DeliveryReport(expired=1), 4),
    (0, DeliveryReport(rejected=1), 4),
    (2, DeliveryReport(retrying=1, stopped=2), 5),
])
def test_run_summary_counts_every_state_and_picks_the_exit_status(failed, delivery,
                                                                  status) -> None:
    line, code = run_summary(CycleReport(polled=3, failed=failed, delivery=delivery))
    assert code == status
    assert f"{delivery.sent} sent, {delivery.retrying} retrying, {delivery.waiting} waiting " \
           f"for a token, {delivery.stopped} held by a stopped destination, " \
           f"{delivery.expired} expired, {delivery.rejected} rejected" in line


def test_run_once_exits_non_zero_for_failed_feeds_and_undelivered_alerts(
        tmp_path, monkeypatch, capsys) -> None:
    for name in ("SLACK_BOT_TOKEN", "NEWSBOT_SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "news.rss").write_bytes(
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>N</title>"
        b"<item><guid>g1</guid><title>Nvidia raises a funding round</title>"
        b"<description>Nvidia raises money.</description></item></channel></rss>")
    (tmp_path / "bad.rss").write_bytes(b"\x00 not a feed")
    config = tmp_path / "config"
    config.mkdir()
    (config / "watchlist.yaml").write_text("companies:\n  - name: Nvidia\n")
    feeds = "feeds:\n  - path: ../news.rss\n    backfill: 1\n"
    channels = "destinations:\n  - to: {}\n    companies: ['*']\n"
    args = ["run", "--once", "--config", str(config),
            "--db", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"]
    (config / "feeds.yaml").write_text(feeds + "  - path: ../bad.rss\n")
    (config / "channels.yaml").write_text(channels.format("slack:C1"))
    assert main(args) == 5
    err = capsys.readouterr().err
    assert "(1 failed)" in err and "1 waiting for a token" in err
    (config / "feeds.yaml").write_text(feeds)
    assert main(args) == 4  # the alert still waits for the token
    (config / "channels.yaml").write_text(channels.format("jsonl:out.jsonl"))
    (tmp_path / "news.rss").write_bytes((tmp_path / "news.rss").read_bytes().replace(
        b"</channel>", b"<item><guid>g2</guid><title>Nvidia again</title></item></channel>"))
    assert main(args) == 0
    assert "1 sent, 0 retrying" in capsys.readouterr().err
