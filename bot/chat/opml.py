"""Admin: `feeds import` — follow the feeds of an uploaded OPML file, each vetted like `feeds add`.

The file is the user's upload (a Discord attachment, a Slack file the adapter resolved): it is
downloaded through the address guard with a size cap (``Download``), parsed by the same safe
OPML reader as ``newsbot feeds import`` (no entities, nested outlines flattened), and every feed
URL in it is untrusted: syntax and DNS vetted (the injected vetter), then followed with the
default interval, its title kept, audited as ``feed.import``. Feeds already followed, duplicates,
invalid or refused URLs and those past the tenant's feed limit are reported, not followed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from bot.chat.base import Ctx, bullet, short
from bot.chat.parsed import FeedImport
from bot.chat.types import Reply
from bot.config.opml import parse_opml
from bot.domain.article import FeedSource
from bot.domain.errors import CommandError, ConfigError, FetchError, UnsafeURL
from bot.net.netguard import check_url_syntax

MAX_OPML_BYTES = 1024 * 1024
VET_AT_ONCE = 8  # DNS look-ups in flight while vetting a file's URLs

Download = Callable[[str, int, Sequence[tuple[str, str]]], Awaitable[bytes]]

HOW = ("Attach the OPML file: on Discord, /news-admin feeds import with the file; on Slack, "
       "upload the file to a channel, copy its link (More actions > Copy link) and run "
       "/news feeds import LINK.")


async def _vet(ctx: Ctx, feeds: Sequence[FeedSource]) -> list[str | None]:
    """Per feed: None when its URL passed the vetter, else the reason it was refused."""
    slots = asyncio.Semaphore(VET_AT_ONCE)

    async def one(feed: FeedSource) -> str | None:
        async with slots:
            try:
                await ctx.vetter(check_url_syntax(feed.url))
            except UnsafeURL as exc:
                return str(exc)
            return None

    return list(await asyncio.gather(*(one(f) for f in feeds)))


async def feeds_import(ctx: Ctx, cmd: FeedImport, download: Download) -> Reply:
    file = ctx.inv.attachment
    if file is None:
        lead = (f"Could not open {short(cmd.link, 80)} as a Slack file. " if cmd.link else "")
        raise CommandError(lead + HOW)
    if file.size is not None and file.size > MAX_OPML_BYTES:
        raise CommandError(f"{short(file.name)} is {file.size:,} bytes; an OPML file may have "
                           f"at most {MAX_OPML_BYTES:,}.")
    try:
        data = await download(file.url, MAX_OPML_BYTES, file.headers)
    except FetchError as exc:  # too large, unsafe address, timeout, HTTP error
        raise CommandError(f"Could not read {short(file.name)}: {exc}") from None
    known = [f.url for f in await ctx.storage.feed_follows(ctx.tenant)]
    try:
        parsed = parse_opml(data, known)
    except ConfigError as exc:
        raise CommandError(f"{short(file.name)} is not a usable OPML file: {exc}") from None
    problems = list(parsed.problems)
    room = ctx.limits.max_feeds - len(known)
    verdicts = await _vet(ctx, parsed.feeds[:max(room, 0)])
    added: list[str] = []
    for i, feed in enumerate(parsed.feeds):
        if i >= room:
            problems.append(f"{feed.url}: over this workspace's limit of "
                            f"{ctx.limits.max_feeds} feeds")
        elif verdicts[i]:
            problems.append(f"{feed.url}: {verdicts[i]}")
        else:
            await _follow(ctx, feed)
            added.append(feed.title or feed.url)
    return Reply(_summary(file.name, added, problems, ctx.limits.default_interval))


async def _follow(ctx: Ctx, feed: FeedSource) -> None:
    source = FeedSource(feed.url, interval_minutes=ctx.limits.default_interval)
    feed_id = await ctx.storage.ensure_feed(source, ctx.now)
    await ctx.storage.follow(ctx.tenant, feed_id, title=feed.title, backfill=0, source="chat",
                             now=ctx.now)
    after = (await ctx.storage.feed_follows(ctx.tenant, feed.url))[0]
    await ctx.storage.audit(ctx.tenant, ctx.inv.user, "feed.import", feed.url, before=None,
                            after=after.to_dict(), now=ctx.now)


def _summary(name: str, added: list[str], problems: list[str], minutes: int) -> str:
    lines = [f"{short(name)}: now following {len(added)} new feed(s)"
             + (f", polled every {minutes} min." if added else ".")]
    if added:
        lines.append(bullet(added, 15))
    if problems:
        lines.append(f"Not followed ({len(problems)}):")
        lines.append(bullet(problems, 15))
    return "\n".join(lines)
