"""One alert per story (issue 12), end to end on real storage and the loopback Slack and
Discord fakes: a second outlet's report of an alerted story is a follow-up, never a second alert,
also across a crash between the first alert and the follow-up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
import story_articles as arts
from apphelpers import open_app
from commands_helpers import User, make_service
from fakes.fake_discord import TOKEN, FakeDiscord
from fakes.fake_slack import FakeSlack
from feedserver import FeedServer, Item, rss
from sqlalchemy import func, select, update
from test_discord_e2e import FakeTime

from bot.app import App, run_summary
from bot.config.operator import parse_channels
from bot.delivery.discord_sink import DiscordSink, Pacer
from bot.delivery.slack_sink import SlackSink, slack_client
from bot.domain.article import FeedSource, FetchResult
from bot.domain.controls import Mute, QuietHours
from bot.domain.errors import ConfigError
from bot.domain.watchlist import Company, Watchlist
from bot.jobs.poll_feed import Poller
from bot.storage.sql.tables import deliveries, destinations, story_signatures

# The app runs on the test clock: Slack's message ts count from the same time.
pytestmark = pytest.mark.usefixtures("slack_on_clock")

WATCHLIST = Watchlist(companies=(Company("Microsoft"), Company("Mistral AI", aliases=("Mistral",))))
T0 = datetime(2026, 11, 29, 8, tzinfo=UTC)  # within the 3-day freshness gate of the test clock
CHANNEL = "112233445566778899"


def item(guid: str, art: dict[str, str], hours: float = 0) -> Item:
    return Item(guid=guid, title=art["title"], text=art["text"],
                published=T0 + timedelta(hours=hours))


@pytest.fixture
def outlets(feed_server: FeedServer) -> tuple[FeedServer, str, str]:
    """Two outlets' feeds, empty at first (the first poll alerts nothing: no backfill)."""
    for other in ("/herald.xml", "/post.xml"):  # two more outlets, for the coalescing test
        feed_server.set(other, rss([]))
    return (feed_server, feed_server.set("/wire.xml", rss([])),
            feed_server.set("/daily.xml", rss([])))


@pytest.fixture
def make_app(db_url, tmp_path: Path, clock, slack: FakeSlack, discord: FakeDiscord, outlets):
    server, wire, daily = outlets

    async def advance(seconds: float) -> None:
        clock.advance(seconds=seconds)

    async def make(platform: str) -> App:
        if platform == "slack":
            sink = SlackSink(slack_client("xoxb-test", base_url=slack.api_url), clock=clock,
                             monotonic=lambda: clock().timestamp(), sleep=advance)
            address = "slack:C123"
        else:
            time_ = FakeTime()
            sink = DiscordSink(api_base=discord.base, token=TOKEN, clock=clock,
                               pacer=Pacer(monotonic=time_, sleep=time_.sleep))
            address = f"discord:{CHANNEL}"
        return await open_app(db_url, tmp_path, clock, watchlist=WATCHLIST,
                              feeds=[FeedSource(wire, "Wire"), FeedSource(daily, "Daily"),
                                     FeedSource(server.url("/herald.xml"), "Herald"),
                                     FeedSource(server.url("/post.xml"), "Post")],
                              sinks={platform: sink}, address=address)

    return make


async def publish(app: App, server: FeedServer, clock, wire: list[Item],  # type: ignore[no-untyped-def]
                  daily: list[Item]) -> None:
    server.set("/wire.xml", rss(wire))
    server.set("/daily.xml", rss(daily))
    clock.advance(minutes=20)
    await app.poll_due(all_feeds=True)


async def alert_then(app: App, server: FeedServer, clock, followups: str,  # type: ignore[no-untyped-def]
                     daily: list[Item]) -> None:
    """The wire's report is alerted and delivered; then the daily's reports arrive."""
    await app.cycle(all_feeds=True)
    for dest in await app.storage.destinations("local"):
        await app.storage.set_followups(dest.id, followups)
    await publish(app, server, clock, [item("w1", arts.MISTRAL_EN)], [])
    await app.deliver_due()
    await publish(app, server, clock, [item("w1", arts.MISTRAL_EN)], daily)
    await app.deliver_due()


