"""The /news command layer on real storage (SQLite and PostgreSQL): what a chat user sees."""

from __future__ import annotations

import pytest
from commands_helpers import DEFAULTS, T_A, T_B, User, make_service, state

from bot.chat.base import Limits
from bot.domain.alert import Subscription


@pytest.fixture
def service(storage, clock):
    return make_service(storage, clock)


async def test_help_and_unknown_subcommand(service) -> None:
    user = User(service)
    reply = await user("help")
    assert reply.ok and reply.ephemeral and "subscribe company NAME" in reply.text
    assert "comma-separated" in reply.text
    assert (await user("help watch")).text.startswith("Usage: /news watch add company")
    bad = await user("frobnicate now")
    assert not bad.ok and "Unknown command" in bad.text and len(bad.text) < 200


async def test_a_new_tenant_starts_from_the_operator_watchlist(service, storage) -> None:
    await User(service, T_B)("list")
    assert await storage.watchlist(T_B) == DEFAULTS


async def test_subscribe_list_unsubscribe(service, storage) -> None:
    user = User(service)
    assert "no subscriptions yet" in (await user("list")).text
    reply = await user("subscribe company mistral ai topic funding")
    assert reply.ok and not reply.ephemeral  # the channel sees who subscribed it to what
    assert reply.text == "name-U1 subscribed this channel to Mistral AI + Funding."
    assert (await user('subscribe company "Nvidia"')).ok
    assert (await user("subscribe Acquisition")).ok  # a bare name: company or topic
    assert (await user("subscribe company *")).text.endswith("to any company.")
    again = await user("subscribe company NVIDIA")
    assert again.ok and again.ephemeral and "already subscribed" in again.text
    listed = await user("list")
    assert listed.ephemeral
    assert listed.text.splitlines()[1:5] == ["• Mistral AI + Funding", "• Nvidia", "• Acquisition",
                                             "• any company"]
    assert listed.text.splitlines()[5:] == [
        "This channel's controls:", "• max_age: 3d",
        "• followups thread: a later report of a story alerted here is a reply in the alert's "
        "thread"]
    dest = (await storage.destinations(T_A))[0]
    assert dest.address == "slack:C1"
    assert Subscription(company="Mistral AI", topic="Funding") in dest.subscriptions
    gone = await user("unsubscribe company Mistral AI topic Funding")
    assert gone.ok and not gone.ephemeral and "unsubscribed" in gone.text
    missing = await user("unsubscribe topic Funding")
    assert not missing.ok and "not subscribed to" in missing.text
    assert "Nvidia" in missing.text  # it lists what the channel has


async def test_did_you_mean(service, storage) -> None:
    user = User(service, admin=True)
    await user("list")
    before = await state(storage, T_A)
    reply = await user("subscribe company Nvdia")
    assert not reply.ok and reply.text == "No company “Nvdia” is watched here. Did you mean Nvidia?"
    assert "Did you mean Funding?" in (await user("subscribe topic fundng")).text
    assert "Did you mean Airbus?" in (await user("preview company airbuss")).text
    assert "Did you mean Acquisition?" in (await user("watch remove topic acquisitions")).text
    nothing = await user("subscribe company Zebra Unrelated")
    assert not nothing.ok and "No company “Zebra Unrelated” is watched here." in nothing.text
    assert "Traceback" not in nothing.text
    assert await state(storage, T_A) == before


ADMIN_TEXTS = [
    "watch add company Apple aliases AAPL",
    "watch add topic Layoffs keywords layoff*",
    "watch remove company Nvidia",
    "watch list",
    "feeds add https://news.example.org/rss",
    "feeds remove https://news.example.org/rss",
    "feeds list",
    "watch add company",  # even malformed admin commands are refused first
    "FEEDS list",
]


@pytest.mark.parametrize("text", ADMIN_TEXTS)
async def test_non_admins_are_refused_and_nothing_changes(service, storage, text) -> None:
    admin = User(service, admin=True)
    assert (await admin("feeds add https://news.example.org/rss")).ok
    before = await state(storage, T_A)
    reply = await User(service, admin=False)(text)
    assert not reply.ok and reply.ephemeral
    assert reply.text.startswith("Only admins can")
    assert await state(storage, T_A) == before


