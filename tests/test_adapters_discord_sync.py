"""The Discord command tree is synced only when it changed: its hash is kept in the database, so a
restart sends nothing to Discord (which rate-limits command updates), a changed tree does."""

from __future__ import annotations

import discord
import pytest
from commands_helpers import make_service
from discord import app_commands
from discord.http import Route
from fakes.fake_discord import TOKEN, FakeDiscord

from bot.adapters.discord.client import NewsBot
from bot.storage import Storage

GUILD = 8800


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, discord: FakeDiscord) -> FakeDiscord:
    """The fake Discord API, where discord.py's client sends its requests."""
    monkeypatch.setattr(Route, "BASE", discord.base)
    return discord


def syncs(fake: FakeDiscord) -> int:
    return sum(1 for method, path in fake.requests if method == "PUT" and "commands" in path)


async def start(storage: Storage, clock, *, guilds: tuple[int, ...] = (GUILD,),  # type: ignore[no-untyped-def]
                extra: bool = False) -> None:
    client = NewsBot(make_service(storage, clock), guild_ids=guilds, state=storage)
    if extra:
        @app_commands.command(name="ping", description="a command added in a new release")
        async def ping(interaction: discord.Interaction) -> None:  # pragma: no cover
            ...

        client.tree.add_command(ping)
    try:
        await client.login(TOKEN)  # login runs setup_hook: the sync, if needed
    finally:
        await client.close()


async def test_a_restart_does_not_sync_again_but_a_changed_tree_does(
        fake: FakeDiscord, storage: Storage, clock) -> None:  # type: ignore[no-untyped-def]
    await start(storage, clock)
    assert syncs(fake) == 1 and set(fake.synced) == {str(GUILD)}
    await start(storage, clock)  # a restart with the same commands
    assert syncs(fake) == 1
    await start(storage, clock, extra=True)  # a release that adds a command
    assert syncs(fake) == 2
    assert "ping" in {c["name"] for c in fake.synced[str(GUILD)]}
    await start(storage, clock, guilds=())  # synced elsewhere (global): a sync again
    assert syncs(fake) == 3 and "global" in fake.synced
