"""`why URL`: was that article seen, did it match, did it route here, was it delivered — or why not.

Matching is re-run with the watchlist as it is now (the reply says so when that differs from what
the stored alert recorded); delivery facts come from the outbox row.
"""

from __future__ import annotations

from bot.chat.base import Ctx, short, when
from bot.chat.parsed import Why
from bot.chat.preview import (
    explain_evidence,
    explain_match,
    explain_route,
    find_stored,
    judge_off_loop,
)
from bot.chat.subscriptions import channel
from bot.chat.types import Reply
from bot.domain.alert import Destination
from bot.storage.records import DeliveryState, DestinationStatus, StoredArticle


def _seen(stored: list[StoredArticle], ctx: Ctx) -> str:
    first = stored[0]
    feeds = list(dict.fromkeys(s.feed_title for s in stored))
    also = f" (also in {', '.join(feeds[1:3])})" if len(feeds) > 1 else ""
    title = short(first.article.title or "(untitled)", 80)
    return f"Seen {when(first.seen_at, ctx.now)} in {feeds[0]}{also}: {title}."


def _delivery(info: DeliveryState, ctx: Ctx, status: DestinationStatus) -> str:
    under = f" under {', '.join(info.alert.reasons)}" if info.alert.reasons else ""
    if info.status == "sent":
        mid = f", message id {info.message_id}" if info.message_id else ""
        return f"Delivered here{under} {when(info.sent_at, ctx.now)}{mid}."
    if info.status == "rejected":
        return (f"Queued here{under} but rejected by the platform: "
                f"{info.last_error or 'no reason recorded'}.")
    if info.status == "filtered":
        return f"Kept back here{under} by this channel's controls: {info.last_error}."
    if info.status == "held":
        return f"Queued here{under}, waiting ({info.last_error})."
    if info.status == "digested":
        return f"Queued here{under} and {info.last_error}."
    if info.status == "expired":
        return f"Queued here{under} {when(info.created_at, ctx.now)} but {info.last_error}."
    if not status.active:
        return (f"Queued here{under}, held: alerts to this channel are stopped "
                f"({status.stopped_reason or 'no reason recorded'}); it is posted when an admin "
                "runs /news resume here once the cause is fixed.")
    if status.waiting_reason:
        return (f"Queued here{under}, held: alerts to this channel are "
                f"{status.waiting_reason}.")
    error = f"; last error: {info.last_error}" if info.last_error else ""
    return (f"Queued here{under}, not delivered yet: {info.attempts} attempt(s), next "
            f"{when(info.next_attempt_at, ctx.now)}{error}.")


def _no_delivery(routed: bool, others: int) -> str:
    elsewhere = f" It went to {others} other channel(s) of this workspace." if others else ""
    if routed:
        return ("Nothing was queued for this channel: it was seen before this channel subscribed "
                "to it, before the watchlist covered it, or on the feed's first poll (which only "
                "posts its backfill)." + elsewhere)
    return "Nothing was queued for this channel." + elsewhere


async def why(ctx: Ctx, cmd: Why) -> Reply:
    stored = await find_stored(ctx, cmd.url)
    if not stored:
        follows = await ctx.storage.count_follows(ctx.tenant)
        return Reply(f"Not seen: no article with that URL came from the {follows} feed(s) this "
                     "workspace follows (it may be in a feed not followed here, or older than "
                     "the feed's first poll).")
    lines = [_seen(stored, ctx)]
    watchlist = await ctx.storage.watchlist(ctx.tenant)
    dest = await channel(ctx)
    first = stored[0]
    verdict = await judge_off_loop(first.article, first.feed_title, watchlist, dest)
    if verdict.alert is None:
        lines.append(f"It mentions none of the {len(watchlist.companies)} companies and "
                     f"{len(watchlist.topics)} topics watched here now.")
    else:
        lines.append(f"It matches {explain_match(verdict.result)}.")
    lines.append(explain_evidence(verdict.readings))
    if verdict.alert is not None:
        lines.append(explain_route(verdict, dest))
    lines.append(await _delivery_line(ctx, first.article.story, dest, bool(verdict.reasons)))
    lines.append(await _story(ctx, first, dest))
    return Reply("\n".join(line for line in lines if line))


async def _story(ctx: Ctx, stored: StoredArticle, dest: Destination) -> str:
    """Issue 12: the story it joined, and why (a follow-up, not an alert of its own), and what
    became of its follow-up here."""
    placed = await ctx.storage.story_placement(stored.row_id)
    if placed is None or placed[0] is None:  # the first report of its story: nothing to add
        return ""
    joined, reason = placed
    rows = await ctx.storage.delivery_states(
        tenant=ctx.tenant, story=f"{stored.article.story} + {stored.article.key}")
    here = [r for r in rows if r.address == dest.address]
    followup = (" Its follow-up: " + _delivery(
        here[0], ctx, await ctx.storage.destination_status(dest.id))) if here else ""
    return (f"Story: joined the story of {short(joined or '', 100)} ({reason}); a report of a "
            "story already alerted is a follow-up (thread reply or edit), not a new alert."
            + followup)


async def _delivery_line(ctx: Ctx, story: str, dest: Destination, routed: bool) -> str:
    rows = await ctx.storage.delivery_states(tenant=ctx.tenant, story=story)
    here = [r for r in rows if r.address == dest.address]
    if here:
        return _delivery(here[0], ctx, await ctx.storage.destination_status(dest.id))
    return _no_delivery(routed, len({r.address for r in rows}))
