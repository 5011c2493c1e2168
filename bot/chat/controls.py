"""Channel controls from chat: digest, quiet hours, time zone, cap, max_age, prominent_only,
mention, followups, mute/unmute, exclude/unexclude. Each changes this channel's
``ChannelControls`` (followups: the destination's setting), is audited (before/after) and
answered in the channel, so everyone there sees what changed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.chat.base import Ctx, did_you_mean, short
from bot.chat.parsed import ExcludeCmd, MuteCmd, SetControl, Subscribe
from bot.chat.subscriptions import channel, existing_subscription
from bot.chat.types import Reply
from bot.domain.controls import (
    MAX_EXCLUDES,
    MAX_MUTES,
    ChannelControls,
    Mute,
    QuietHours,
    Schedule,
    format_duration,
)
from bot.domain.errors import CommandError
from bot.domain.story import FOLLOWUP_MEANS
from bot.domain.watchlist import Watchlist, name_key


def _actor(ctx: Ctx) -> str:
    return ctx.inv.user_name or ctx.inv.user


async def _save(ctx: Ctx, action: str, before: ChannelControls, after: ChannelControls,
                text: str) -> Reply:
    dest_id = await ctx.destination_id()
    await ctx.storage.set_controls(dest_id, after, ctx.now)
    await ctx.storage.audit(ctx.tenant, ctx.inv.user, f"controls.{action}", ctx.inv.destination,
                            before=before.to_json(), after=after.to_json(), now=ctx.now)
    return Reply(f"{_actor(ctx)} {text}", ephemeral=False)


def applied(current: ChannelControls, cmd: SetControl) -> tuple[ChannelControls, str]:
    """The controls with ``cmd`` applied, and what to say about it."""
    zone = cmd.timezone or current.timezone
    value: Any = cmd.value
    match cmd.name:
        case "digest":
            assert value is None or isinstance(value, Schedule)
            return (replace(current, digest=value, timezone=zone),
                    f"set this channel to a {value} {zone} digest: alerts are collected and "
                    "posted as one message then." if value else
                    "turned the digest off here: alerts are posted as they come.")
        case "quiet":
            assert value is None or isinstance(value, QuietHours)
            return (replace(current, quiet=value, timezone=zone),
                    f"set quiet hours {value} {zone} here: alerts wait and go out when they "
                    f"end (as one digest if more than {current.quiet_digest_over})."
                    if value else "turned quiet hours off here.")
        case "timezone":
            return (replace(current, timezone=str(value)),
                    f"set this channel's time zone to {value}.")
        case "cap":
            return (replace(current, cap=value),
                    f"capped this channel at {value} alert(s) per hour; the rest go in the next "
                    "digest message." if value else "removed the hourly cap here.")
        case "max_age":
            assert isinstance(value, timedelta)
            return (replace(current, max_age=value),
                    f"set max_age to {format_duration(value)} here: entries published earlier "
                    "do not alert (/news why URL shows it).")
        case "prominent_only":
            return (replace(current, prominent_only=bool(value)),
                    "set prominent_only on here: alerts only when the company is in the title "
                    "or the first paragraph." if value else "set prominent_only off here.")
        case "mention":
            return (replace(current, mention=value),
                    f"set alerts here to mention {_mention_label(value)} (and nobody else)."
                    if value else "turned mentions off here.")
    raise CommandError("Unknown control; see /news help.")  # pragma: no cover


def _mention_label(token: str) -> str:
    kind, _, ident = token.partition(":")
    return f"<@&{ident}>" if kind == "role" else f"<!subteam^{ident}>"


async def _followups(ctx: Ctx, mode: str) -> Reply:
    """``followups thread|edit|off`` (admins): what later reports of an alerted story do here
    (stored on the destination, as channels.yaml's ``followups``), audited before/after."""
    dest_id = await ctx.destination_id()
    before = await ctx.storage.followups(dest_id)
    if before == mode:
        return Reply(f"Follow-ups here are already {mode}: {FOLLOWUP_MEANS[mode]}.")
    await ctx.storage.set_followups(dest_id, mode)
    await ctx.storage.audit(ctx.tenant, ctx.inv.user, "controls.followups", ctx.inv.destination,
                            before={"followups": before}, after={"followups": mode}, now=ctx.now)
    return Reply(f"{_actor(ctx)} set follow-ups here to {mode}: {FOLLOWUP_MEANS[mode]}.",
                 ephemeral=False)


async def set_control(ctx: Ctx, cmd: SetControl) -> Reply:
    if cmd.name == "followups":
        return await _followups(ctx, str(cmd.value))
    if cmd.name == "mention" and cmd.value and not str(cmd.value).startswith(
            "role:" if ctx.inv.platform == "discord" else "subteam:"):
        raise CommandError("On Discord name a role (@role); on Slack a user group (@group).")
    if cmd.subscription is not None:
        return await _sub_mention(ctx, cmd, cmd.subscription)
    before = await ctx.storage.controls(await ctx.destination_id())
    after, text = applied(before, cmd)
    return await _save(ctx, cmd.name, before, after, text)


async def _sub_mention(ctx: Ctx, cmd: SetControl, target: Subscribe) -> Reply:
    """``mention TOKEN company NAME``: only alerts of that subscription of this channel."""
    dest = await channel(ctx)
    sub = existing_subscription(target, dest.subscriptions)
    if sub is None:
        have = ", ".join(s.label() for s in dest.subscriptions[:10]) or "none"
        raise CommandError(f"This channel is not subscribed to that. Its subscriptions: {have}.")
    token = str(cmd.value) if cmd.value else None
    after = dest.controls.with_sub_mention(sub.label(), token)
    text = (f"set alerts here under {sub.label()} to mention {_mention_label(token)}."
            if token else f"turned the mention for {sub.label()} off here.")
    return await _save(ctx, "mention", dest.controls, after, text)


def _mutable(watchlist: Watchlist, name: str) -> tuple[str, str]:
    """(kind, canonical name) of a watched company or topic called ``name``."""
    if (company := watchlist.company(name)) is not None:
        return "company", company.name
    if (topic := watchlist.topic(name)) is not None:
        return "topic", topic.name
    names = [c.name for c in watchlist.companies] + [t.name for t in watchlist.topics]
    raise did_you_mean(name, names, "company or topic")


async def mute(ctx: Ctx, cmd: MuteCmd) -> Reply:
    before = await ctx.storage.controls(await ctx.destination_id())
    if cmd.remove:
        found = next((m for m in before.active_mutes(ctx.now)
                      if name_key(m.name) == name_key(cmd.name)), None)
        if found is None:
            raise CommandError(f"{short(cmd.name)} is not muted here.")
        after = before.without_mute(found.kind, found.name, ctx.now)
        return await _save(ctx, "unmute", before, after,
                           f"unmuted {found.name} here: its alerts are posted again.")
    kind, name = _mutable(await ctx.storage.watchlist(ctx.tenant), cmd.name)
    if len(before.active_mutes(ctx.now)) >= MAX_MUTES:
        raise CommandError(f"This channel already has {MAX_MUTES} mutes; unmute one first.")
    assert cmd.duration is not None
    until = ctx.now + cmd.duration
    after = before.with_mute(Mute(kind, name, until), ctx.now)  # type: ignore[arg-type]
    return await _save(ctx, "mute", before, after,
                       f"muted {name} here for {format_duration(cmd.duration)} (until "
                       f"{_utc(until)}); its stories are kept and /news why URL shows them. "
                       f"/news unmute {name} ends it sooner.")


def _utc(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


async def exclude(ctx: Ctx, cmd: ExcludeCmd) -> Reply:
    before = await ctx.storage.controls(await ctx.destination_id())
    have = {name_key(e): e for e in before.excludes}
    key = name_key(cmd.phrase)
    if cmd.remove:
        if key not in have:
            raise CommandError(f"{short(cmd.phrase)} is not excluded here. Excluded: "
                               f"{', '.join(before.excludes) or 'nothing'}.")
        after = replace(before, excludes=tuple(e for e in before.excludes if name_key(e) != key))
        return await _save(ctx, "unexclude", before, after,
                           f"removed the exclusion {short(cmd.phrase)} here.")
    if key in have:
        return Reply(f"{short(cmd.phrase)} is already excluded here.")
    if len(before.excludes) >= MAX_EXCLUDES:
        raise CommandError(f"This channel already has {MAX_EXCLUDES} exclusions; remove one "
                           "first with /news unexclude.")
    after = replace(before, excludes=(*before.excludes, cmd.phrase))
    return await _save(ctx, "exclude", before, after,
                       f"excluded {short(cmd.phrase)} here: articles containing it do not "
                       "alert in this channel.")
