"""The /news and /news-admin app commands through discord.py's own objects, against the fake API.

The client logs in to the fake (``discord.http.Route.BASE`` points at it), syncs its commands
there, and every interaction is a real ``discord.Interaction`` built from the payload Discord would
send; its replies are real HTTP calls the fake records. The command layer is the real
``CommandService`` on real storage.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from commands_helpers import make_service
from discord.http import Route
from fakes.fake_discord import APPLICATION_ID, TOKEN, FakeDiscord, body_problems

from bot.adapters.background import BackgroundAdapter
from bot.adapters.discord.client import (
    NewsBot,
    parse_guild_ids,
    start_discord,
)
from bot.adapters.discord.groups import quote, watch_add_text
from bot.chat.messages import DISCORD_ADMIN_REFUSAL as ADMIN_REFUSAL
from bot.chat.messages import DISCORD_DM_REFUSAL as DM_REFUSAL
from bot.config.settings import Settings
from bot.domain.alert import Subscription

GUILD, CHANNEL = 8800, 9900
TENANT = f"discord:{GUILD}"
MEMBER = discord.Permissions(send_messages=True, view_channel=True)
ADMIN = discord.Permissions(send_messages=True, view_channel=True, manage_guild=True)
_ids = itertools.count(1_400_000_000_000_000_001)


@pytest.fixture
def fake(monkeypatch, discord: FakeDiscord) -> FakeDiscord:
    """The fake Discord API, where discord.py's client sends its requests."""
    monkeypatch.setattr(Route, "BASE", discord.base)
    return discord


@pytest.fixture
async def bot(fake, storage, clock) -> AsyncIterator[NewsBot]:
    client = NewsBot(make_service(storage, clock), guild_ids=(GUILD,))
    try:
        await client.login(TOKEN)  # what client.start does before the gateway: login, setup_hook
        yield client
    finally:
        await client.close()


def _option(name: str, value: Any, focused: bool) -> dict[str, Any]:
    kind = 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 3
    return {"type": kind, "name": name, "value": value, **({"focused": True} if focused else {})}


def payload(path: str, *, perms: discord.Permissions = MEMBER, guild: int | None = GUILD,
            focus: str | None = None, **options: Any) -> dict[str, Any]:
    """An APPLICATION_COMMAND (or, with ``focus``, AUTOCOMPLETE) interaction as Discord sends it."""
    top, *subs = path.split()
    leaf = [_option(k, v, k == focus) for k, v in options.items()]
    for depth, name in enumerate(reversed(subs)):  # subcommand inside, then its group
        leaf = [{"type": 1 if depth == 0 else 2, "name": name, "options": leaf}]
    user = {"id": "501", "username": "alice", "discriminator": "0", "avatar": None,
            "global_name": "Alice"}
    data: dict[str, Any] = {
        "id": str(next(_ids)), "application_id": str(APPLICATION_ID), "type": 4 if focus else 2,
        "token": f"itoken-{next(_ids)}", "version": 1, "locale": "en-US",
        "attachment_size_limit": 8388608, "entitlements": [],
        "data": {"id": "1", "name": top, "type": 1, "options": leaf},
    }
    if guild is None:
        data |= {"user": user, "channel": {"id": "77", "type": 1, "recipients": [user]},
                 "context": 1}
        return data
    return data | {
        "guild_id": str(guild), "context": 0, "app_permissions": "0",
        "channel": {"id": str(CHANNEL), "type": 0, "name": "news", "position": 0,
                    "guild_id": str(guild), "permission_overwrites": [], "nsfw": False,
                    "parent_id": None},
        "member": {"user": user, "roles": [], "joined_at": "2026-01-01T00:00:00+00:00",
                   "deaf": False, "mute": False, "flags": 0, "permissions": str(perms.value)},
    }


async def invoke(bot: NewsBot, path: str, **kw: Any) -> None:
    interaction = discord.Interaction(data=payload(path, **kw), state=bot._connection)
    await bot.tree._call(interaction)


def last_reply(fake: FakeDiscord) -> dict[str, Any]:
    """What the user saw last: the callback message, or the follow-up after a defer."""
    callback = fake.callbacks[-1]
    if callback["type"] == 5:
        followup = [m for m in fake.messages if m.via == "followup"][-1]
        return followup.body | {"flags": followup.body.get("flags", 0) | (
            callback["data"].get("flags", 0))}
    assert callback["type"] == 4
    return callback["data"]


def ephemeral(reply: dict[str, Any]) -> bool:
    return bool(reply.get("flags", 0) & 64)