def slack_messages(slack: FakeSlack) -> list[dict]:
    return slack.posted("C123")


@pytest.mark.parametrize("platform", ["slack", "discord"])
async def test_a_second_outlet_is_a_reply_to_the_first_alert(
        platform, make_app, outlets, clock, slack, discord) -> None:
    app = await make_app(platform)
    try:
        await alert_then(app, outlets[0], clock, "thread",
                         [item("d1", arts.MISTRAL_REWRITE, 1), item("d2", arts.G42, 1)])
    finally:
        await app.close()
    if platform == "slack":
        first, other, reply = sorted(slack_messages(slack), key=lambda m: (
            "Paris AI darling" in m["text"], "G42" in m["text"]))
        assert "Microsoft takes a $2bn stake" in first["text"] and "G42" in other["text"]
        assert "thread_ts" not in first and "thread_ts" not in other
        assert reply["thread_ts"] == first["ts"]
    else:
        first, other, reply = sorted(discord.channel_messages(CHANNEL), key=lambda m: (
            "Paris AI darling" in m.body["embeds"][0]["title"],
            "G42" in m.body["embeds"][0]["title"]))
        assert "Microsoft takes a $2bn stake" in first.body["embeds"][0]["title"]
        assert "message_reference" not in first.body and "message_reference" not in other.body
        assert reply.body["message_reference"]["message_id"] == first.id


async def test_a_syndicated_copy_with_another_url_is_no_second_alert(
        make_app, outlets, clock, slack, db_url) -> None:
    server, _, _ = outlets
    app = await make_app("slack")
    try:
        await app.cycle(all_feeds=True)
        async with app.storage.tx() as conn:  # this channel wants no follow-ups at all
            await conn.execute(update(destinations).values(followups="off"))
        await publish(app, server, clock, [item("w1", arts.MISTRAL_EN)],
                      [item("d9", arts.MISTRAL_SYNDICATED, 2)])
        report = await app.deliver_due()
        (skipped,) = await app.storage.delivery_states(status="filtered")
    finally:
        await app.close()
    (only,) = slack_messages(slack)
    assert only["text"].startswith(("Microsoft takes a $2bn stake", "Mistral AI gets $2bn"))
    # the follow-up is filtered, not sent: it takes no slot of the channel's hourly cap
    assert report.sent == 1 and skipped.last_error == "follow-ups are off for this destination"


async def test_a_crash_between_the_alert_and_the_follow_up_loses_nothing_and_doubles_nothing(
        make_app, outlets, clock, slack) -> None:
    server, _, _ = outlets
    app = await make_app("slack")
    try:  # both outlets in one poll; the process dies before anything is delivered
        await app.cycle(all_feeds=True)
        await publish(app, server, clock, [item("w1", arts.MISTRAL_EN)],
                      [item("d1", arts.MISTRAL_FR, 1)])
    finally:
        await app.close()
    app = await make_app("slack")
    try:
        clock.advance(minutes=5)
        await app.cycle(all_feeds=True)
        await app.deliver_due()
        clock.advance(minutes=5)
        await app.cycle(all_feeds=True)
    finally:
        await app.close()
    first, reply = slack_messages(slack)
    assert reply["thread_ts"] == first["ts"] and "thread_ts" not in first


