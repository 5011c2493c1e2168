"""The unit of work "poll one feed".

fetch -> parse -> dedup -> match -> summarise -> route -> outbox.

I/O (fetch, storage) happens here at the edges; every step in between is a pure function from
bot/pipeline. Idempotent: the feed's state, seen articles and outbox rows are written in one
transaction, so a crash or a second worker never double-posts. Free of any scheduler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Protocol

from bot.domain.article import Article, FetchResult
from bot.domain.errors import FeedError, FetchError, StorageError
from bot.domain.story import StoryPlacement
from bot.jobs.compile import compile_off_loop
from bot.jobs.parse_workers import parse_feed_async
from bot.jobs.stories import place_stories, story_lock, with_stories
from bot.pipeline.alerts import (
    SUMMARY_CHARS,
    SUMMARY_SENTENCES,
    PlannedAlert,
    PollPlan,
    cap_poll,
    plan_alerts,
)
from bot.pipeline.keys import to_articles
from bot.storage import (
    FeedRow,
    Follow,
    NewDelivery,
    PollerStorage,
    PollRecord,
    is_transient,
)

log = logging.getLogger(__name__)

__all__ = ["SUMMARY_CHARS", "SUMMARY_SENTENCES", "FeedFetcher", "PollOutcome", "Poller"]

MAX_BACKOFF = timedelta(hours=6)
BUSY_RETRY = timedelta(minutes=1)  # a poll whose write met a locked database: soon, no backoff
MAX_ENTRIES_PER_POLL = 1000  # new articles stored by one poll; the rest wait for the next
MAX_ALERTS_PER_POLL = 200  # alerts one poll queues (about: a poll always stores one article)


class FeedFetcher(Protocol):
    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    untrusted: bool = False) -> FetchResult: ...


@dataclass(frozen=True, slots=True)
class PollOutcome:
    feed_url: str
    ok: bool
    new_articles: int = 0
    alerts: int = 0
    error: str | None = None
    not_modified: bool = False
    deferred: int = 0  # new entries over the per-poll caps, left for the next poll


def next_poll_after_failure(feed: FeedRow, now: datetime, error: FeedError) -> datetime:
    """Exponential backoff from the feed's interval, capped; a longer Retry-After wins."""
    backoff = timedelta(minutes=feed.interval_minutes) * (2 ** min(feed.error_count + 1, 10))
    wait = min(backoff, MAX_BACKOFF)
    if isinstance(error, FetchError) and error.retry_after:
        wait = max(wait, timedelta(seconds=min(error.retry_after, 86400)))
    return now + wait


def newest(articles: Sequence[Article], n: int) -> list[Article]:
    """The ``n`` newest articles: by published date where known, else as the feed lists them."""
    if n <= 0:
        return []
    oldest = datetime.min.replace(tzinfo=UTC)
    ranked = sorted(enumerate(articles), key=lambda p: (p[1].published or oldest, -p[0]),
                    reverse=True)
    return [a for _, a in ranked[:n]]