# --- registration ---------------------------------------------------------------------------------
async def test_commands_are_synced_to_the_development_guild_with_admin_hints(bot, fake) -> None:
    commands = {c["name"]: c for c in fake.synced[str(GUILD)]}
    assert set(commands) == {"news", "news-admin"} and "global" not in fake.synced
    assert str(commands["news-admin"]["default_member_permissions"]) == str(
        discord.Permissions(manage_guild=True).value)
    assert commands["news"].get("default_member_permissions") is None
    subs = {o["name"] for o in commands["news"]["options"]}
    assert subs == {"help", "list", "subscribe", "unsubscribe", "preview", "why",
                    "digest", "quiet", "timezone", "mute", "unmute", "cap", "max-age", "exclude",
                    "unexclude", "prominent-only"}
    admin = {g["name"]: {o["name"] for o in g.get("options", []) if o["type"] == 1}
             for g in commands["news-admin"]["options"]}
    assert admin == {"watch": {"add", "remove", "list"},
                     "feeds": {"add", "remove", "list", "import"},
                     "resume": set(), "mention": set(), "followups": set(),
                     "admin-channel": set(), "status": set()}
    subscribe = next(o for o in commands["news"]["options"] if o["name"] == "subscribe")
    assert all(o["autocomplete"] for o in subscribe["options"])


def test_only_the_guilds_intent_no_privileged_ones() -> None:
    bot = NewsBot(make_service_stub())
    assert bot.intents.guilds
    assert not (bot.intents.members or bot.intents.presences or bot.intents.message_content)
    assert bot.intents.value == discord.Intents(guilds=True).value
    assert bot.allowed_mentions is not None and bot.allowed_mentions.to_dict() == {"parse": []}


def test_guild_ids_setting() -> None:
    assert parse_guild_ids("123, 456;789") == (123, 456, 789)
    assert parse_guild_ids("") == () and parse_guild_ids("abc, 12") == (12,)


# --- members --------------------------------------------------------------------------------------
async def test_a_member_subscribes_the_channel_and_everyone_sees_it(bot, fake, storage) -> None:
    await invoke(bot, "news subscribe", company="Mistral AI", topic="Funding")
    reply = last_reply(fake)
    assert reply["content"] == "alice subscribed this channel to Mistral AI + Funding."
    assert not ephemeral(reply) and reply["allowed_mentions"]["parse"] == []
    (dest,) = await storage.destinations(TENANT)
    assert dest.address == f"discord:{CHANNEL}"
    assert dest.subscriptions == (Subscription(company="Mistral AI", topic="Funding"),)
    await invoke(bot, "news list")
    assert "Mistral AI" in last_reply(fake)["content"] and ephemeral(last_reply(fake))


async def test_bad_input_gets_a_short_private_answer_and_changes_nothing(
        bot, fake, storage) -> None:
    await invoke(bot, "news subscribe")
    reply = last_reply(fake)
    assert ephemeral(reply) and "Usage" in reply["content"] and len(reply["content"]) < 300
    await invoke(bot, "news subscribe", company="Nvdia")
    assert "Nvidia" in last_reply(fake)["content"] and ephemeral(last_reply(fake))
    assert all(not d.subscriptions for d in await storage.destinations(TENANT))


async def test_echoed_input_cannot_ping_anyone(bot, fake) -> None:
    await invoke(bot, "news subscribe", company="@everyone <@&123> **x**")
    content = last_reply(fake)["content"]
    assert "@everyone" not in content and "<@&123>" not in content and "\\*\\*x" in content
    assert last_reply(fake)["allowed_mentions"] == {"parse": []}


async def test_autocomplete_offers_this_servers_names(bot, fake) -> None:
    await invoke(bot, "news subscribe", focus="company", company="mis")
    assert fake.callbacks[-1]["type"] == 8
    assert fake.callbacks[-1]["data"]["choices"] == [{"name": "Mistral AI", "value": "Mistral AI"}]
    await invoke(bot, "news subscribe", focus="topic", topic="")
    names = [c["name"] for c in fake.callbacks[-1]["data"]["choices"]]
    assert names == ["Funding", "Acquisition"]
    await invoke(bot, "news-admin watch remove", perms=ADMIN, focus="name", kind="topic",
                 name="acq")
    assert [c["value"] for c in fake.callbacks[-1]["data"]["choices"]] == ["Acquisition"]


