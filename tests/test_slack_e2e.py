"""End to end: a loopback feed gets a new item -> exactly one chat.postMessage at the fake Slack,
also across a 429, across a timeout whose message landed anyway, and across a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apphelpers import open_app
from fakes.fake_slack import Failure, FakeSlack
from fakes.rounds import deliver_through_a_storm
from feedserver import FeedServer, Item, rss
from slack_sdk.models.blocks import Block

from bot.app import App
from bot.delivery.slack_sink import SlackSink, slack_client
from bot.domain.article import FeedSource
from bot.domain.watchlist import Company, Topic, Watchlist

# The app runs on the test clock: Slack's message ts count from the same time.
pytestmark = pytest.mark.usefixtures("slack_on_clock")

WATCHLIST = Watchlist(companies=(Company("Nvidia", aliases=("NVDA",)),),
                      topics=(Topic("Funding", ("invest*",)),))
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # within max_age (3 days) of the clock


def items(n: int) -> list[Item]:
    return [Item(guid=f"g{i}", title=f"Nvidia news number {i} <!channel>",
                 text=f"Nvidia said on day {i} that it would invest in a new plant.",
                 published=T0 + timedelta(days=i)) for i in range(n)]


@pytest.fixture
def feeds(feed_server: FeedServer) -> FeedServer:
    return feed_server


@pytest.fixture
def make_app(db_url, tmp_path: Path, clock, slack: FakeSlack):  # type: ignore[no-untyped-def]
    async def advance(seconds: float) -> None:
        clock.advance(seconds=seconds)

    async def make(url: str, *, slack_timeout: float = 15.0) -> App:
        sink = SlackSink(slack_client("xoxb-test", base_url=slack.api_url), clock=clock,
                         monotonic=lambda: clock().timestamp(), sleep=advance,
                         timeout=slack_timeout)
        return await open_app(db_url, tmp_path, clock, feeds=[FeedSource(url, "Test News")],
                              watchlist=WATCHLIST, sinks={"slack": sink}, address="slack:C123")

    return make


def assert_valid_alert(message: dict, title: str) -> None:
    blocks = [Block.parse(b) for b in message["blocks"]]
    for block in blocks:
        assert block is not None
        block.validate_json()
    assert message["blocks"][0]["text"]["text"] == title.replace("<", "&lt;").replace(">", "&gt;")
    assert message["metadata"]["event_type"] == "newsbot_alert"


async def test_a_new_item_posts_exactly_one_message(feeds, slack, make_app, clock) -> None:
    url = feeds.set("/feed.xml", rss(items(2)))
    app = await make_app(url)
    try:
        await app.cycle(all_feeds=True)  # first poll: no backfill, nothing posted
        assert slack.posted() == []
        feeds.set("/feed.xml", rss(items(3)))
        clock.advance(minutes=20)
        report = await app.cycle()
        assert report.delivery.sent == 1
        (message,) = slack.posted("C123")
        assert_valid_alert(message, "Nvidia news number 2 <!channel>")
        (state,) = await app.storage.delivery_states(status="sent")
        assert state.message_id == message["ts"]  # the ts is recorded with the delivery
        clock.advance(minutes=20)
        await app.cycle(all_feeds=True)
        assert len(slack.calls_to("chat.postMessage")) == 1
    finally:
        await app.close()


async def test_a_429_is_retried_after_retry_after_and_posts_once(
        feeds, slack, make_app, clock) -> None:
    url = feeds.set("/feed.xml", rss(items(1)))
    app = await make_app(url)
    try:
        await app.cycle(all_feeds=True)
        feeds.set("/feed.xml", rss(items(2)))
        slack.script("chat.postMessage", Failure(status=429, retry_after=30))
        clock.advance(minutes=20)
        assert (await app.cycle()).delivery.retried == 1
        clock.advance(seconds=10)
        assert (await app.cycle()).delivery.sent == 0  # Retry-After honoured
        clock.advance(seconds=25)
        assert (await app.cycle()).delivery.sent == 1
        assert len(slack.posted("C123")) == 1
        assert len(slack.calls_to("chat.postMessage")) == 2
    finally:
        await app.close()


async def test_a_timeout_whose_message_landed_is_not_posted_again_after_a_restart(
        feeds, slack, make_app, clock) -> None:
    url = feeds.set("/feed.xml", rss(items(1)))
    app = await make_app(url, slack_timeout=0.3)
    await app.cycle(all_feeds=True)
    feeds.set("/feed.xml", rss(items(2)))
    slack.script("chat.postMessage", Failure(delay=1.0))  # Slack is slow but does post it
    clock.advance(minutes=20)
    assert (await app.cycle()).delivery.retried == 1
    await app.close()  # ... and the process restarts
    await slack.wait_for(lambda: bool(slack.posted("C123")))
    (landed,) = slack.posted("C123")

    restarted = await make_app(url)
    try:
        clock.advance(minutes=5)
        report = await restarted.cycle()
        assert report.delivery.sent == 1
        assert len(slack.calls_to("chat.postMessage")) == 1  # found in history, not resent
        assert slack.calls_to("conversations.history")
        (state,) = await restarted.storage.delivery_states(status="sent")
        assert state.message_id == landed["ts"]
        clock.advance(minutes=20)
        await restarted.cycle(all_feeds=True)
        assert len(slack.posted("C123")) == 1
    finally:
        await restarted.close()


async def test_a_crash_before_sending_posts_once_after_the_restart(
        feeds, slack, make_app, clock) -> None:
    url = feeds.set("/feed.xml", rss(items(1)))
    app = await make_app(url)
    await app.cycle(all_feeds=True)
    feeds.set("/feed.xml", rss(items(2)))
    clock.advance(minutes=20)
    await app.poll_due()  # seen and queued ... then the process dies
    await app.close()
    assert slack.posted() == []

    restarted = await make_app(url)
    try:
        assert (await restarted.cycle()).delivery.sent == 1
        clock.advance(minutes=20)
        await restarted.cycle(all_feeds=True)
        assert len(slack.posted("C123")) == 1
    finally:
        await restarted.close()


async def test_a_removed_channel_stops_the_destination(feeds, slack, make_app, clock) -> None:
    url = feeds.set("/feed.xml", rss(items(1)))
    app = await make_app(url)
    try:
        await app.cycle(all_feeds=True)
        feeds.set("/feed.xml", rss(items(2)))
        slack.channels = set()  # the channel was deleted
        clock.advance(minutes=20)
        assert (await app.cycle()).delivery.stopped == 1
        (dest,) = await app.storage.destinations("local", active_only=False)
        assert not dest.active
    finally:
        await app.close()


async def test_a_429_storm_loses_nothing_and_doubles_nothing(feeds, slack, make_app,
                                                            clock) -> None:
    """Every 2nd chat.postMessage answers 429 (Retry-After: 1): all 24 alerts land once."""
    url = feeds.set("/feed.xml", rss(items(1)))
    app = await make_app(url)
    try:
        posted = await deliver_through_a_storm(
            app, clock, add_items=lambda: feeds.set("/feed.xml", rss(items(25))),
            start_storm=lambda: setattr(slack, "rate_limit_every", 2),
            landed=lambda: [m["metadata"]["event_payload"]["delivery"]
                            for m in slack.posted("C123")], expected=24)
        assert len(posted) == len(set(posted)) == 24  # 0 lost, 0 doubled
        assert await app.storage.delivery_states(status="rejected") == []
        assert len(slack.calls_to("chat.postMessage")) <= 48
    finally:
        await app.close()