BAD_ADMIN_INPUT = [
    ("watch add company Apple aliases " + "x" * 10_000, "10,000 characters long"),
    ("watch add company Apple aliases " + ", ".join(f"a{i}" for i in range(1000)),
     "1,000 aliases is too many"),
    ("watch add company Apple\x00 aliases A", "control character"),
    ("watch add company Apple exclude pear pie", "contains neither the name nor an alias"),
    ("watch add topic Layoffs keywords *", "only '*'"),
    ("watch add", "Usage: /news watch"),
    ("watch remove company Nvidia Corp", "Did you mean Nvidia?"),
    ("feeds add ftp://news.example.org/rss", "Only http:// and https://"),
    ("feeds add http://localhost/rss", "localhost"),
    ("feeds add http://10.0.0.8/rss", "private address"),
    ("feeds add https://intranet.example.org/rss", "resolves to a private address"),
    ("feeds add https://mixed.example.org/rss", "loopback"),
    ("feeds add https://nxdomain.example.org/rss", "could not be resolved"),
    ("feeds add https://news.example.org/rss every 1 min", "between 5 and 1440 minutes"),
    ("feeds add https://news.example.org/rss every 2000 min", "between 5 and 1440 minutes"),
    ("feeds add https://user:pw@news.example.org/rss", "user name or password"),
    ("feeds remove https://feeds.example.net/other", "does not follow"),
    ("feeds fly", "Unknown feeds action"),
]


@pytest.mark.parametrize(("text", "expected"), BAD_ADMIN_INPUT)
async def test_bad_input_is_refused_specifically_and_changes_nothing(service, storage, text,
                                                                     expected) -> None:
    user = User(service, admin=True)
    await user("list")
    before = await state(storage, T_A)
    reply = await user(text)
    assert not reply.ok, reply.text
    assert expected in reply.text
    assert len(reply.text) < 400
    assert await state(storage, T_A) == before


async def test_watch_add_update_remove_are_audited(service, storage, clock) -> None:
    user = User(service, admin=True, user="UADMIN")
    added = await user("watch add company Apple aliases AAPL, Apple Inc. exclude apple pie")
    assert added.ok and added.text.startswith("Now watching company Apple (aliases: AAPL")
    assert (await storage.watchlist(T_A)).company("apple").aliases == ("AAPL", "Apple Inc.")
    clock.advance(minutes=1)
    updated = await user("watch add company Apple aliases AAPL case-sensitive")
    assert updated.ok and updated.text.startswith("Updated company Apple")
    same = await user("watch add company Apple aliases AAPL case-sensitive")
    assert same.ok and "nothing changed" in same.text
    assert (await user("watch add topic Layoffs keywords layoff*, job cuts")).ok
    removed = await user("watch remove company apple")
    assert removed.ok and "Stopped watching company Apple" in removed.text
    entries = list(reversed(await storage.audit_entries(T_A)))
    assert [(e.action, e.target, e.actor) for e in entries] == [
        ("watch.add", "company:Apple", "UADMIN"), ("watch.update", "company:Apple", "UADMIN"),
        ("watch.add", "topic:Layoffs", "UADMIN"), ("watch.remove", "company:Apple", "UADMIN")]
    assert entries[0].before is None and entries[0].after["exclude"] == ["apple pie"]
    assert entries[1].before == entries[0].after and entries[1].after["case_sensitive"] is True
    assert entries[3].before == entries[1].after and entries[3].after is None
    assert entries[2].after == {"name": "Layoffs", "keywords": ["layoff*", "job cuts"]}
    listed = await user("watch list")
    assert "Layoffs (2 keyword(s))" in listed.text and "Apple" not in listed.text


async def test_feeds_add_list_remove_are_audited(service, storage, clock) -> None:
    user = User(service, admin=True)
    added = await user("feeds add https://news.example.org/rss every 30 min")
    assert added.ok and "polled every 30 min" in added.text
    again = await user("feeds add https://news.example.org/rss")
    assert again.ok and "Already following" in again.text
    (follow,) = await storage.feed_follows(T_A)
    assert follow.source == "chat" and follow.interval_minutes == 30
    await storage.record_failure(follow.id, clock.now, "FetchError: HTTP 503",
                                 clock.now.replace(hour=13))
    clock.advance(minutes=10)
    listed = await user("feeds list")
    assert "1 feed(s), 1 failing:" in listed.text
    assert "last success never" in listed.text
    assert "last error 10 min ago: FetchError: HTTP 503" in listed.text
    assert "next poll in 50 min" in listed.text
    removed = await user("feeds remove https://news.example.org/rss/")
    assert removed.ok and await storage.feed_follows(T_A) == []
    entries = list(reversed(await storage.audit_entries(T_A)))
    assert [(e.action, e.target) for e in entries] == [
        ("feed.add", "https://news.example.org/rss"), ("feed.remove", "https://news.example.org/rss")]
    assert entries[0].before is None and entries[0].after["interval_minutes"] == 30
    assert entries[1].before["source"] == "chat" and entries[1].after is None