@pytest.mark.parametrize("platform", ["slack", "discord"])
async def test_followups_edit_puts_the_other_outlet_on_the_first_alert(
        platform, make_app, outlets, clock, slack, discord) -> None:
    app = await make_app(platform)
    try:
        await alert_then(app, outlets[0], clock, "edit", [item("d1", arts.MISTRAL_DE, 1)])
        await app.deliver_due()  # nothing more: an edit is done once
    finally:
        await app.close()
    if platform == "slack":
        (only,) = slack_messages(slack)
        assert only["edited"] and "Microsoft takes a $2bn stake" in only["text"]
        assert only["blocks"][-1]["elements"][0]["text"] == "*Also covered by:* Daily"
        assert only["metadata"]["event_type"] == "newsbot_alert"
        assert len(slack.calls_to("chat.update")) == 1
    else:
        (only,) = discord.channel_messages(CHANNEL)
        assert only.body["edited"] and "Microsoft takes" in only.body["embeds"][0]["title"]
        assert only.body["embeds"][0]["fields"][-1] == {"name": "Also covered by",
                                                         "value": "Daily"}


class TwoOutlets:
    """The fetch seam: one body per feed URL."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    untrusted: bool = False) -> FetchResult:
        return FetchResult(url=url, status=200, body=self.bodies.get(url, rss([])),
                           content_type="application/rss+xml")


async def test_why_tells_which_story_an_article_joined_and_why(storage, clock) -> None:
    service = make_service(storage, clock)
    admin = User(service, admin=True)
    wire, daily = "https://news.example.org/rss", "https://feeds.example.net/rss"
    for url in (wire, daily):
        assert (await admin("feeds add " + url)).ok
    assert (await admin("watch add company Microsoft")).ok
    assert (await admin("subscribe company Microsoft")).ok
    fetcher = TwoOutlets()
    poller = Poller(storage, fetcher)

    async def poll() -> None:
        await storage.make_due(clock.now)
        for feed in await storage.claim_due_feeds(clock.now, 10, timedelta(minutes=5)):
            assert (await poller.poll(feed, clock.now)).ok

    await poll()
    clock.advance(minutes=20)
    fetcher.bodies[wire] = rss([Item("w1", arts.MISTRAL_EN["title"], arts.MISTRAL_EN["text"],
                                     link="https://wire.example.org/a")])
    await poll()
    clock.advance(minutes=20)
    assert (await admin("exclude rumeur")).ok  # this channel wants no reports of rumours
    fetcher.bodies[daily] = rss([Item("d1", arts.MISTRAL_FR["title"],
                                      arts.MISTRAL_FR["text"] + " La rumeur courait depuis mars.",
                                      link="https://daily.example.org/b")])
    await poll()
    first = (await admin("why https://wire.example.org/a")).text
    later = (await admin("why https://daily.example.org/b")).text
    assert "Story:" not in first
    assert "Story: joined the story of “https://wire.example.org/a” (same event" in later
    assert "mistral ai" in later and "follow-up" in later
    assert ("Its follow-up: Kept back here under Microsoft by this channel's controls: "
            "excluded here: "
            "contains “rumeur”") in later


def test_channels_yaml_sets_followups_per_destination(tmp_path: Path) -> None:
    source = tmp_path / "channels.yaml"
    specs = parse_channels({"destinations": [
        {"to": "console", "companies": ["*"]},
        {"to": "slack:C1", "companies": ["Microsoft"], "followups": "edit"}]}, source, WATCHLIST)
    assert [s.followups for s in specs] == ["thread", "edit"]
    with pytest.raises(ConfigError, match="followups must be one of thread, edit, off"):
        parse_channels({"destinations": [{"to": "console", "companies": ["*"],
                                          "followups": "never"}]}, source, WATCHLIST)


def _with(art: dict[str, str], sentence: str) -> dict[str, str]:
    return {"title": art["title"], "text": f"{art['text']} {sentence}"}


async def first_alert_sent(app: App, server: FeedServer, clock) -> None:  # type: ignore[no-untyped-def]
    await app.cycle(all_feeds=True)
    await publish(app, server, clock, [item("w1", arts.MISTRAL_EN)], [])
    await app.deliver_due()


def three_later_reports(server: FeedServer, clock) -> None:  # type: ignore[no-untyped-def]
    """The story told by three more outlets, all in the next poll."""
    server.set("/herald.xml", rss([item("h1", arts.MISTRAL_FR, 1)]))
    server.set("/post.xml", rss([item("p1", arts.MISTRAL_DE, 1)]))
    server.set("/daily.xml", rss([item("d1", arts.MISTRAL_REWRITE, 1)]))
    clock.advance(minutes=20)


async def _controls(app: App, **changes: object) -> None:
    for dest in await app.storage.destinations("local"):
        before = await app.storage.controls(dest.id)
        await app.storage.set_controls(dest.id, replace(before, **changes), app.clock())


@pytest.mark.parametrize("control", ["exclude", "mute"])
async def test_a_follow_up_the_channel_keeps_back_is_not_sent(
        control, make_app, outlets, clock, slack) -> None:
    server, _, _ = outlets
    app = await make_app("slack")
    try:
        await first_alert_sent(app, server, clock)
        if control == "exclude":
            await _controls(app, excludes=("rumour mill",))
        else:
            until = clock() + timedelta(days=1)
            await _controls(app, mutes=(Mute("company", "Microsoft", until),
                                        Mute("company", "Mistral AI", until)))
        later = _with(arts.MISTRAL_REWRITE, "The rumour mill had it for weeks.")
        await publish(app, server, clock, [item("w1", arts.MISTRAL_EN)], [item("d1", later, 1)])
        await app.deliver_due()
        rows = await app.storage.delivery_states()
    finally:
        await app.close()
    (only,) = slack_messages(slack)  # the alert, and no reply in its thread
    assert "thread_ts" not in only and not slack.calls_to("chat.update")
    (followup,) = [r for r in rows if " + " in r.story]
    assert followup.status == "filtered"
    assert ("excluded here" if control == "exclude" else "muted here") in followup.last_error


async def test_a_follow_up_waits_out_quiet_hours_then_goes_in_the_thread(
        make_app, outlets, clock, slack) -> None:
    server, _, _ = outlets
    app = await make_app("slack")
    try:
        await first_alert_sent(app, server, clock)
        now = clock()
        await _controls(app, quiet=QuietHours(time(now.hour, 0), time((now.hour + 2) % 24, 0)))
        await publish(app, server, clock, [item("w1", arts.MISTRAL_EN)],
                      [item("d1", arts.MISTRAL_REWRITE, 1)])
        await app.deliver_due()
        during = len(slack_messages(slack))
        clock.advance(hours=2)
        await app.cycle(all_feeds=True)
    finally:
        await app.close()
    assert during == 1  # only the alert: the follow-up is held
    first, reply = slack_messages(slack)
    assert reply["thread_ts"] == first["ts"] and "Paris AI darling" in reply["text"]


@pytest.mark.parametrize("platform", ["slack", "discord"])
async def test_reports_within_the_gap_make_one_follow_up_naming_the_outlets(
        platform, make_app, outlets, clock, slack, discord) -> None:
    server, _, _ = outlets
    app = await make_app(platform)
    try:
        await first_alert_sent(app, server, clock)
        three_later_reports(server, clock)
        report = await app.cycle(all_feeds=True)  # three later reports at once
        line, status = run_summary(report)
        clock.advance(minutes=11)
        await app.cycle(all_feeds=True)
        clock.advance(minutes=11)
        await app.cycle(all_feeds=True)
    finally:
        await app.close()
    assert "2 follow-up(s) due later" not in line and "1 follow-up(s) due later" in line
    assert "another worker" not in line and status == 0
    if platform == "slack":
        first, *replies = slack_messages(slack)
        assert [r["thread_ts"] for r in replies] == [first["ts"]] * 2
        also = replies[1]["blocks"][-1]["elements"][0]["text"]
        assert also.startswith("*Also covered by:*")
    else:
        first, *replies = discord.channel_messages(CHANNEL)
        assert [r.body["message_reference"]["message_id"] for r in replies] == [first.id] * 2
        field = replies[1].body["embeds"][0]["fields"][-1]
        assert field["name"] == "Also covered by"
        also = field["value"]
    named = {o for o in ("Daily", "Herald", "Post") if o in also}
    assert len(named) == 1  # the merged report's outlet; the reply itself is the other one


async def test_edit_lists_every_outlet_of_reports_merged_within_the_gap(
        make_app, outlets, clock, slack) -> None:
    server, _, _ = outlets
    app = await make_app("slack")
    try:
        await app.cycle(all_feeds=True)
        for dest in await app.storage.destinations("local"):
            await app.storage.set_followups(dest.id, "edit")
        await publish(app, server, clock, [item("w1", arts.MISTRAL_EN)], [])
        await app.deliver_due()
        three_later_reports(server, clock)
        await app.cycle(all_feeds=True)
        clock.advance(minutes=11)
        await app.cycle(all_feeds=True)
    finally:
        await app.close()
    (only,) = slack_messages(slack)
    line = only["blocks"][-1]["elements"][0]["text"]
    assert line.startswith("*Also covered by:*")
    assert all(outlet in line for outlet in ("Daily", "Herald", "Post"))
    assert len(slack.calls_to("chat.update")) == 2  # one edit now, one for the merged reports


async def test_an_article_that_alerts_nobody_starts_no_story(storage, clock) -> None:
    """Only articles that alert someone are placed in stories (issue 16: signing every new
    article made a cycle 6x slower): the first report, read while nobody watched Microsoft,
    leaves no trace; the first report after the subscription is the alert, the next one its
    follow-up."""
    service = make_service(storage, clock)
    admin = User(service, admin=True)
    wire, daily, weekly = ("https://news.example.org/rss", "https://feeds.example.net/rss",
                           "https://news.example.org/weekly")
    for url in (wire, daily, weekly):
        assert (await admin("feeds add " + url)).ok
    assert (await admin("watch add company Nvidia")).ok
    assert (await admin("subscribe company Nvidia")).ok
    fetcher = TwoOutlets()
    poller = Poller(storage, fetcher)

    async def poll(url: str, guid: str, art: dict[str, str], link: str) -> None:
        clock.advance(minutes=20)
        fetcher.bodies[url] = rss([Item(guid, art["title"], art["text"], link=link)])
        await storage.make_due(clock.now)
        for feed in await storage.claim_due_feeds(clock.now, 10, timedelta(minutes=5)):
            assert (await poller.poll(feed, clock.now)).ok

    await poll(wire, "w0", {"title": "Quiet day", "text": "Nothing to report today."},
               "https://wire.example.org/0")  # every follow primed
    await poll(wire, "w1", arts.MISTRAL_EN, "https://wire.example.org/a")
    assert (await admin("watch add company Microsoft")).ok
    assert (await admin("subscribe company Microsoft")).ok
    await poll(daily, "d1", arts.MISTRAL_REWRITE, "https://daily.example.org/b")
    await poll(weekly, "k1", arts.MISTRAL_FR, "https://weekly.example.com/c")

    async with storage.tx() as conn:
        rows = (await conn.execute(select(deliveries.c.story, deliveries.c.reply_to)
                                   .order_by(deliveries.c.id))).all()
        signed = (await conn.execute(select(func.count()).select_from(story_signatures)
                                     )).scalar_one()
    (alert_story, alert_reply), (followup_story, followup_reply) = rows
    assert alert_reply is None and followup_reply == alert_story  # one alert, one follow-up
    assert followup_story.startswith(alert_story + " + ")
    assert signed == 2  # the daily's and the weekly's reports; not the wire's
    assert "Story:" not in (await admin("why https://wire.example.org/a")).text
    assert "Story:" not in (await admin("why https://daily.example.org/b")).text
    assert ("Story: joined the story of “https://daily.example.org/b”"
            in (await admin("why https://weekly.example.com/c")).text)
