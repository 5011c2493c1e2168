"""The /news command groups for Discord (news, watch, feeds, admin): options translated into the
command grammar's text (pure helpers), the command run through ``chat.answer``, the reply sent."""


from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Literal

import discord
from discord import app_commands

from bot.chat.answer import answer
from bot.chat.messages import DISCORD_ADMIN_REFUSAL, DISCORD_DM_REFUSAL
from bot.chat.types import Attachment, Commands, Invocation, Reply
from bot.render.discord_embed import EMBED_TOTAL_MAX, embed_length, render_discord
from bot.render.escape import discord_escape, fit

log = logging.getLogger(__name__)

CONTENT_MAX = 2000
EMBEDS_MAX = 10
CHOICES_MAX = 25
CHOICE_MAX = 100  # characters in an autocomplete choice's name and value
NAME = app_commands.Range[str, 1, 200]
Kind = Literal["company", "topic"]


def quote(value: str) -> str:
    """A name as one token of the command grammar: whitespace collapsed, in double quotes."""
    value = " ".join(value.split())
    return f'"{value}"' if value and '"' not in value else value


def quoted_list(value: str | None) -> str:
    """``"a, b , c"`` -> ``"a", "b", "c"`` (each item quoted so keywords inside stay names)."""
    items = [quote(v) for v in (value or "").split(",") if v.strip()]
    return ", ".join(items)


def subscription_text(verb: str, company: str | None, topic: str | None) -> str:
    parts = [verb]
    if company:
        parts += ["company", quote(company)]
    if topic:
        parts += ["topic", quote(topic)]
    return " ".join(parts)


def watch_add_text(kind: Kind, name: str, *, aliases: str | None = None,
                   context: str | None = None, senses: str | None = None,
                   people: str | None = None, exclude: str | None = None,
                   keywords: str | None = None, case_sensitive: bool = False) -> str:
    parts = ["watch add", kind, quote(name)]
    for key, value in (("aliases", aliases), ("context", context), ("senses", senses),
                       ("people", people), ("exclude", exclude), ("keywords", keywords)):
        if items := quoted_list(value):
            parts += [key, items]
    if case_sensitive:
        parts.append("case-sensitive")
    return " ".join(parts)


def feeds_add_text(url: str, every_minutes: int | None) -> str:
    text = f"feeds add {url.strip()}"
    return f"{text} every {every_minutes} min" if every_minutes is not None else text


def is_admin(permissions: discord.Permissions) -> bool:
    """Manage Server (or Administrator, which implies it) in the channel, as Discord resolved it."""
    return bool(permissions.manage_guild or permissions.administrator)


def invocation(interaction: discord.Interaction[Any], text: str) -> Invocation | None:
    """The command layer's view of this interaction; None outside a server (DMs)."""
    if interaction.guild_id is None or interaction.channel_id is None:
        return None
    user = interaction.user
    return Invocation(tenant=f"discord:{interaction.guild_id}", platform="discord",
                      channel=str(interaction.channel_id), user=str(user.id), text=text,
                      is_admin=is_admin(interaction.permissions), user_name=user.name)


def reply_content(reply: Reply) -> str:
    """Reply text escaped for Discord markdown and mentions, within 2,000 characters."""
    return fit(reply.text, CONTENT_MAX, discord_escape) or "(no answer)"


def preview_embeds(reply: Reply) -> list[discord.Embed]:
    """One embed per previewed alert, as it would be posted, while all fit in one message."""
    embeds: list[discord.Embed] = []
    total = 0
    for alert in reply.alerts[:EMBEDS_MAX]:
        embed = render_discord(alert)["embeds"][0]
        total += embed_length(embed)
        if total > EMBED_TOTAL_MAX:  # Discord counts 6,000 across all embeds of a message
            break
        embeds.append(discord.Embed.from_dict(embed))
    return embeds


async def _send(interaction: discord.Interaction[Any], content: str, *, ephemeral: bool,
                embeds: list[discord.Embed] | None = None) -> None:
    mentions = discord.AllowedMentions.none()
    if interaction.response.is_done():  # deferred: the first follow-up fills the placeholder
        await interaction.followup.send(content, embeds=embeds or [], ephemeral=ephemeral,
                                        allowed_mentions=mentions)
    else:
        await interaction.response.send_message(content, embeds=embeds or [],
                                                ephemeral=ephemeral, allowed_mentions=mentions)