async def test_limits(storage, clock) -> None:
    service = make_service(storage, clock, Limits(max_subscriptions=2, max_feeds=1,
                                                  max_watches=6))
    user = User(service, admin=True)
    assert (await user("subscribe company Nvidia")).ok
    assert (await user("subscribe company Airbus")).ok
    full = await user("subscribe topic Funding")
    assert not full.ok and "the limit" in full.text
    assert (await user("feeds add https://news.example.org/rss")).ok
    feeds_full = await user("feeds add https://feeds.example.net/rss")
    assert not feeds_full.ok and "already follows 1 feeds" in feeds_full.text
    assert (await user("watch add company Apple")).ok  # 6th entry
    watch_full = await user("watch add company Orange")
    assert not watch_full.ok and "6 entries" in watch_full.text
    assert (await user("watch add company Apple aliases AAPL")).ok  # replacing is not adding


async def test_tenant_isolation(service, storage) -> None:
    a = User(service, T_A, admin=True, user="UA")
    b = User(service, T_B, channel="C1", admin=True, user="UB")
    assert (await a("watch add company Apple")).ok
    assert (await a("feeds add https://news.example.org/rss")).ok
    assert (await a("subscribe company Apple")).ok
    b_before = await state(storage, T_B)
    # B cannot see A's entry, feed or subscription, and cannot change them
    assert "Apple" not in (await b("watch list")).text
    assert "follows no feeds" in (await b("feeds list")).text
    assert "no subscriptions yet" in (await b("list")).text  # same channel id, other tenant
    assert not (await b("watch remove company Apple")).ok
    assert not (await b("feeds remove https://news.example.org/rss")).ok
    assert not (await b("unsubscribe company Apple")).ok
    assert (await b("watch remove company Nvidia")).ok  # B's own copy of the defaults
    assert (await storage.watchlist(T_A)).company("Nvidia") is not None
    assert (await storage.watchlist(T_A)).company("Apple") is not None
    assert [f.url for f in await storage.feed_follows(T_A)] == ["https://news.example.org/rss"]
    assert {e.actor for e in await storage.audit_entries(T_A)} == {"UA"}
    assert [e.action for e in await storage.audit_entries(T_B)] == ["watch.remove"]
    assert (await state(storage, T_B))["follows"] == b_before["follows"]
    assert await service.complete(T_B, "company", "app") == []
    assert await service.complete(T_A, "company", "app") == ["Apple"]


async def test_complete(service) -> None:
    assert await service.complete(T_A, "company", "") == ["Nvidia", "Mistral AI", "Airbus"]
    assert await service.complete(T_A, "company", "a") == ["Airbus", "Nvidia", "Mistral AI"]
    assert await service.complete(T_A, "topic", "QUI") == ["Acquisition"]
    assert await service.complete(T_A, "company", "", limit=1) == ["Nvidia"]


async def test_subscribing_in_a_stopped_channel_resumes_its_alerts(service, storage) -> None:
    user = User(service)
    assert (await user("subscribe company Nvidia")).ok
    (dest,) = await storage.destinations(T_A)
    await storage.stop_destination(dest.id, "not_in_channel")
    assert "stopped: not_in_channel" in (await user("list")).text
    reply = await user("subscribe topic Funding")
    assert reply.ok and "resumed" in reply.text
    assert (await storage.destination_state(dest.id)) == (True, None)


async def test_watch_add_sets_senses_and_people(service, storage) -> None:
    user = User(service, admin=True, user="UADMIN")
    added = await user("watch add company Ford context cars, trucks senses river, crossing* "
                       "people Doug Ford, Harrison Ford case-sensitive")
    assert added.ok, added.text
    assert "senses: river, crossing*" in added.text
    assert "people: Doug Ford, Harrison Ford" in added.text
    ford = (await storage.watchlist(T_A)).company("Ford")
    assert ford is not None and ford.senses == ("river", "crossing*")
    assert ford.people == ("Doug Ford", "Harrison Ford") and ford.context == ("cars", "trucks")
    (entry,) = await storage.audit_entries(T_A)
    assert entry.action == "watch.add" and entry.after["senses"] == ["river", "crossing*"]
    assert entry.after["people"] == ["Doug Ford", "Harrison Ford"]
    # a person who is not named like the company can never apply: refused, nothing stored
    bad = await user("watch add company Ford people Megan Fox")
    assert not bad.ok and "Megan Fox" in bad.text and "neither the name nor an alias" in bad.text
    assert (await storage.watchlist(T_A)).company("Ford") == ford
    empty = await user("watch add company Ford senses")
    assert not empty.ok and "'senses' needs a comma-separated list" in empty.text
    assert "[senses S1, S2] [people P1, P2]" in (await user("help watch")).text
    assert "sense words" in (await user("help")).text
