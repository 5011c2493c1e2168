"""Channel controls through /news on both platforms (real storage): set, shown in /news list,
audited, refused when wrong; and their effect on what the poller queues, told by /news why."""

from __future__ import annotations

from datetime import timedelta

import pytest
from commands_helpers import T_A, T_B, User, make_service
from feedserver import Item, rss
from test_chat_why_preview import FEED, StaticFetcher, link, poll

from bot.domain.controls import ChannelControls


@pytest.fixture
def service(storage, clock):
    return make_service(storage, clock)


async def controls(storage, tenant: str, channel: str = "C1") -> ChannelControls:
    platform = "slack" if tenant == T_A else "discord"
    dest = next(d for d in await storage.destinations(tenant, active_only=False)
                if d.address == f"{platform}:{channel}")
    return dest.controls


@pytest.mark.parametrize("tenant", [T_A, T_B])
async def test_each_control_is_set_listed_and_audited(service, storage, clock, tenant) -> None:
    user = User(service, tenant)
    await user("subscribe company Nvidia")
    for text in ("mute Nvidia 7d", "exclude sponsored content", "prominent_only on",
                 "max_age 2d", "cap 5", "digest daily 08:00 Europe/Paris", "quiet 22:00-07:00"):
        reply = await user(text)
        assert reply.ok and not reply.ephemeral, (text, reply.text)
        assert reply.text.startswith("name-U1 ")
    got = await controls(storage, tenant)
    assert got.cap == 5 and got.prominent_only and got.excludes == ("sponsored content",)
    assert got.max_age == timedelta(days=2) and got.timezone == "Europe/Paris"
    assert str(got.digest) == "daily 08:00" and str(got.quiet) == "22:00-07:00"
    assert [(m.name, m.until) for m in got.mutes] == [("Nvidia", clock.now + timedelta(days=7))]
    listed = (await user("list")).text
    for shown in ("digest: daily 08:00 Europe/Paris", "quiet hours: 22:00-07:00 Europe/Paris",
                  "cap: 5 alert(s)/hour", "max_age: 2d", "excluded here: “sponsored content”",
                  "prominent_only: on", "muted: Nvidia (company) until 2026-12-06 12:00 UTC"):
        assert shown in listed
    actions = [e.action for e in await storage.audit_entries(tenant)]
    assert {"controls.mute", "controls.exclude", "controls.prominent_only", "controls.max_age",
            "controls.cap", "controls.digest", "controls.quiet"} <= set(actions)
    entry = next(e for e in await storage.audit_entries(tenant) if e.action == "controls.cap")
    assert entry.before["cap"] is None and entry.after["cap"] == 5 and entry.actor == "U1"


async def test_unmute_unexclude_and_off(service, storage) -> None:
    user = User(service)
    assert (await user("mute nvidia")).ok  # default 7 days, canonical name
    assert "Nvidia" in (await user("list")).text
    assert (await user("unmute NVIDIA")).ok
    assert (await controls(storage, T_A)).mutes == ()
    assert not (await user("unmute Nvidia")).ok
    assert (await user('exclude "press release"')).ok
    assert (await user("exclude Press Release")).text.endswith("already excluded here.")
    assert (await user("unexclude press release")).ok
    for text in ("cap off", "digest off", "quiet off", "prominent_only off"):
        assert (await user(text)).ok
    assert await controls(storage, T_A) == ChannelControls()


@pytest.mark.parametrize(("text", "says"), [
    ("mute Nvdia 7d", "Did you mean Nvidia?"),
    ("cap lots", "from 1 to 1000"),
    ("cap 0", "from 1 to 1000"),
    ("max_age forever", "30m, 12h, 7d or 2w"),
    ("digest hourly", "daily HH:MM"),
    ("digest daily 25:00", "HH:MM"),
    ("digest weekly funday 08:00", "Unknown day"),
    ("digest daily 08:00 Mars/Olympus", "Unknown time zone"),
    ("quiet 22:00", "HH:MM-HH:MM"),
    ("prominent_only maybe", "prominent_only on|off"),
    ("timezone", "Give a time zone"),
    ("exclude", "Give a word or phrase"),
])
async def test_mistakes_are_refused_and_change_nothing(service, storage, text, says) -> None:
    user = User(service)
    await user("list")
    reply = await user(text)
    assert not reply.ok and says in reply.text, reply.text
    assert await controls(storage, T_A) == ChannelControls()
    assert not [e for e in await storage.audit_entries(T_A) if e.action.startswith("controls")]