async def run_command(service: Commands, interaction: discord.Interaction[Any], text: str, *,
                      slow: bool = False, admin: bool = False,
                      attachment: Attachment | None = None) -> None:
    """Translate, authorise, defer if slow, call the command layer, reply."""
    inv = invocation(interaction, text)
    if inv is not None and attachment is not None:
        inv = replace(inv, attachment=attachment)
    if inv is None:
        await _send(interaction, DISCORD_DM_REFUSAL, ephemeral=True)
        return
    if admin and not inv.is_admin:  # server-side, whatever the server's command settings say
        await _send(interaction, DISCORD_ADMIN_REFUSAL, ephemeral=True)
        return
    if slow:  # answer within Discord's 3 s: a "thinking…" placeholder, filled in below
        await interaction.response.defer(ephemeral=True, thinking=True)
    reply = await answer(service, inv)
    await _send(interaction, reply_content(reply), ephemeral=reply.ephemeral or slow,
                embeds=preview_embeds(reply))


async def name_choices(service: Commands, interaction: discord.Interaction[Any], kind: Kind,
                       current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete: this server's watched company or topic names matching what was typed."""
    if interaction.guild_id is None:
        return []
    try:
        names = await service.complete(f"discord:{interaction.guild_id}", kind, current,
                                       CHOICES_MAX)
    except Exception:
        log.exception("autocomplete of %s names failed in guild %s", kind, interaction.guild_id)
        return []
    names = [n for n in names if 0 < len(n) <= CHOICE_MAX]
    return [app_commands.Choice(name=n, value=n) for n in names[:CHOICES_MAX]]


@app_commands.guild_only()
class NewsGroup(app_commands.Group):
    """``/news``: what every member may do in a channel."""

    def __init__(self, service: Commands) -> None:
        super().__init__(name="news", description="News alerts for this channel")
        self.service = service

    @app_commands.command(name="help", description="What newsbot can do")
    async def help_(self, interaction: discord.Interaction[Any]) -> None:
        await run_command(self.service, interaction, "help")

    @app_commands.command(name="list", description="This channel's subscriptions")
    async def list_(self, interaction: discord.Interaction[Any]) -> None:
        await run_command(self.service, interaction, "list")

    @app_commands.command(description="Post alerts here about a company, a topic, or both")
    @app_commands.describe(company="A watched company", topic="A watched topic")
    async def subscribe(self, interaction: discord.Interaction[Any], company: NAME | None = None,
                        topic: NAME | None = None) -> None:
        await run_command(self.service, interaction,
                          subscription_text("subscribe", company, topic))

    @app_commands.command(description="Stop a subscription of this channel")
    @app_commands.describe(company="A watched company", topic="A watched topic")
    async def unsubscribe(self, interaction: discord.Interaction[Any],
                          company: NAME | None = None, topic: NAME | None = None) -> None:
        await run_command(self.service, interaction,
                          subscription_text("unsubscribe", company, topic))

    @app_commands.command(description="Show the alert a text, an article URL or a company "
                                       "would produce here")
    @app_commands.describe(text="Article text or URL", company="Alerts of the last 7 days")
    async def preview(self, interaction: discord.Interaction[Any],
                      text: app_commands.Range[str, 1, 6000] | None = None,
                      company: NAME | None = None) -> None:
        command = f"preview company {quote(company)}" if company else f"preview {text or ''}"
        await run_command(self.service, interaction, command.strip(), slow=True)

    @app_commands.command(description="Was this article seen, matched and posted here?")
    @app_commands.describe(url="The article's URL")
    async def why(self, interaction: discord.Interaction[Any],
                  url: app_commands.Range[str, 1, 2000]) -> None:
        await run_command(self.service, interaction, f"why {url.strip()}", slow=True)

    @subscribe.autocomplete("company")
    @unsubscribe.autocomplete("company")
    @preview.autocomplete("company")
    async def _companies(self, interaction: discord.Interaction[Any], current: str
                         ) -> list[app_commands.Choice[str]]:
        return await name_choices(self.service, interaction, "company", current)

    @subscribe.autocomplete("topic")
    @unsubscribe.autocomplete("topic")
    async def _topics(self, interaction: discord.Interaction[Any], current: str
                      ) -> list[app_commands.Choice[str]]:
        return await name_choices(self.service, interaction, "topic", current)


class WatchGroup(app_commands.Group):
    """``/news-admin watch``: the server's watchlist."""

    def __init__(self, service: Commands) -> None:
        super().__init__(name="watch", description="The companies and topics this server watches")
        self.service = service

    @app_commands.command(description="Watch a company (aliases etc. comma-separated) or a topic")
    @app_commands.describe(kind="company or topic", name="Its name",
                           aliases="Companies: other names, comma-separated",
                           context="Companies: words that count for it (shares, iPhone)",
                           senses="Companies: words of other meanings, count against (fruit)",
                           people="Companies: people named like it, never it (Doug Ford)",
                           exclude="Companies: phrases that mean it is not this company",
                           case_sensitive="Companies: match the name's exact case",
                           keywords="Topics: keywords, comma-separated (* = any ending)")
    async def add(self, interaction: discord.Interaction[Any], kind: Kind, name: NAME,
                  aliases: str | None = None, context: str | None = None,
                  senses: str | None = None, people: str | None = None,
                  exclude: str | None = None, keywords: str | None = None,
                  case_sensitive: bool = False) -> None:
        text = watch_add_text(kind, name, aliases=aliases, context=context, senses=senses,
                              people=people, exclude=exclude, keywords=keywords,
                              case_sensitive=case_sensitive)
        await run_command(self.service, interaction, text, admin=True)

    @app_commands.command(description="Stop watching a company or a topic")
    async def remove(self, interaction: discord.Interaction[Any], kind: Kind,
                     name: NAME) -> None:
        await run_command(self.service, interaction, f"watch remove {kind} {quote(name)}",
                          admin=True)

    @app_commands.command(name="list", description="Everything this server watches")
    async def list_(self, interaction: discord.Interaction[Any]) -> None:
        await run_command(self.service, interaction, "watch list", admin=True)

    @remove.autocomplete("name")
    async def _names(self, interaction: discord.Interaction[Any], current: str
                     ) -> list[app_commands.Choice[str]]:
        kind: Kind = "topic" if getattr(interaction.namespace, "kind", "") == "topic" else "company"
        return await name_choices(self.service, interaction, kind, current)


class FeedsGroup(app_commands.Group):
    """``/news-admin feeds``: the feeds this server follows."""

    def __init__(self, service: Commands) -> None:
        super().__init__(name="feeds", description="The feeds this server follows")
        self.service = service

    @app_commands.command(description="Follow an RSS, Atom or JSON feed")
    @app_commands.describe(url="The feed's http(s) URL", every="Minutes between polls")
    async def add(self, interaction: discord.Interaction[Any],
                  url: app_commands.Range[str, 1, 2000],
                  every: app_commands.Range[int, 1, 1440] | None = None) -> None:
        await run_command(self.service, interaction, feeds_add_text(url, every), slow=True,
                          admin=True)

    @app_commands.command(description="Stop following a feed")
    async def remove(self, interaction: discord.Interaction[Any],
                     url: app_commands.Range[str, 1, 2000]) -> None:
        await run_command(self.service, interaction, f"feeds remove {url.strip()}", admin=True)

    @app_commands.command(name="list", description="The feeds, with their health")
    async def list_(self, interaction: discord.Interaction[Any]) -> None:
        await run_command(self.service, interaction, "feeds list", admin=True)

    @app_commands.command(name="import", description="Follow the feeds of an OPML file")
    @app_commands.describe(file="An OPML file exported from another feed reader")
    async def import_(self, interaction: discord.Interaction[Any],
                      file: discord.Attachment) -> None:
        upload = Attachment(name=file.filename, url=file.url, size=file.size)
        await run_command(self.service, interaction, "feeds import", slow=True, admin=True,
                          attachment=upload)


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class AdminGroup(app_commands.Group):
    """``/news-admin``: Manage Server only (UI hint here, checked again in ``run_command``)."""

    def __init__(self, service: Commands) -> None:
        super().__init__(name="news-admin", description="Edit this server's watchlist and feeds")
        self.service = service
        self.add_command(WatchGroup(service))
        self.add_command(FeedsGroup(service))

    @app_commands.command(description="Post this channel's held alerts after it was stopped")
    async def resume(self, interaction: discord.Interaction[Any]) -> None:
        await run_command(self.service, interaction, "resume", admin=True)