class Poller:
    def __init__(self, storage: PollerStorage, fetcher: FeedFetcher, *,
                 max_entries: int = MAX_ENTRIES_PER_POLL,
                 max_alerts: int = MAX_ALERTS_PER_POLL) -> None:
        self.storage = storage
        self.fetcher = fetcher
        self.max_entries = max_entries
        self.max_alerts = max_alerts

    async def poll(self, feed: FeedRow, now: datetime) -> PollOutcome:
        """Poll one leased feed. Never raises for a bad feed: the failure is recorded instead."""
        try:
            return await self._poll(feed, now)
        except FeedError as exc:
            return await self._failed(feed, now, exc)
        except StorageError as exc:
            if is_transient(exc):
                return await self._busy(feed, now, exc)
            log.exception("feed %s: storage error", feed.url, extra={"feed": feed.id})
            return await self._failed(feed, now, FeedError(f"storage error: {exc}"))
        except Exception as exc:  # a bug on one feed must not stop the others
            log.exception("feed %s: unexpected error", feed.url, extra={"feed": feed.id})
            return await self._failed(feed, now, FeedError(f"internal error: {exc!r}"))

    async def _failed(self, feed: FeedRow, now: datetime, exc: FeedError) -> PollOutcome:
        retry = next_poll_after_failure(feed, now, exc)
        log.warning("feed %s failed (%s: %s); next try %s", feed.url,
                    exc.__class__.__name__, exc, retry.isoformat(timespec="seconds"),
                    extra={"feed": feed.id})
        await self.storage.record_failure(feed.id, now, f"{exc.__class__.__name__}: {exc}", retry)
        return PollOutcome(feed.url, False, error=str(exc))

    async def _busy(self, feed: FeedRow, now: datetime, exc: StorageError) -> PollOutcome:
        """The database stayed locked through the retries: poll again soon, not a backoff."""
        log.warning("feed %s: database busy (%s); next try in %s", feed.url, exc, BUSY_RETRY,
                    extra={"feed": feed.id})
        try:
            await self.storage.postpone_poll(feed.id, now + BUSY_RETRY)
        except StorageError as again:  # the lease expires by itself; the feed is retried then
            log.warning("feed %s: could not postpone: %s", feed.url, again, extra={"feed": feed.id})
        return PollOutcome(feed.url, False, error=f"database busy: {exc}")

    async def _poll(self, feed: FeedRow, now: datetime) -> PollOutcome:
        fetched = await self.fetcher.fetch(feed.url, etag=feed.etag,
                                           last_modified=feed.last_modified,
                                           untrusted=not feed.trusted)
        if fetched.not_modified:
            await self._record(feed, now, fetched, PollPlan((), (), 0), (), None)
            return PollOutcome(feed.url, True, not_modified=True)
        parsed = await parse_feed_async(fetched.body, url=fetched.url,
                                        content_type=fetched.content_type)
        articles = await asyncio.to_thread(to_articles, feed.url, parsed.entries)
        known = await self.storage.known_keys(feed.id, [a.key for a in articles])
        new = [a for a in articles if a.key not in known]
        fresh = newest(new, self.max_entries) if len(new) > self.max_entries else new
        # issue 12: one story, one alert. Polls place and store their articles one at a time,
        # so two outlets polled together see each other's report
        async with story_lock(self.storage):
            fresh, stories = await place_stories(self.storage, fresh, now)
            articles = with_stories(articles, fresh)  # (a new follow's backfill reads these)
            follows = await self.storage.follows_of(feed.id)
            planned: list[PlannedAlert] = []
            default_title = feed.title or parsed.title or feed.url
            for follow in follows:
                candidates = fresh if follow.primed else newest(articles, follow.backfill)
                planned += await self._alerts_for(follow, follow.title or default_title,
                                                  candidates, now, backfill=not follow.primed)
            plan = cap_poll(fresh, planned, self.max_alerts)
            deferred = len(new) - len(plan.articles)
            # a new follow is primed once the document has been taken whole: the entries a capped
            # first poll left over are old news to it, not alerts for the next poll
            primed = [] if deferred else [f.id for f in follows if not f.primed]
            created = await self._record(feed, now, fetched, plan, primed, parsed.title, deferred,
                                         stories)
        if plan.articles or created:
            log.info("feed %s: %d new article(s), %d alert(s)", feed.url, len(plan.articles),
                     created, extra={"feed": feed.id})
        return PollOutcome(feed.url, True, new_articles=len(plan.articles), alerts=created,
                           deferred=deferred)

    async def _alerts_for(self, follow: Follow, title: str, candidates: Sequence[Article],
                          now: datetime, *, backfill: bool) -> tuple[PlannedAlert, ...]:
        if not candidates:
            return ()
        watchlist = await self.storage.watchlist(follow.tenant)
        destinations = await self.storage.destinations(follow.tenant)
        if not destinations or not (watchlist.companies or watchlist.topics):
            return ()
        matcher = await compile_off_loop(watchlist)
        # matching and summarising a big poll is CPU work: off the event loop
        return await asyncio.to_thread(  # (now: the channel controls, e.g. max_age)
            partial(plan_alerts, matcher, destinations, title, candidates, now, backfill=backfill))

    def _cap_note(self, feed: FeedRow, stored: int, deferred: int) -> str:
        note = (f"poll capped: {stored} new entries stored, {deferred} left for the next "
                f"poll(s) (limits per poll: {self.max_entries} entries, {self.max_alerts} alerts)")
        log.warning("feed %s: %s", feed.url, note, extra={"feed": feed.id})
        return note

    async def _record(self, feed: FeedRow, now: datetime, fetched: FetchResult, plan: PollPlan,
                      primed: Sequence[int], feed_title: str | None, deferred: int = 0,
                      stories: tuple[StoryPlacement, ...] = ()) -> int:
        deliveries = tuple(NewDelivery(p.destination_id, p.article_key, p.alert, p.filtered)
                           for p in plan.alerts)
        if deferred:  # no validators: the next poll must get the whole document again
            etag = last_modified = None
        elif fetched.not_modified:
            etag, last_modified = (fetched.etag or feed.etag,
                                   fetched.last_modified or feed.last_modified)
        else:
            etag, last_modified = fetched.etag, fetched.last_modified
        return await self.storage.record_poll(PollRecord(
            feed_id=feed.id, now=now,
            next_poll_at=now + timedelta(minutes=feed.interval_minutes),
            etag=etag, last_modified=last_modified, articles=plan.articles,
            deliveries=deliveries, primed_follows=tuple(primed), feed_title=feed_title,
            note=self._cap_note(feed, len(plan.articles), deferred) if deferred else None,
            stories=stories))