async def test_mentions_are_admin_only_and_platform_specific(service, storage) -> None:
    slack, discord = User(service, T_A), User(service, T_B)
    assert not (await slack("mention <!subteam^S0123|@oncall>")).ok  # not an admin
    slack_admin, discord_admin = User(service, T_A, admin=True), User(service, T_B, admin=True)
    assert (await slack_admin("mention <!subteam^S0123|@oncall>")).ok
    assert (await controls(storage, T_A)).mention == "subteam:S0123"
    wrong = await discord_admin("mention <!subteam^S0123>")
    assert not wrong.ok and "On Discord name a role" in wrong.text
    assert not (await discord_admin("mention @everyone")).ok
    assert (await discord_admin("mention <@&4242>")).ok
    assert (await controls(storage, T_B)).mention == "role:4242"
    assert (await discord_admin("mention off")).ok
    assert (await controls(storage, T_B)).mention is None
    assert (await discord("list")).ok


async def test_controls_are_per_channel(service, storage) -> None:
    await User(service, channel="C1")("cap 3")
    await User(service, channel="C2")("list")
    assert (await controls(storage, T_A, "C1")).cap == 3
    assert (await controls(storage, T_A, "C2")).cap is None


# --- the effect on what is queued, shown by `why` ---------------------------------------------
async def _polled(storage, clock, service, items) -> None:
    admin = User(service, admin=True)
    assert (await admin("feeds add " + FEED)).ok
    fetcher = StaticFetcher()
    await poll(storage, fetcher, clock)
    clock.advance(minutes=20)
    fetcher.body = rss(items)
    await poll(storage, fetcher, clock)


async def test_filters_keep_alerts_back_and_why_says_so(service, storage, clock) -> None:
    user = User(service)
    await user("subscribe company *")
    await user("mute Airbus 1d")
    await user("exclude sponsored")
    await user("prominent_only on")
    old = clock.now - timedelta(days=5)
    await _polled(storage, clock, service, [
        Item("a", "Airbus wins an order", "Airbus won 40 jets.", link=link("airbus")),
        Item("b", "Nvidia opens a lab", "A sponsored post. Nvidia opens a lab.",
             link=link("sponsored")),
        Item("c", "Chip market review", "Prices rose.\nLater in the year, Nvidia said little.",
             link=link("passing")),
        Item("d", "Nvidia buys a startup", "Nvidia bought it.", published=old,
             link=link("old")),
        Item("e", "Nvidia shares rise", "Nvidia shares rose 3%.", link=link("fresh")),
    ])
    rows = {r.alert.url: r for r in await storage.delivery_states(tenant=T_A)}
    assert rows[link("fresh")].status == "pending"
    assert {u: r.status for u, r in rows.items() if u != link("fresh")} == {
        link(n): "filtered" for n in ("airbus", "sponsored", "passing", "old")}
    says = {name: (await user("why " + link(name))).text for name in
            ("airbus", "sponsored", "passing", "old")}
    assert "muted here: Airbus until 2026-11-30 12:00 UTC" in says["airbus"]
    assert "excluded here: contains “sponsored”" in says["sponsored"]
    assert "prominent_only: Nvidia only mentioned in passing" in says["passing"]
    assert "older than max_age 3d (published 2026-11-24 12:00 UTC)" in says["old"]


async def test_a_snooze_expires(service, storage, clock) -> None:
    user = User(service)
    await user("subscribe company Nvidia")
    await user("mute Nvidia 1h")
    clock.advance(hours=2)  # past the snooze (the feed's polls advance 20 min more)
    await _polled(storage, clock, service, [
        Item("e", "Nvidia shares rise", "Nvidia shares rose 3%.", link=link("fresh"))])
    (row,) = await storage.delivery_states(tenant=T_A)
    assert row.status == "pending"
    assert "muted" not in (await user("list")).text


