"""`why` and `preview` on state built by the real poller and outbox (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from commands_helpers import T_B, User, make_service
from feedserver import Item, rss

from bot.domain.article import FetchResult
from bot.jobs.poll_feed import Poller
from bot.render.discord_embed import render_discord
from bot.render.slack_blocks import render_slack

FEED = "https://news.example.org/rss"


class StaticFetcher:
    """The fetch seam with behaviour: serves whatever body the test sets."""

    def __init__(self) -> None:
        self.body = rss([])

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    untrusted: bool = False) -> FetchResult:
        return FetchResult(url=url, status=200, body=self.body, content_type="application/rss+xml")


def link(name: str) -> str:
    return f"https://news.example.com/2026/{name}"


ITEMS = [
    Item("g1", "Nvidia to invest in a Paris lab",
         "Nvidia said on Monday it would invest 1bn euros in a research lab. It opens in 2027.",
         link=link("nvidia-lab")),
    Item("g2", "Rain expected all week", "Forecasters expect rain across the north.",
         link=link("rain")),
    Item("g3", "Airbus wins an order", "Airbus said it won an order for 40 jets.",
         link=link("airbus-order")),
    Item("g4", "Nvidia shares rise", "Nvidia shares rose 3% after the results.",
         link=link("nvidia-shares")),
]


async def poll(storage, fetcher: StaticFetcher, clock) -> None:
    poller = Poller(storage, fetcher)
    await storage.make_due(clock.now)
    for feed in await storage.claim_due_feeds(clock.now, 10, timedelta(minutes=5)):
        assert (await poller.poll(feed, clock.now)).ok


@pytest.fixture
async def world(storage, clock):
    """Tenant A follows FEED; channel C1 subscribes to Nvidia; one alert sent, one failing."""
    service = make_service(storage, clock)
    admin = User(service, admin=True)
    assert (await admin("feeds add " + FEED)).ok
    assert (await admin("subscribe company Nvidia")).ok
    fetcher = StaticFetcher()
    await poll(storage, fetcher, clock)  # first poll: primes the follow, posts nothing
    clock.advance(minutes=20)
    fetcher.body = rss(ITEMS)
    await poll(storage, fetcher, clock)
    (batch,) = await storage.claim_destinations(clock.now, owner="w", lease=timedelta(seconds=45),
                                                platforms=["slack"])
    first, second = batch.deliveries
    await storage.mark_sent(first.id, "1764417600.000100", clock.now)
    await storage.begin_attempt(second.id, clock.now)
    await storage.mark_retry(second.id, "TransientDeliveryError: HTTP 503",
                             clock.now + timedelta(minutes=4))
    clock.advance(minutes=30)
    return service


async def test_why_delivered(world, storage) -> None:
    reply = await User(world)("why " + link("nvidia-lab") + "?utm_source=chat")
    assert reply.ok and reply.ephemeral
    lines = reply.text.splitlines()
    assert lines[0] == "Seen 30 min ago in Test News: “Nvidia to invest in a Paris lab”."
    assert "Nvidia (via “Nvidia” in the title)" in lines[1]
    assert lines[2] == "This channel gets it under: Nvidia."
    assert lines[3] == "Delivered here under Nvidia 30 min ago, message id 1764417600.000100."


async def test_why_pending_not_matched_not_routed_and_unknown(world) -> None:
    user = User(world)
    pending = await user("why " + link("nvidia-shares"))
    assert "not delivered yet: 1 attempt(s)" in pending.text
    assert "last error: TransientDeliveryError: HTTP 503" in pending.text
    rain = await user("why " + link("rain"))
    assert rain.ok and "mentions none of the 3 companies and 2 topics" in rain.text
    assert "Nothing was queued for this channel." in rain.text
    airbus = await user("why " + link("airbus-order"))
    assert "It matches Airbus" in airbus.text
    assert "None of this channel's subscriptions (Nvidia) fires for it." in airbus.text
    unknown = await user("why https://elsewhere.example/story")
    assert unknown.ok and unknown.text.startswith("Not seen") and "1 feed(s)" in unknown.text


async def test_why_and_preview_stay_inside_the_tenant(world) -> None:
    other = User(world, T_B, admin=True)
    assert (await other("why " + link("nvidia-lab"))).text.startswith("Not seen")
    assert not (await other("preview " + link("nvidia-lab"))).ok
    assert "None of the 0 article(s)" in (await other("preview company Nvidia")).text


async def test_preview_url_is_exactly_the_alert_that_was_queued(world, storage) -> None:
    reply = await User(world)("preview <" + link("nvidia-lab") + ">")
    assert reply.ok and reply.ephemeral and len(reply.alerts) == 1
    (sent,) = await storage.delivery_states(status="sent")
    assert reply.alerts[0] == sent.alert
    assert "This channel gets it under: Nvidia." in reply.text
    slack = render_slack(reply.alerts[0])
    assert slack["blocks"] and "Nvidia" in slack["text"]
    discord = render_discord(reply.alerts[0])
    assert discord["allowed_mentions"] == {"parse": []}
    assert discord["embeds"][0]["url"] == link("nvidia-lab")


async def test_preview_text(world) -> None:
    user = User(world, channel="C2")  # a channel with no subscriptions
    reply = await user("preview Mistral AI will raise money in a funding round for its model")
    assert reply.ok and len(reply.alerts) == 1
    alert = reply.alerts[0]
    assert alert.companies == ("Mistral AI",) and alert.topics == ("Funding",)
    assert alert.destination == "slack:C2" and alert.reasons == ()
    assert "Matched Mistral AI (via “Mistral AI” in the title), Funding" in reply.text
    assert "no subscriptions, so nothing would be posted here" in reply.text
    assert render_slack(alert)["blocks"] and render_discord(alert)["embeds"]
    none = await user("preview the weather is fine")
    assert none.ok and none.alerts == () and none.text.startswith("No watched company or topic")


async def test_preview_company(world, clock) -> None:
    user = User(world, channel="C2")
    reply = await user("preview company nvidia")
    assert reply.ok
    assert reply.text.startswith("In the last 7 days, 2 article(s)")
    assert {a.url for a in reply.alerts} == {link("nvidia-lab"), link("nvidia-shares")}
    assert all(a.reasons == ("Nvidia",) and a.destination == "slack:C2" for a in reply.alerts)
    clock.advance(days=8)
    later = await user("preview company Nvidia")
    assert later.alerts == () and "None of the 0 article(s)" in later.text