async def test_a_slow_command_defers_then_answers_with_the_alert_as_an_embed(bot, fake) -> None:
    text = ("Nvidia will invest $2bn in a new chip plant, the company said on Monday. "
            "The plant opens next year.")
    await invoke(bot, "news preview", text=text)
    assert fake.callbacks[-1]["type"] == 5 and ephemeral(fake.callbacks[-1]["data"])
    reply = last_reply(fake)
    (embed,) = reply["embeds"]
    assert "Nvidia" in str(embed) and body_problems(reply) == []
    assert reply["allowed_mentions"] == {"parse": []}


async def test_direct_messages_get_a_short_refusal(bot, fake) -> None:
    await invoke(bot, "news list", guild=None)
    reply = last_reply(fake)
    assert reply["content"] == DM_REFUSAL and ephemeral(reply)


# --- admins ---------------------------------------------------------------------------------------
async def test_a_member_without_manage_server_is_refused_whatever_the_ui_allowed(
        bot, fake, storage) -> None:
    before = await storage.watchlist(TENANT)
    await invoke(bot, "news-admin watch add", kind="company", name="Apple",
                 exclude="apple pie, apple juice")
    reply = last_reply(fake)
    assert ephemeral(reply) and "Manage Server" in reply["content"]
    assert ADMIN_REFUSAL.split()[0] in reply["content"]
    assert await storage.watchlist(TENANT) == before
    assert await storage.audit_entries(TENANT) == []


async def test_an_admin_edits_the_watchlist_with_typed_options(bot, fake, storage) -> None:
    await invoke(bot, "news-admin watch add", perms=ADMIN, kind="company", name="Apple",
                 aliases="Apple Inc, AAPL", exclude="apple pie, apple topic", case_sensitive=True)
    assert ephemeral(last_reply(fake))
    apple = (await storage.watchlist(TENANT)).company("Apple")
    assert apple is not None, last_reply(fake)
    assert apple.case_sensitive
    assert apple.aliases == ("Apple Inc", "AAPL") and apple.exclude == ("apple pie", "apple topic")
    (entry,) = await storage.audit_entries(TENANT)
    assert "501" in entry.actor
    await invoke(bot, "news-admin watch add", perms=ADMIN, kind="company", name="Shell",
                 senses="sea, beach", people="Shell Smith")
    shell = (await storage.watchlist(TENANT)).company("Shell")
    assert shell is not None, last_reply(fake)
    assert shell.senses == ("sea", "beach") and shell.people == ("Shell Smith",)
    await invoke(bot, "news-admin watch list", perms=ADMIN)
    assert "Apple" in last_reply(fake)["content"]


async def test_an_admin_resumes_a_stopped_channel_and_it_is_audited(bot, fake, storage,
                                                                     clock) -> None:
    await storage.ensure_tenant(TENANT, clock())
    dest = await storage.ensure_destination(TENANT, f"discord:{CHANNEL}", clock())
    await storage.stop_destination(dest, "Discord refused: 403 Missing Access")
    await invoke(bot, "news-admin resume")
    assert "Manage Server" in last_reply(fake)["content"]
    assert await storage.destination_state(dest) == (False, "Discord refused: 403 Missing Access")
    await invoke(bot, "news-admin resume", perms=ADMIN)
    assert "resumed alerts to this channel" in last_reply(fake)["content"]
    assert await storage.destination_state(dest) == (True, None)
    (entry,) = await storage.audit_entries(TENANT)
    assert (entry.action, entry.target, entry.actor) == ("destination.resume",
                                                         f"discord:{CHANNEL}", "501")


async def test_administrator_counts_as_manage_server(bot, fake, storage) -> None:
    await invoke(bot, "news-admin watch remove",
                 perms=discord.Permissions(administrator=True), kind="company", name="Airbus")
    assert (await storage.watchlist(TENANT)).company("Airbus") is None


async def test_feeds_add_defers_and_vets_the_url(bot, fake, storage) -> None:
    await invoke(bot, "news-admin feeds add", perms=ADMIN, url="https://news.example.org/rss",
                 every=30)
    assert fake.callbacks[-1]["type"] == 5
    assert "30 min" in last_reply(fake)["content"]
    (follow,) = await storage.feed_follows(TENANT)
    assert follow.interval_minutes == 30
    await invoke(bot, "news-admin feeds add", perms=ADMIN, url="https://intranet.example.org/rss")
    refused = last_reply(fake)["content"]
    assert "intranet" in refused and len(await storage.feed_follows(TENANT)) == 1


