"""Admin: `feeds add|remove|list` — this tenant's feed follows, vetted URLs only, audited.

A URL from chat is untrusted: http(s) only, its host must resolve to public addresses only
(``check_url_syntax`` then the injected vetter, ``vet_url`` by default). The check here is advice
for the reply; the fetcher checks again and pins the addresses on every fetch.
"""

from __future__ import annotations

from bot.chat.base import Ctx, short, when
from bot.chat.parsed import FeedAdd, FeedRemove
from bot.chat.types import Reply
from bot.domain.article import FeedSource
from bot.domain.errors import CommandError, UnsafeURL
from bot.net.netguard import check_url_syntax
from bot.storage.records import FeedRow

MAX_URL_CHARS = 2000


def _interval(ctx: Ctx, cmd: FeedAdd) -> int:
    minutes = cmd.interval_minutes or ctx.limits.default_interval
    low, high = ctx.limits.min_interval, ctx.limits.max_interval
    if not low <= minutes <= high:
        raise CommandError(f"The interval must be between {low} and {high} minutes.")
    return minutes


async def feeds_add(ctx: Ctx, cmd: FeedAdd) -> Reply:
    if len(cmd.url) > MAX_URL_CHARS:
        raise CommandError(f"That URL is {len(cmd.url):,} characters long; the limit is "
                           f"{MAX_URL_CHARS:,}.")
    minutes = _interval(ctx, cmd)
    try:
        url = await ctx.vetter(check_url_syntax(cmd.url))
    except UnsafeURL as exc:
        raise CommandError(str(exc)) from None
    existing = await ctx.storage.feed_follows(ctx.tenant, url)
    if existing:
        return Reply(f"Already following {url} (every {existing[0].interval_minutes} min).")
    if await ctx.storage.count_follows(ctx.tenant) >= ctx.limits.max_feeds:
        raise CommandError(f"This workspace already follows {ctx.limits.max_feeds} feeds, the "
                           "limit; remove one first.")
    feed_id = await ctx.storage.ensure_feed(FeedSource(url, interval_minutes=minutes), ctx.now)
    await ctx.storage.follow(ctx.tenant, feed_id, title="", backfill=cmd.backfill,
                             source="chat", now=ctx.now)
    after = (await ctx.storage.feed_follows(ctx.tenant, url))[0]
    await ctx.storage.audit(ctx.tenant, ctx.inv.user, "feed.add", url, before=None,
                            after={**after.to_dict(), "backfill": cmd.backfill}, now=ctx.now)
    backfill = (f" Its first poll alerts on its {cmd.backfill} newest entries (backfill)."
                if cmd.backfill else "")
    return Reply(f"Now following {url}, polled every {after.interval_minutes} min. New articles "
                 f"from its next poll on are matched against the watchlist.{backfill}")


async def _find(ctx: Ctx, url: str) -> FeedRow:
    text = url.strip()
    for candidate in dict.fromkeys((text, text.rstrip("/"), text + "/")):
        found = await ctx.storage.feed_follows(ctx.tenant, candidate)
        if found:
            return found[0]
    raise CommandError(f"This workspace does not follow {short(text, 200)}. "
                       "See /news feeds list.")


async def feeds_remove(ctx: Ctx, cmd: FeedRemove) -> Reply:
    follow = await _find(ctx, cmd.url)
    if follow.source == "config":
        raise CommandError(f"{follow.url} comes from the operator's config/ folder and can only "
                           "be removed there.")
    await ctx.storage.unfollow(ctx.tenant, follow.id)
    await ctx.storage.audit(ctx.tenant, ctx.inv.user, "feed.remove", follow.url,
                            before=follow.to_dict(), after=None, now=ctx.now)
    return Reply(f"Stopped following {follow.url}.")


def health(f: FeedRow, ctx: Ctx) -> str:
    name = f"{f.title} — {f.url}" if f.title and f.title != f.url else f.url
    parts = [f"every {f.interval_minutes} min", f"last success {when(f.last_success_at, ctx.now)}"]
    if f.last_error:
        error = f.last_error if len(f.last_error) <= 120 else f.last_error[:119] + "…"
        parts.append(f"last error {when(f.last_error_at, ctx.now)}: {error}"
                     + (f" ({f.error_count} in a row)" if f.error_count > 1 else ""))
    parts.append(f"next poll {when(f.next_poll_at, ctx.now)}")
    origin = " [config]" if f.source == "config" else ""
    return f"{name}{origin}\n   " + " · ".join(parts)


async def feeds_list(ctx: Ctx) -> Reply:
    follows = await ctx.storage.feed_follows(ctx.tenant)
    if not follows:
        return Reply("This workspace follows no feeds yet. Add one with /news feeds add URL.")
    failing = sum(1 for f in follows if f.error_count)
    lines = [f"• {health(f, ctx)}" for f in follows[:30]]
    if len(follows) > 30:
        lines.append(f"… and {len(follows) - 30} more")
    head = f"{len(follows)} feed(s)" + (f", {failing} failing" if failing else "") + ":"
    return Reply("\n".join([head, *lines]))
