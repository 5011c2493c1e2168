"""The Discord adapter: a discord.py client whose app command tree speaks the shared command layer.

Thin by design: each slash command turns its options into the same text a Slack user would type
after ``/news``, builds an ``Invocation`` (tenant = the guild, ``is_admin`` = Manage Server on
``interaction.permissions``), calls ``Commands.handle`` and renders the ``Reply``.

Two top-level commands, because Discord applies ``default_member_permissions`` only to top-level
commands (discord.py ignores ``default_permissions`` on subcommands):

- ``/news`` for everyone: help, list, subscribe, unsubscribe, preview, why;
- ``/news-admin`` (hidden by default from members without Manage Server; a server can change
  that in Server Settings > Integrations, so the check is repeated here on every call):
  ``watch add|remove|list``, ``feeds add|remove|list|import`` and ``resume`` (a stopped channel).

Intents: ``Intents.none()`` plus ``guilds`` (no privileged intents): slash commands arrive as
interactions and need no message content. Every reply goes out with ``AllowedMentions.none()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.adapters.discord.controls import admin_controls, news_controls, with_commands
from bot.adapters.discord.groups import AdminGroup, NewsGroup
from bot.chat.types import Commands
from bot.config.settings import Settings

if TYPE_CHECKING:
    from bot.storage.ports import AppStateStorage

log = logging.getLogger(__name__)








DEFAULT_API = "https://discord.com/api/v10"


# --- the client -----------------------------------------------------------------------------------
def parse_guild_ids(value: str) -> tuple[int, ...]:
    """``"123, 456"`` -> (123, 456); anything that is not a number is ignored with a warning."""
    ids = []
    for part in value.replace(";", ",").split(","):
        if part.strip().isdigit():
            ids.append(int(part.strip()))
        elif part.strip():
            log.warning("NEWSBOT_DISCORD_GUILD_IDS: %r is not a server id; ignored", part.strip())
    return tuple(ids)


class NewsBot(discord.Client):
    """Guild intent only; the ``/news`` and ``/news-admin`` trees; commands synced on login when
    they changed since the last sync (their hash kept in ``state``; without it, on every login)."""

    def __init__(self, service: Commands, *, guild_ids: tuple[int, ...] = (),
                 state: AppStateStorage | None = None, **options: Any) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(intents=intents, allowed_mentions=discord.AllowedMentions.none(),
                         **options)
        self.service = service
        self.guild_ids = guild_ids
        self.state = state
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(with_commands(NewsGroup(service), news_controls(service)))
        self.tree.add_command(with_commands(AdminGroup(service), admin_controls(service)))

    async def setup_hook(self) -> None:
        await sync_if_changed(self.tree, self.guild_ids, self.state)


def commands_hash(tree: app_commands.CommandTree[Any], guild_ids: tuple[int, ...]) -> str:
    """A digest of what a sync would send: the command payloads and where they go."""
    payload = [c.to_dict(tree) for c in tree.get_commands()]
    text = json.dumps([payload, sorted(guild_ids)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


async def sync_if_changed(tree: app_commands.CommandTree[Any], guild_ids: tuple[int, ...],
                          state: AppStateStorage | None) -> bool:
    """Sync unless these very commands were synced for this application before (Discord rate
    limits command updates; a restart changes nothing). True if a sync was sent."""
    if state is None:
        await sync_commands(tree, guild_ids)
        return True
    key = f"discord.commands.{tree.client.application_id}"
    digest = commands_hash(tree, guild_ids)
    if await state.get_state(key) == digest:
        log.info("Discord commands unchanged since the last sync; not syncing")
        return False
    if await sync_commands(tree, guild_ids):
        await state.set_state(key, digest, datetime.now(UTC))
    return True


async def sync_commands(tree: app_commands.CommandTree[Any], guild_ids: tuple[int, ...]) -> bool:
    """Per guild when ``guild_ids`` are given (instant: development), else global (production;
    Discord may take a while to show new global commands everywhere). False if it failed."""
    try:
        if not guild_ids:
            synced = await tree.sync()
            log.info("synced %d global Discord commands", len(synced))
            return True
        for guild_id in guild_ids:
            guild = discord.Object(id=guild_id)
            tree.copy_global_to(guild=guild)
            synced = await tree.sync(guild=guild)
            log.info("synced %d Discord commands to server %d", len(synced), guild_id)
    except discord.HTTPException as exc:  # the bot still posts alerts without fresh commands
        log.error("could not sync Discord commands: %s %s", exc.status, exc.text[:200])
        return False
    return True


@dataclass
class DiscordRuntime:
    client: NewsBot
    task: asyncio.Task[None]

    async def stop(self) -> None:
        await self.client.close()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task


def _report_exit(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("the Discord client stopped: %s: %s", exc.__class__.__name__, exc)


async def start_discord(settings: Settings, commands: Commands, *,
                        state: AppStateStorage | None = None) -> DiscordRuntime | None:
    """Log in (raises ``discord.LoginFailure`` for a refused token, ``HTTPException`` or a
    connection error otherwise) and run the gateway as a background task; None without a token.
    """
    if settings.discord_token is None or not settings.discord_token.get_secret_value():
        log.info("Discord: DISCORD_TOKEN is not set; the Discord adapter is off")
        return None
    if settings.discord_api_url.rstrip("/") != DEFAULT_API:  # a gateway, a local test double
        discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    client = NewsBot(commands, guild_ids=parse_guild_ids(settings.discord_guild_ids), state=state)
    try:
        await client.login(settings.discord_token.get_secret_value())
    except BaseException:  # refused, unreachable, or the stop: close the client's HTTP session
        await client.close()
        raise
    task = asyncio.create_task(client.connect(), name="discord-client")
    task.add_done_callback(_report_exit)
    return DiscordRuntime(client, task)
