"""The unit of work "poll a batch of feeds" (one feed is a batch of one).

fetch + parse (per feed, concurrently) -> known keys and follows (one query each for the batch)
-> dedup -> match -> summarise -> route with the channels' controls (pure, ``plan_poll``, one
worker thread for the batch) -> stories (issue 12: each new article that alerts someone placed in
a story, ``bot/jobs/stories.py``; its alerts take the story's key) -> outbox (articles, story
signatures, outbox rows and feed state of the batch in a few transactions).

I/O (fetch, storage) happens here at the batch's edges; every step in between is a pure function
from bot/pipeline. Idempotent: a feed's seen articles and their outbox rows are written in the
same transaction, so a crash or a second worker never double-posts. Free of any scheduler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Protocol, TypeVar

from bot.domain.alert import Destination
from bot.domain.article import Article, FetchResult
from bot.domain.errors import FeedError, FetchError, StorageError
from bot.domain.story import StoryPlacement
from bot.jobs.compile import compile_off_loop
from bot.jobs.parse_workers import parse_articles_async
from bot.jobs.stories import place_stories, story_lock
from bot.pipeline.alerts import (
    SUMMARY_CHARS,
    SUMMARY_SENTENCES,
    PlannedAlert,
    PollPlan,
    cap_poll,
    plan_alerts,
)
from bot.pipeline.match import Matcher
from bot.storage import (
    FeedRow,
    Follow,
    NewDelivery,
    PollerStorage,
    PollRecord,
    is_transient,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = ["SUMMARY_CHARS", "SUMMARY_SENTENCES", "FeedFetcher", "Fetched", "PollOutcome",
           "Poller"]

MAX_BACKOFF = timedelta(hours=6)
BUSY_RETRY = timedelta(minutes=1)  # a poll whose write met a locked database: soon, no backoff
MAX_ENTRIES_PER_POLL = 1000  # new articles stored by one poll; the rest wait for the next
MAX_ALERTS_PER_POLL = 200  # alerts one poll queues (about: a poll always stores one article)
CONCURRENCY = 8  # fetches in flight at once


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


@dataclass(frozen=True, slots=True)
class Fetched:
    """One feed fetched (and parsed unless 304), waiting to be stored with its batch."""

    feed: FeedRow
    result: FetchResult
    title: str | None = None  # the document's own title
    articles: tuple[Article, ...] = ()


@dataclass(frozen=True, slots=True)
class Audience:
    """A tenant's compiled watchlist and active destinations, as one batch plans with them."""

    matcher: Matcher
    destinations: tuple[Destination, ...]


@dataclass(frozen=True, slots=True)
class Planned:
    """What one poll stores: ``plan_poll``'s answer."""

    plan: PollPlan
    primed: tuple[int, ...]  # follows primed by this poll
    new: int  # new entries, stored or deferred


def _alerted(plan: PollPlan) -> list[Article]:
    """The new articles of a plan that some planned alert is about, in the plan's order."""
    keys = {p.article_key for p in plan.alerts}
    return [a for a in plan.articles if a.key in keys]


def with_placed(planned: Planned, placed: Sequence[Article]) -> Planned:
    """``planned`` with the story keys of its ``placed`` articles, on the articles and on
    their alerts (an alert of an article that joined a story is that story's)."""
    story = {a.key: a.story for a in placed}
    plan = planned.plan
    articles = tuple(replace(a, story=story[a.key]) if story.get(a.key, a.story) != a.story
                     else a for a in plan.articles)
    alerts = tuple(replace(p, alert=replace(p.alert, story=story[p.article_key]))
                   if story.get(p.article_key, p.alert.story) != p.alert.story else p
                   for p in plan.alerts)
    return replace(planned, plan=replace(plan, articles=articles, alerts=alerts))


def newest(articles: Sequence[Article], n: int) -> list[Article]:
    """The ``n`` newest articles: by published date where known, else as the feed lists them."""
    if n <= 0:
        return []
    oldest = datetime.min.replace(tzinfo=UTC)
    ranked = sorted(enumerate(articles), key=lambda p: (p[1].published or oldest, -p[0]),
                    reverse=True)
    return [a for _, a in ranked[:n]]


def fresh_articles(fetched: Fetched, known: set[str], max_entries: int
                   ) -> tuple[list[Article], list[Article]]:
    """A fetched feed's new articles (not in ``known``), and the ones this poll takes: all of
    them, or the ``max_entries`` newest."""
    new = [a for a in fetched.articles if a.key not in known]
    return new, newest(new, max_entries) if len(new) > max_entries else new