async def test_a_feed_added_from_chat_takes_a_bounded_backfill(service, storage, clock) -> None:
    admin = User(service, admin=True)
    await admin("subscribe company Nvidia")
    assert not (await admin(f"feeds add {FEED} backfill 51")).ok
    assert not (await admin(f"feeds add {FEED} backfill some")).ok
    reply = await admin(f"feeds add {FEED} every 30 min backfill 2")
    assert reply.ok and "its 2 newest entries" in reply.text, reply.text
    (entry,) = [e for e in await storage.audit_entries(T_A) if e.action == "feed.add"]
    assert entry.after["backfill"] == 2 and entry.after["interval_minutes"] == 30
    fetcher = StaticFetcher()
    fetcher.body = rss([Item(f"g{i}", f"Nvidia item {i}", "Nvidia did it.",
                             published=clock.now - timedelta(days=30 - i), link=link(f"b{i}"))
                        for i in range(4)])
    await poll(storage, fetcher, clock)  # the first poll: the 2 newest, however old
    rows = await storage.delivery_states(tenant=T_A)
    assert sorted(r.alert.url for r in rows) == [link("b2"), link("b3")]
    assert {r.status for r in rows} == {"pending"}


async def test_help_lists_the_controls_and_fits_a_discord_message(service) -> None:
    from bot.render.escape import discord_escape, size

    text = (await User(service)("help")).text
    assert "mute NAME [7d]" in text and "admin-channel" in text
    assert size(discord_escape(text)) <= 2000
    usage = (await User(service)("help max-age")).text
    assert usage.startswith("Usage: /news max_age DURATION")


async def test_a_subscription_may_name_its_own_mention(service, storage) -> None:
    admin = User(service, T_B, admin=True)
    await admin("subscribe company Nvidia")
    await admin("subscribe topic Funding")
    reply = await admin("mention <@&77> company Nvidia")
    assert reply.ok, reply.text
    missing = await admin("mention <@&77> company Airbus")
    assert not missing.ok and "not subscribed to that" in missing.text
    got = await controls(storage, T_B)
    assert got.sub_mentions == (("Nvidia", "role:77"),) and got.mention is None
    assert got.mention_for(("Funding", "Nvidia")) == "role:77"
    assert got.mention_for(("Funding",)) is None
    assert "mention for Nvidia: role:77" in (await admin("list")).text
    assert (await admin("mention off company Nvidia")).ok
    assert (await controls(storage, T_B)).sub_mentions == ()


async def test_queued_alerts_carry_the_channels_one_mention(service, storage, clock) -> None:
    admin = User(service, admin=True)
    await admin("subscribe company Nvidia")
    await admin("subscribe company Airbus")
    assert (await admin("mention subteam:S0AB company Nvidia")).ok
    await _polled(storage, clock, service, [
        Item("e", "Nvidia shares rise", "Nvidia shares rose.", link=link("nv")),
        Item("a", "Airbus wins an order", "Airbus won 40 jets.", link=link("ab"))])
    rows = {r.alert.url: r.alert.mention for r in await storage.delivery_states(tenant=T_A)}
    assert rows == {link("nv"): "subteam:S0AB", link("ab"): None}


@pytest.mark.parametrize("tenant", [T_A, T_B])
async def test_followups_are_set_by_admins_audited_and_listed(service, storage, tenant) -> None:
    user, admin = User(service, tenant), User(service, tenant, admin=True, user="U9")
    assert "followups thread: a later report" in (await user("list")).text  # the default
    refused = await user("followups edit")
    assert not refused.ok and "admin" in refused.text.lower()
    reply = await admin("followups edit")
    assert reply.ok and not reply.ephemeral
    assert reply.text.startswith("name-U9 set follow-ups here to edit: a later report")
    assert "followups edit: a later report" in (await user("list")).text
    assert (await admin("followups EDIT")).text.startswith("Follow-ups here are already edit")
    (entry,) = [e for e in await storage.audit_entries(tenant)
                if e.action == "controls.followups"]
    assert (entry.before, entry.after, entry.actor) == ({"followups": "thread"},
                                                        {"followups": "edit"}, "U9")
    wrong = await admin("followups sometimes")
    assert not wrong.ok and "Usage: /news followups thread|edit|off" in wrong.text
    assert (await admin("follow-ups off")).ok
    assert "followups off: a later report of a story alerted here posts nothing" in (
        await user("list")).text
    assert "followups thread|edit|off" in (await user("help followups")).text
    assert "followups thread|edit|off" in (await user("help")).text
    assert await controls(storage, tenant) == ChannelControls()  # the other controls: untouched