# --- pure helpers ---------------------------------------------------------------------------------
def test_names_are_quoted_so_keywords_inside_them_stay_names() -> None:
    assert quote("  Mistral   AI ") == '"Mistral AI"'
    assert watch_add_text("company", "Topic Labs", aliases="company X, Y", case_sensitive=True) == (
        'watch add company "Topic Labs" aliases "company X", "Y" case-sensitive')
    assert watch_add_text("company", "Ford", senses="river, people", people="Doug Ford") == (
        'watch add company "Ford" senses "river", "people" people "Doug Ford"')


# --- the runtime ----------------------------------------------------------------------------------
class _NoCommands:
    async def handle(self, invocation: Any) -> Any:
        raise AssertionError("not called")

    async def complete(self, *args: Any, **kwargs: Any) -> list[str]:
        return []


def make_service_stub() -> _NoCommands:
    return _NoCommands()


async def test_no_token_no_client(monkeypatch) -> None:
    for name in ("DISCORD_TOKEN", "NEWSBOT_DISCORD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert await start_discord(Settings(), _NoCommands()) is None


async def test_a_refused_token_keeps_discord_off_without_retries_and_is_never_logged(
        fake, monkeypatch, caplog) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "not-the-right-token-1234")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(discord.LoginFailure):
        await start_discord(Settings(), _NoCommands())
    adapter = BackgroundAdapter("Discord", lambda: start_discord(Settings(), _NoCommands()),
                                permanent=(discord.LoginFailure,), first_delay=0.01)
    adapter.begin()
    await adapter.wait_started()
    await adapter.stop()
    assert adapter.attempts == 1 and adapter.runtime is None  # refused: not retried
    assert "Discord cannot start" in caplog.text
    assert "not-the-right-token-1234" not in caplog.text


# --- channel controls (bot/adapters/discord/controls.py) ------------------------------------
async def controls(storage):
    dests = await storage.destinations(TENANT, active_only=False)
    return next(d for d in dests if d.address == f"discord:{CHANNEL}").controls


async def test_a_member_sets_the_channels_controls(bot, fake, storage) -> None:
    await invoke(bot, "news digest", schedule="daily 08:00", timezone="Europe/Paris")
    reply = last_reply(fake)
    assert "daily 08:00 Europe/Paris digest" in reply["content"] and not ephemeral(reply)
    await invoke(bot, "news mute", name="Nvidia", duration="2d")
    await invoke(bot, "news cap", per_hour=4)
    await invoke(bot, "news max-age", duration="1d")
    await invoke(bot, "news exclude", phrase="sponsored")
    await invoke(bot, "news prominent-only", on=True)
    await invoke(bot, "news quiet", hours="22:00-07:00")
    got = await controls(storage)
    assert (str(got.digest), got.timezone, got.cap, got.excludes, got.prominent_only) == (
        "daily 08:00", "Europe/Paris", 4, ("sponsored",), True)
    assert [m.name for m in got.mutes] == ["Nvidia"] and str(got.quiet) == "22:00-07:00"
    await invoke(bot, "news list")
    assert "digest: daily 08:00 Europe/Paris" in last_reply(fake)["content"]
    await invoke(bot, "news unmute", name="Nvidia")
    await invoke(bot, "news cap", per_hour=0)
    got = await controls(storage)
    assert got.mutes == () and got.cap is None
    await invoke(bot, "news timezone", name="Mars/Olympus")
    assert ephemeral(last_reply(fake)) and "Unknown time zone" in last_reply(fake)["content"]


async def test_admin_channel_and_status_are_for_manage_server(bot, fake, storage) -> None:
    await invoke(bot, "news-admin admin-channel")
    assert "Manage Server" in last_reply(fake)["content"]
    await invoke(bot, "news-admin admin-channel", perms=ADMIN)
    assert "now posted in this channel" in last_reply(fake)["content"]
    await invoke(bot, "news-admin status", perms=ADMIN)
    assert f"Admin channel: {CHANNEL} (this channel)." in last_reply(fake)["content"]


async def test_followups_are_set_with_a_choice_by_manage_server(bot, fake, storage) -> None:
    await invoke(bot, "news-admin followups", mode="edit")
    assert "Manage Server" in last_reply(fake)["content"]
    await invoke(bot, "news-admin followups", perms=ADMIN, mode="edit")
    assert "set follow-ups here to edit" in last_reply(fake)["content"]
    dests = await storage.destinations(TENANT, active_only=False)
    dest = next(d for d in dests if d.address == f"discord:{CHANNEL}")
    assert await storage.followups(dest.id) == "edit"