def plan_poll(fetched: Fetched, known: set[str], follows: Sequence[Follow],
              audiences: Mapping[str, Audience], max_entries: int, max_alerts: int,
              now: datetime | None = None) -> Planned:
    """Dedup -> match -> summarise -> route (with each channel's controls at ``now``) -> caps
    for one fetched feed. Pure (CPU only)."""
    feed, articles = fetched.feed, fetched.articles
    new, fresh = fresh_articles(fetched, known, max_entries)
    planned: list[PlannedAlert] = []
    default_title = feed.title or fetched.title or feed.url
    for follow in follows:
        audience = audiences.get(follow.tenant)
        candidates = fresh if follow.primed else newest(articles, follow.backfill)
        if audience is not None and candidates:
            planned += plan_alerts(audience.matcher, audience.destinations,
                                   follow.title or default_title, candidates, now,
                                   backfill=not follow.primed)
    plan = cap_poll(fresh, planned, max_alerts)
    # a new follow is primed once the document has been taken whole: the entries a capped
    # first poll left over are old news to it, not alerts for the next poll
    deferred = len(new) - len(plan.articles)
    primed = () if deferred else tuple(f.id for f in follows if not f.primed)
    return Planned(plan, primed, len(new))


class Poller:
    def __init__(self, storage: PollerStorage, fetcher: FeedFetcher, *,
                 max_entries: int = MAX_ENTRIES_PER_POLL,
                 max_alerts: int = MAX_ALERTS_PER_POLL, concurrency: int = CONCURRENCY) -> None:
        self.storage = storage
        self.fetcher = fetcher
        self.max_entries = max_entries
        self.max_alerts = max_alerts
        self.concurrency = concurrency

    async def poll(self, feed: FeedRow, now: datetime) -> PollOutcome:
        """Poll one leased feed. Never raises for a bad feed: the failure is recorded instead."""
        return (await self.poll_many([feed], now))[0]

    async def poll_many(self, feeds: Sequence[FeedRow], now: datetime) -> list[PollOutcome]:
        """Poll leased feeds as one batch; one outcome per feed, in order."""
        return await self.store_many(await self.fetch_many(feeds, now), now)

    async def fetch_many(self, feeds: Sequence[FeedRow], now: datetime
                         ) -> list[Fetched | PollOutcome]:
        """Fetch (``concurrency`` at a time) and parse each feed; a failure is recorded at once
        and comes back as its outcome."""
        gate = asyncio.Semaphore(self.concurrency)

        async def one(feed: FeedRow) -> Fetched | PollOutcome:
            return await self._guarded(feed, now, lambda: self._fetch(feed, gate))
        return list(await asyncio.gather(*(one(f) for f in feeds)))

    async def _fetch(self, feed: FeedRow, gate: asyncio.Semaphore) -> Fetched:
        async with gate:
            fetched = await self.fetcher.fetch(feed.url, etag=feed.etag,
                                               last_modified=feed.last_modified,
                                               untrusted=not feed.trusted)
        if fetched.not_modified:
            return Fetched(feed, fetched)
        title, articles = await parse_articles_async(
            fetched.body, feed_url=feed.url, url=fetched.url, content_type=fetched.content_type)
        return Fetched(feed, fetched, title, articles)

    async def store_many(self, items: Sequence[Fetched | PollOutcome], now: datetime
                         ) -> list[PollOutcome]:
        """Dedup, plan and store the fetched feeds of a batch together (``now``: when they are
        recorded as polled). If the batch cannot be stored as one, each feed is stored alone,
        so one feed's storage error stays that feed's."""
        todo = [x for x in items if isinstance(x, Fetched)]
        done: list[PollOutcome] | None = None
        if len(todo) > 1:
            try:
                done = await self._store(todo, now)
            except Exception as exc:  # one bad feed must not fail the batch: feed by feed
                log.warning("storing %d polls together failed (%s: %s); storing them one by "
                            "one", len(todo), exc.__class__.__name__, exc)
        if done is None:
            done = [await self._guarded(f.feed, now, partial(self._store_one, f, now))
                    for f in todo]
        stored = iter(done)
        return [next(stored) if isinstance(x, Fetched) else x for x in items]

    async def _store_one(self, fetched: Fetched, now: datetime) -> PollOutcome:
        return (await self._store([fetched], now))[0]

    async def _guarded(self, feed: FeedRow, now: datetime,
                       step: Callable[[], Awaitable[T]]) -> T | PollOutcome:
        """``step()``; a failure is recorded for the feed (backoff) and becomes its outcome."""
        try:
            return await step()
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
        try:
            await self.storage.record_failure(feed.id, now, f"{exc.__class__.__name__}: {exc}",
                                              retry)
        except StorageError as again:  # e.g. locked: the lease expires and the feed is retried
            log.warning("feed %s: could not record the failure: %s", feed.url, again,
                        extra={"feed": feed.id})
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

    async def _store(self, batch: Sequence[Fetched], now: datetime) -> list[PollOutcome]:
        changed = [f for f in batch if not f.result.not_modified]
        known: dict[int, set[str]] = {}
        follows: dict[int, list[Follow]] = {}
        if changed:
            known = await self.storage.known_keys_of(
                {f.feed.id: [a.key for a in f.articles] for f in changed})
            follows = await self.storage.follows_of_feeds([f.feed.id for f in changed])
        audiences = await self._audiences({w.tenant for fs in follows.values() for w in fs})

        def plan_all() -> list[Planned]:  # matching and summarising is CPU work: off the loop
            return [plan_poll(f, known[f.feed.id], follows[f.feed.id], audiences,
                              self.max_entries, self.max_alerts, now) for f in changed]
        plans = dict(zip((f.feed.id for f in changed),
                         await asyncio.to_thread(plan_all) if changed else [], strict=True))
        unchanged = Planned(PollPlan((), (), 0), (), 0)
        # issue 12: one story, one alert. A batch places its alerted articles and stores them
        # under one lock, so reports of one story in this batch or a concurrent one make one
        # story
        async with story_lock(self.storage):
            plans, stories = await self._place(plans, now)
            records = [self._record(f, now, plans.get(f.feed.id, unchanged),
                                    stories.get(f.feed.id, ())) for f in batch]
            created = await self.storage.record_polls(records)
        outcomes = []
        for f, rec, alerts in zip(batch, records, created, strict=True):
            planned = plans.get(f.feed.id, unchanged)
            if rec.articles or alerts:
                log.info("feed %s: %d new article(s), %d alert(s)", f.feed.url,
                         len(rec.articles), alerts, extra={"feed": f.feed.id})
            outcomes.append(PollOutcome(f.feed.url, True, new_articles=len(rec.articles),
                                        alerts=alerts, not_modified=f.result.not_modified,
                                        deferred=planned.new - len(rec.articles)))
        return outcomes

    async def _place(self, plans: Mapping[int, Planned], now: datetime
                     ) -> tuple[dict[int, Planned], dict[int, tuple[StoryPlacement, ...]]]:
        """Place in stories the new articles the batch's plans alert someone about (one storage
        lookup for the batch): each plan with those articles and their alerts carrying their
        story keys, and each feed's placements (stored with its poll).

        An article that alerts nobody needs no story: stories are there to join alerts, and
        the first later report that does alert someone starts the story (its first alert).
        Signing every new article made a cycle with changes 6x slower."""
        alerted = {fid: _alerted(p.plan) for fid, p in plans.items()}
        placed, placements = await place_stories(
            self.storage, [a for arts in alerted.values() for a in arts], now)
        out: dict[int, Planned] = {}
        stories: dict[int, tuple[StoryPlacement, ...]] = {}
        at = 0
        for fid, planned in plans.items():
            n = len(alerted[fid])
            mine, stories[fid] = placed[at:at + n], placements[at:at + n]
            at += n
            out[fid] = with_placed(planned, mine) if n else planned
        return out, stories

    async def _audiences(self, tenants: set[str]) -> dict[str, Audience]:
        """Each tenant's compiled watchlist and destinations, once per batch (the watchlist
        and its matcher come from the caches keyed by the tenant's watch revision)."""
        out: dict[str, Audience] = {}
        for tenant in sorted(tenants):
            destinations = await self.storage.destinations(tenant)
            if not destinations:
                continue
            watchlist = await self.storage.watchlist(tenant)
            if watchlist.companies or watchlist.topics:
                out[tenant] = Audience(await compile_off_loop(watchlist), destinations)
        return out

    def _cap_note(self, feed: FeedRow, stored: int, deferred: int) -> str:
        note = (f"poll capped: {stored} new entries stored, {deferred} left for the next "
                f"poll(s) (limits per poll: {self.max_entries} entries, {self.max_alerts} alerts)")
        log.warning("feed %s: %s", feed.url, note, extra={"feed": feed.id})
        return note

    def _record(self, fetched: Fetched, now: datetime, planned: Planned,
                stories: tuple[StoryPlacement, ...] = ()) -> PollRecord:
        feed, result, plan = fetched.feed, fetched.result, planned.plan
        deferred = planned.new - len(plan.articles)
        deliveries = tuple(NewDelivery(p.destination_id, p.article_key, p.alert, p.filtered)
                           for p in plan.alerts)
        if deferred:  # no validators: the next poll must get the whole document again
            etag = last_modified = None
        elif result.not_modified:
            etag, last_modified = (result.etag or feed.etag,
                                   result.last_modified or feed.last_modified)
        else:
            etag, last_modified = result.etag, result.last_modified
        return PollRecord(
            feed_id=feed.id, now=now,
            next_poll_at=now + timedelta(minutes=feed.interval_minutes),
            etag=etag, last_modified=last_modified, articles=plan.articles,
            deliveries=deliveries, primed_follows=planned.primed, feed_title=fetched.title,
            note=self._cap_note(feed, len(plan.articles), deferred) if deferred else None,
            stories=stories)
