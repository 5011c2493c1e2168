"""End to end on real storage and real HTTP (loopback): feeds in, alerts out, never twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apphelpers import ANY_COMPANY, open_app
from feedserver import FeedServer, Item, rss

from bot.app import App
from bot.delivery.jsonl import JsonlSink
from bot.delivery.sinks import Sink
from bot.domain.alert import Subscription
from bot.domain.article import FeedSource
from bot.domain.delivery import Delivery, SendResult
from bot.domain.errors import PermanentDeliveryError, TransientDeliveryError
from bot.domain.watchlist import Company, Topic, Watchlist

WATCHLIST = Watchlist(
    companies=(Company("Nvidia", aliases=("NVDA",)), Company("Airbus")),
    topics=(Topic("Funding", ("invest*", "funding round")),))
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # within max_age (3 days) of the clock


class RecordingSink:
    """A sink with behaviour: records what it sent; can fail the next sends on request."""

    platform = "rec"

    def __init__(self) -> None:
        self.sent: list[Delivery] = []
        self.failures: list[Exception] = []

    async def send(self, delivery: Delivery) -> SendResult:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(delivery)
        return SendResult(message_id=f"m{len(self.sent)}")

    async def find_sent(self, delivery: Delivery) -> str | None:
        return None

    async def close(self) -> None:
        return None


def items(n: int, start: int = 0) -> list[Item]:
    return [Item(guid=f"g{i}", title=f"Nvidia news number {i}",
                 text=f"Nvidia said on day {i} that it would invest in a new plant.",
                 published=T0 + timedelta(days=i)) for i in range(start, start + n)]


@pytest.fixture
def server(feed_server: FeedServer) -> FeedServer:
    return feed_server


@pytest.fixture
def make_app(db_url, tmp_path: Path, clock):
    async def make(feeds: list[FeedSource], *, sink: RecordingSink | None = None,
                   subs: tuple[Subscription, ...] = ANY_COMPANY) -> App:
        sinks: dict[str, Sink] = {"rec": sink} if sink else {"jsonl": JsonlSink(tmp_path)}
        return await open_app(db_url, tmp_path, clock, feeds=feeds, watchlist=WATCHLIST,
                              sinks=sinks, subs=subs,
                              address="rec:main" if sink else "jsonl:alerts.jsonl")

    return make


def alerts(tmp_path: Path) -> list[dict]:
    path = tmp_path / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


async def test_first_poll_posts_nothing_then_exactly_one_alert_per_new_item(
        server, make_app, tmp_path, clock) -> None:
    url = server.set("/feed.xml", rss(items(3)))
    app = await make_app([FeedSource(url, "Test News")])
    try:
        first = await app.cycle(all_feeds=True)
        assert (first.polled, first.new_articles, first.alerts) == (1, 3, 0)
        again = await app.cycle(all_feeds=True)
        assert again.new_articles == 0 and alerts(tmp_path) == []
        server.set("/feed.xml", rss(items(4)))  # one new item at the end
        clock.advance(minutes=20)
        await app.cycle()
        (alert,) = alerts(tmp_path)
        assert alert["title"] == "Nvidia news number 3"
        assert alert["companies"] == ["Nvidia"] and alert["topics"] == ["Funding"]
        assert alert["url"] == "https://news.example.com/g3" and alert["feed"] == "Test News"
        assert alert["evidence"] and alert["summary"]
        assert set(alert) == {"destination", "feed", "url", "title", "published", "companies",
                              "topics", "summary", "evidence", "delivery"}
        await app.cycle(all_feeds=True)
        assert len(alerts(tmp_path)) == 1
    finally:
        await app.close()


async def test_backfill_posts_the_newest_n_matching_entries(server, make_app, tmp_path) -> None:
    url = server.set("/feed.xml", rss(items(5)))
    app = await make_app([FeedSource(url, "Test News", backfill=2)])
    try:
        await app.cycle(all_feeds=True)
        assert [a["title"] for a in alerts(tmp_path)] == ["Nvidia news number 4",
                                                          "Nvidia news number 3"]
    finally:
        await app.close()


async def test_conditional_get_uses_the_stored_etag(server, make_app, clock) -> None:
    url = server.set("/feed.xml", rss(items(2)))
    app = await make_app([FeedSource(url, "Test News")])
    try:
        await app.cycle(all_feeds=True)
        report = await app.cycle(all_feeds=True)
        assert server.conditional_hits["/feed.xml"] == 1 and report.failed == 0
    finally:
        await app.close()


async def test_a_crash_between_seen_and_sent_loses_nothing(
        server, make_app, db_url, tmp_path, clock) -> None:
    url = server.set("/feed.xml", rss(items(1)))
    sink = RecordingSink()
    app = await make_app([FeedSource(url, "Test News")], sink=sink)
    await app.cycle(all_feeds=True)
    server.set("/feed.xml", rss(items(2)))
    await app.poll_due(all_feeds=True)  # seen and queued ... then the process dies
    await app.close()
    assert sink.sent == []

    restarted = await make_app([FeedSource(url, "Test News")], sink=sink)
    try:
        report = await restarted.cycle()
        assert report.delivery.sent == 1
        assert [d.alert.title for d in sink.sent] == ["Nvidia news number 1"]
        await restarted.cycle(all_feeds=True)
        assert len(sink.sent) == 1
    finally:
        await restarted.close()


async def test_transient_failures_retry_later_and_permanent_ones_stop_the_destination(
        server, make_app, clock) -> None:
    url = server.set("/feed.xml", rss(items(1)))
    sink = RecordingSink()
    app = await make_app([FeedSource(url, "Test News", backfill=1)], sink=sink)
    try:
        sink.failures = [TransientDeliveryError("rate limited", retry_after=30)]
        report = await app.cycle(all_feeds=True)
        assert report.delivery.retried == 1 and sink.sent == []
        clock.advance(seconds=10)
        assert (await app.cycle()).delivery.sent == 0  # not yet: Retry-After honoured
        clock.advance(seconds=25)
        assert (await app.cycle()).delivery.sent == 1

        server.set("/feed.xml", rss(items(3)))
        sink.failures = [PermanentDeliveryError("channel_not_found")]
        report = await app.cycle(all_feeds=True)
        assert report.delivery.stopped == 2  # both new alerts are held, none rejected
        (dest,) = await app.storage.destinations("local", active_only=False)
        assert not dest.active
        states = await app.storage.delivery_states(status="pending")
        assert len(states) == 2  # including the one that found the problem
        assert states[0].last_error == "channel_not_found"
        (entry,) = await app.storage.audit_entries("local")  # the admins are told
        assert entry.action == "destination.stopped" and entry.target == "rec:main"
        assert entry.after == {"active": False, "reason": "channel_not_found"}
    finally:
        await app.close()


async def test_a_broken_feed_backs_off_and_never_stops_the_others(
        server, make_app, tmp_path, clock) -> None:
    good = server.set("/good.xml", rss(items(1)))
    broken = {
        "/500": server.set("/500", b"oops", status=500),
        "/html": server.set("/html", b"<html><body>Not a feed</body></html>",
                            content_type="text/html"),
        "/missing": server.url("/missing"),
        "/garbage": server.set("/garbage", b"\x00\x01\x02 not xml at all"),
    }
    feeds = [FeedSource(good, "Good", backfill=1)] + [FeedSource(u, p) for p, u in broken.items()]
    app = await make_app(feeds)
    try:
        report = await app.cycle(all_feeds=True)
        assert report.polled == 5 and report.failed == 4
        assert [a["title"] for a in alerts(tmp_path)] == ["Nvidia news number 0"]
        rows = {f.url: f for f in await app.storage.feed_follows("local")}
        for url in broken.values():
            assert rows[url].last_error and rows[url].next_poll_at > clock() + timedelta(minutes=15)
        assert rows[good].last_error is None
    finally:
        await app.close()


async def test_the_same_story_in_two_feeds_alerts_once(server, make_app, tmp_path) -> None:
    one = items(1)
    a = server.set("/a.xml", rss(one))
    b = server.set("/b.xml", rss([Item("other-guid", one[0].title, one[0].text, one[0].published,
                                       link="https://news.example.com/g0?utm_source=rss")]))
    app = await make_app([FeedSource(a, "A", backfill=1), FeedSource(b, "B", backfill=1)])
    try:
        await app.cycle(all_feeds=True)
        assert len(alerts(tmp_path)) == 1
    finally:
        await app.close()


async def test_a_feed_followed_by_two_tenants_is_fetched_once(server, make_app, clock) -> None:
    url = server.set("/feed.xml", rss(items(1)))
    sink = RecordingSink()
    app = await make_app([FeedSource(url, "News")], sink=sink)
    try:
        st = app.storage
        await st.ensure_tenant("slack:T1", clock(), defaults=WATCHLIST)
        feed_id = await st.ensure_feed(FeedSource(url), clock())
        # (source="config": a chat-added follow of a loopback URL is refused, see test_netguard)
        await st.follow("slack:T1", feed_id, title="Their name", backfill=0, source="config",
                        now=clock())
        dest = await st.ensure_destination("slack:T1", "rec:theirs", clock())
        await st.add_subscription(dest, Subscription(company="Nvidia"), clock())
        await app.cycle(all_feeds=True)
        server.set("/feed.xml", rss(items(2)))
        hits_before = server.hits["/feed.xml"]
        await app.cycle(all_feeds=True)
        assert server.hits["/feed.xml"] == hits_before + 1
        assert sorted(d.address for d in sink.sent) == ["rec:main", "rec:theirs"]
        assert {d.alert.feed for d in sink.sent} == {"News", "Their name"}
    finally:
        await app.close()


async def test_subscriptions_filter_by_company_and_topic(server, make_app, tmp_path) -> None:
    entries = [Item("n", "Nvidia opens a lab", "Nvidia opened a lab.", T0),
               Item("f", "Nvidia raises money", "Nvidia will invest $1bn.", T0),
               Item("a", "Airbus invests", "Airbus will invest $2bn.", T0)]
    url = server.set("/feed.xml", rss(entries))
    app = await make_app([FeedSource(url, "News", backfill=10)],
                         subs=(Subscription(company="Nvidia", topic="Funding"),))
    try:
        await app.cycle(all_feeds=True)
        assert [a["title"] for a in alerts(tmp_path)] == ["Nvidia raises money"]
    finally:
        await app.close()


async def test_a_chat_added_loopback_feed_is_refused_at_fetch_time(server, make_app, clock) -> None:
    url = server.set("/feed.xml", rss(items(1)))
    app = await make_app([])
    try:
        feed_id = await app.storage.ensure_feed(FeedSource(url), clock())
        await app.storage.follow("local", feed_id, title="", backfill=1, source="chat", now=clock())
        report = await app.cycle(all_feeds=True)
        assert report.failed == 1 and server.hits == {}
        (row,) = await app.storage.feed_follows("local")
        assert "loopback" in (row.last_error or "")
    finally:
        await app.close()


async def test_a_chat_added_feed_on_an_allowed_network_is_fetched(server, db_url, tmp_path,
                                                                 clock) -> None:
    url = server.set("/feed.xml", rss(items(1)))
    app = await open_app(db_url, tmp_path, clock, feeds=[], watchlist=WATCHLIST,
                         sinks={"jsonl": JsonlSink(tmp_path)}, address="jsonl:alerts.jsonl",
                         fetch_allow_networks="127.0.0.0/8")  # NEWSBOT_FETCH_ALLOW_NETWORKS
    try:
        feed_id = await app.storage.ensure_feed(FeedSource(url), clock())
        await app.storage.follow("local", feed_id, title="", backfill=1, source="chat", now=clock())
        report = await app.cycle(all_feeds=True)
        assert (report.polled, report.failed) == (1, 0) and server.hits
    finally:
        await app.close()


async def test_webhook_tokens_never_reach_the_log_or_the_audit_log(server, db_url, tmp_path,
                                                                   clock, caplog) -> None:
    url = server.set("/feed.xml", rss(items(1)))
    hook = "discord-webhook:https://discord.com/api/webhooks/42/t0k3n-s3cret"
    sink = RecordingSink()
    sink.failures = [TransientDeliveryError("502"), PermanentDeliveryError("Unknown Webhook")]
    app = await open_app(db_url, tmp_path, clock, feeds=[FeedSource(url, "News", backfill=1)],
                         watchlist=WATCHLIST, sinks={"discord-webhook": sink}, address=hook)
    try:
        await app.cycle(all_feeds=True)
        clock.advance(hours=1)
        assert (await app.cycle()).delivery.stopped == 1
        (entry,) = await app.storage.audit_entries("local")
        assert "t0k3n" not in caplog.text and "t0k3n" not in entry.target
    finally:
        await app.close()
