"""The channel controls as Discord slash commands: ``/news digest``, ``quiet``, ``timezone``,
``mute``, ``unmute``, ``cap``, ``max-age``, ``exclude``, ``unexclude``, ``prominent-only``, and
``/news-admin mention``, ``followups``, ``admin-channel``, ``status``. Each option is turned into
the command grammar's text and run through ``run_command`` like every other command."""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands

from bot.adapters.discord.groups import NAME, quote, run_command
from bot.chat.types import Commands

Interaction = discord.Interaction[Any]
Text = app_commands.Range[str, 1, 200]


def with_commands(group: app_commands.Group,
                  commands: list[app_commands.Command[Any, Any, None]]) -> app_commands.Group:
    for command in commands:
        group.add_command(command)
    return group


def news_controls(service: Commands) -> list[app_commands.Command[Any, Any, None]]:
    """The ``/news`` subcommands that change this channel's controls."""

    async def digest(interaction: Interaction, schedule: Text,
                     timezone: Text | None = None) -> None:
        await run_command(service, interaction, f"digest {schedule} {timezone or ''}".strip())

    async def quiet(interaction: Interaction, hours: Text, timezone: Text | None = None) -> None:
        await run_command(service, interaction, f"quiet {hours} {timezone or ''}".strip())

    async def timezone(interaction: Interaction, name: Text) -> None:
        await run_command(service, interaction, f"timezone {name}")

    async def mute(interaction: Interaction, name: NAME, duration: Text | None = None) -> None:
        await run_command(service, interaction, f"mute {quote(name)} {duration or ''}".strip())

    async def unmute(interaction: Interaction, name: NAME) -> None:
        await run_command(service, interaction, f"unmute {quote(name)}")

    async def cap(interaction: Interaction, per_hour: app_commands.Range[int, 0, 1000]) -> None:
        await run_command(service, interaction, f"cap {per_hour or 'off'}")

    async def max_age(interaction: Interaction, duration: Text) -> None:
        await run_command(service, interaction, f"max_age {duration}")

    async def exclude(interaction: Interaction, phrase: Text) -> None:
        await run_command(service, interaction, f"exclude {quote(phrase)}")

    async def unexclude(interaction: Interaction, phrase: Text) -> None:
        await run_command(service, interaction, f"unexclude {quote(phrase)}")

    async def prominent_only(interaction: Interaction, on: bool) -> None:
        await run_command(service, interaction, f"prominent_only {'on' if on else 'off'}")

    specs: list[tuple[str, str, Any]] = [
        ("digest", "Post one digest: 'daily 08:00', 'weekly mon 08:00' or 'off'", digest),
        ("quiet", "Quiet hours, e.g. 22:00-07:00 (or 'off'): alerts wait until they end", quiet),
        ("timezone", "This channel's time zone (IANA, e.g. Europe/Paris)", timezone),
        ("mute", "Mute a company or topic here for a while (default 7d)", mute),
        ("unmute", "End a mute", unmute),
        ("cap", "At most N alerts per hour (0 = no cap); the rest in the next digest", cap),
        ("max-age", "Entries published longer ago do not alert here (e.g. 3d)", max_age),
        ("exclude", "Articles containing this word or phrase do not alert here", exclude),
        ("unexclude", "Remove an exclusion", unexclude),
        ("prominent-only", "Alert only when the company is in the title or first paragraph",
         prominent_only),
    ]
    return [app_commands.Command(name=name, description=text, callback=callback)
            for name, text, callback in specs]


def admin_controls(service: Commands) -> list[app_commands.Command[Any, Any, None]]:
    """The ``/news-admin`` subcommands: the channel's mention, its follow-ups, the admin
    channel, status."""

    async def mention(interaction: Interaction, role: discord.Role | None = None,
                      company: NAME | None = None, topic: NAME | None = None) -> None:
        text = f"mention <@&{role.id}>" if role is not None else "mention off"
        text += "".join(f" {key} {quote(value)}" for key, value in
                        (("company", company), ("topic", topic)) if value)
        await run_command(service, interaction, text, admin=True)

    async def followups(interaction: Interaction,
                        mode: Literal["thread", "edit", "off"]) -> None:
        await run_command(service, interaction, f"followups {mode}", admin=True)

    async def admin_channel(interaction: Interaction, off: bool = False) -> None:
        await run_command(service, interaction, "admin-channel off" if off else "admin-channel",
                          admin=True)

    async def status(interaction: Interaction) -> None:
        await run_command(service, interaction, "status", admin=True)

    specs: list[tuple[str, str, Any]] = [
        ("mention", "Ping this role with alerts here, or of one subscription (no role: off)",
         mention),
        ("followups", "Later reports of a story alerted here: thread reply, edit, or off",
         followups),
        ("admin-channel", "Post admin notices (feed failing, channel stopped) here", admin_channel),
        ("status", "The admin channel and the latest admin notices", status),
    ]
    return [app_commands.Command(name=name, description=text, callback=callback)
            for name, text, callback in specs]
