"""End to end: a loopback feed gets a new item -> exactly one Discord message reaches the fake
Discord API, with a valid embed and no mentions, also across a 429, a lost reply and a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apphelpers import open_app
from fakes.clock import FakeTime
from fakes.fake_discord import TOKEN, FakeDiscord, body_problems
from fakes.rounds import deliver_through_a_storm
from feedserver import FeedServer, Item, rss

from bot.app import App
from bot.delivery.discord_sink import DiscordSink
from bot.delivery.pacer import Pacer
from bot.domain.article import FeedSource
from bot.domain.watchlist import Company, Topic, Watchlist

WATCHLIST = Watchlist(companies=(Company("Nvidia"),),
                      topics=(Topic("Funding", ("invest*",)),))
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # within max_age (3 days) of the clock
CHANNEL = "123456789012345678"


def items(n: int) -> list[Item]:
    return [Item(guid=f"g{i}", title=f"Nvidia news number {i} @everyone",
                 text=f"Nvidia said on day {i} that it would invest in a plant. <@&42> look!",
                 published=T0 + timedelta(days=i)) for i in range(n)]


@pytest.fixture
def feeds(feed_server: FeedServer) -> FeedServer:
    return feed_server


@pytest.fixture
def make_app(db_url, tmp_path: Path, clock, discord):
    async def make(url: str, *, http_timeout: float = 15.0) -> App:
        time_ = FakeTime()
        sink = DiscordSink(api_base=discord.base, token=TOKEN, timeout=http_timeout,
                           pacer=Pacer(monotonic=time_, sleep=time_.sleep), clock=clock)
        return await open_app(db_url, tmp_path, clock, feeds=[FeedSource(url, "Test News")],
                              watchlist=WATCHLIST, sinks={"discord": sink},
                              address=f"discord:{CHANNEL}")

    return make


def check_message(discord: FakeDiscord, title: str) -> None:
    (msg,) = [m for m in discord.channel_messages(CHANNEL) if title in m.body["embeds"][0]["title"]]
    assert body_problems(msg.body) == []
    assert msg.body["allowed_mentions"] == {"parse": []}
    (embed,) = msg.body["embeds"]
    assert "@everyone" not in embed["title"] and "<@&42>" not in embed["description"]
    assert embed["url"].startswith("https://news.example.com/")


async def test_one_new_item_is_one_message_even_across_a_429_and_a_restart(
        feeds, discord, make_app, clock) -> None:
    url = feeds.set("/feed.xml", rss(items(1)))
    app = await make_app(url)
    try:
        await app.cycle(all_feeds=True)  # first poll: the backlog is seen, nothing posted
        assert discord.messages == []
        feeds.set("/feed.xml", rss(items(2)))
        clock.advance(minutes=20)
        assert (await app.cycle()).delivery.sent == 1
        check_message(discord, "Nvidia news number 1")

        discord.script(f"channel:{CHANNEL}", 429, retry_after=3.0)
        feeds.set("/feed.xml", rss(items(3)))
        clock.advance(minutes=20)
        report = await app.cycle()
        assert report.delivery.retried == 1 and len(discord.channel_messages(CHANNEL)) == 1
        clock.advance(seconds=1)
        assert (await app.cycle()).delivery.sent == 0  # retry_after honoured
        feeds.set("/feed.xml", rss(items(4)))
        clock.advance(minutes=20)
        await app.poll_due()  # seen and queued ... then the process stops
    finally:
        await app.close()

    restarted = await make_app(url)
    try:
        report = await restarted.cycle()
        assert report.delivery.sent == 2
        for i in (1, 2, 3):
            check_message(discord, f"Nvidia news number {i}")
        await restarted.cycle(all_feeds=True)
        assert len(discord.channel_messages(CHANNEL)) == 3
    finally:
        await restarted.close()


async def test_a_reply_lost_in_transit_then_a_restart_still_posts_once(
        feeds, discord, make_app, clock) -> None:
    url = feeds.set("/feed.xml", rss(items(1)))
    app = await make_app(url, http_timeout=0.5)
    try:
        await app.cycle(all_feeds=True)
        feeds.set("/feed.xml", rss(items(2)))
        # Discord posts it; the answer is lost
        discord.hang_after_store, discord.hang_seconds = 1, 5.0
        clock.advance(minutes=20)
        assert (await app.cycle()).delivery.retried == 1
        assert len(discord.channel_messages(CHANNEL)) == 1
    finally:
        await app.close()

    restarted = await make_app(url)
    try:
        clock.advance(minutes=5)  # within Discord's nonce window
        assert (await restarted.cycle()).delivery.sent == 1
        (msg,) = discord.channel_messages(CHANNEL)
        (state,) = await restarted.storage.delivery_states(status="sent")
        assert state.message_id == msg.id
    finally:
        await restarted.close()


async def test_missing_access_stops_the_channel_and_keeps_the_alert(
        feeds, discord, make_app, clock) -> None:
    url = feeds.set("/feed.xml", rss(items(1)))
    app = await make_app(url)
    try:
        await app.cycle(all_feeds=True)
        feeds.set("/feed.xml", rss(items(2)))
        discord.script(f"channel:{CHANNEL}", 403, code=50001, message="Missing Access")
        clock.advance(minutes=20)
        assert (await app.cycle()).delivery.stopped == 1
        (dest,) = await app.storage.destinations("local", active_only=False)
        assert not dest.active and discord.messages == []
    finally:
        await app.close()


async def test_a_429_storm_loses_nothing_and_doubles_nothing(feeds, discord, make_app,
                                                            clock) -> None:
    """Every 2nd post answers 429: all 24 alerts land once, none is rejected."""
    url = feeds.set("/feed.xml", rss(items(1)))
    app = await make_app(url)
    try:
        nonces = await deliver_through_a_storm(
            app, clock, add_items=lambda: feeds.set("/feed.xml", rss(items(25))),
            start_storm=lambda: setattr(discord, "rate_limit_every", 2),
            landed=lambda: [m.body["nonce"] for m in discord.channel_messages(CHANNEL)],
            expected=24)
        assert len(nonces) == len(set(nonces)) == 24  # 0 lost, 0 doubled
        assert await app.storage.delivery_states(status="rejected") == []
    finally:
        await app.close()
