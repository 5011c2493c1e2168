"""Admin: `watch add|remove|list` — edit this tenant's watchlist, one entry at a time, audited."""

from __future__ import annotations

import re
from typing import Any

from bot.chat.base import Ctx, find_company, find_topic
from bot.chat.parsed import WatchAdd, WatchRemove
from bot.chat.types import Reply
from bot.config.watchlist import parse_watchlist, watchlist_to_dict
from bot.domain.errors import CommandError, WatchlistError
from bot.domain.watchlist import Company, Topic, Watchlist

_WHERE = re.compile(r"^(companies|topics)\[\d+\]( \(.*?\))?\s*:?\s*")


def _problem(exc: WatchlistError) -> str:
    """The first problem parse_watchlist found, without the file/entry position it adds."""
    lines = str(exc).split("\n  ")[1:] or [str(exc)]
    first = _WHERE.sub("", lines[0]).strip() or lines[0]
    more = f" (and {len(lines) - 1} more problem(s))" if len(lines) > 1 else ""
    return f"That entry is not valid: {first}{more}."


def build_entry(cmd: WatchAdd) -> Company | Topic:
    """The validated entry (the same rules as config/watchlist.yaml), or CommandError."""
    if cmd.kind == "company":
        spec: dict[str, Any] = {"name": cmd.name, "aliases": list(cmd.aliases),
                                "case_sensitive": cmd.case_sensitive,
                                "context": list(cmd.context), "exclude": list(cmd.exclude),
                                "senses": list(cmd.senses), "people": list(cmd.people)}
        data = {"companies": [spec]}
    else:
        data = {"topics": [{"name": cmd.name, "keywords": list(cmd.keywords)}]}
    try:
        parsed = parse_watchlist(data, "chat")
    except WatchlistError as exc:
        raise CommandError(_problem(exc)) from None
    return parsed.companies[0] if cmd.kind == "company" else parsed.topics[0]


def entry_spec(entry: Company | Topic) -> dict[str, Any]:
    if isinstance(entry, Company):
        return dict(watchlist_to_dict(Watchlist(companies=(entry,)))["companies"][0])
    return dict(watchlist_to_dict(Watchlist(topics=(entry,)))["topics"][0])


def describe(entry: Company | Topic) -> str:
    if isinstance(entry, Topic):
        return f"topic {entry.name} (keywords: {', '.join(entry.keywords)})"
    parts = [f"aliases: {', '.join(entry.aliases)}" if entry.aliases else "",
             f"context: {', '.join(entry.context)}" if entry.context else "",
             f"senses: {', '.join(entry.senses)}" if entry.senses else "",
             f"people: {', '.join(entry.people)}" if entry.people else "",
             f"exclude: {', '.join(entry.exclude)}" if entry.exclude else "",
             "case-sensitive" if entry.case_sensitive else ""]
    details = "; ".join(p for p in parts if p)
    return f"company {entry.name}" + (f" ({details})" if details else "")


async def watch_add(ctx: Ctx, cmd: WatchAdd) -> Reply:
    entry = build_entry(cmd)
    watchlist = await ctx.storage.watchlist(ctx.tenant)
    existing = (watchlist.company(entry.name) if cmd.kind == "company"
                else watchlist.topic(entry.name))
    if existing is None and await ctx.storage.count_watches(ctx.tenant) >= ctx.limits.max_watches:
        raise CommandError(f"This watchlist already has {ctx.limits.max_watches} entries, the "
                           "limit; remove one first.")
    if existing == entry:
        return Reply(f"Already watching {describe(entry)}; nothing changed.")
    after = entry_spec(entry)
    before = await ctx.storage.put_watch(ctx.tenant, cmd.kind, after, ctx.now)
    action = "watch.update" if before is not None else "watch.add"
    await ctx.storage.audit(ctx.tenant, ctx.inv.user, action, f"{cmd.kind}:{entry.name}",
                            before=before, after=after, now=ctx.now)
    verb = "Updated" if before is not None else "Now watching"
    return Reply(f"{verb} {describe(entry)}.")


async def watch_remove(ctx: Ctx, cmd: WatchRemove) -> Reply:
    watchlist = await ctx.storage.watchlist(ctx.tenant)
    entry: Company | Topic = (find_company(watchlist, cmd.name) if cmd.kind == "company"
                              else find_topic(watchlist, cmd.name))
    before = await ctx.storage.remove_watch(ctx.tenant, cmd.kind, entry.name)
    if before is None:  # removed by someone else in the meantime
        return Reply(f"{cmd.kind.capitalize()} {entry.name} was already removed.")
    await ctx.storage.audit(ctx.tenant, ctx.inv.user, "watch.remove", f"{cmd.kind}:{entry.name}",
                            before=before, after=None, now=ctx.now)
    return Reply(f"Stopped watching {cmd.kind} {entry.name}. Channels subscribed to it keep the "
                 "subscription but get no alerts for it.")


def _names(items: list[str], limit: int = 60) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", … and {len(items) - limit} more" if len(items) > limit else "")


async def watch_list(ctx: Ctx) -> Reply:
    watchlist = await ctx.storage.watchlist(ctx.tenant)
    companies = [c.name + (f" [{', '.join(c.aliases[:3])}{', …' if len(c.aliases) > 3 else ''}]"
                           if c.aliases else "") for c in watchlist.companies]
    topics = [f"{t.name} ({len(t.keywords)} keyword(s))" for t in watchlist.topics]
    return Reply(f"Companies ({len(companies)}): {_names(companies) or 'none'}\n"
                 f"Topics ({len(topics)}): {_names(topics) or 'none'}")
