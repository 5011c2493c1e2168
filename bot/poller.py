"""The unit of work "poll one feed".

fetch -> parse -> dedup -> match -> summarise -> route -> outbox.

I/O (fetch, storage) happens here at the edges; every step in between is a pure function from
bot/pipeline. Idempotent: the feed's state, seen articles and outbox rows are written in one
transaction, so a crash or a second worker never double-posts. Free of any scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from .errors import FeedError, FetchError
from .models import Article, Destination, FetchResult, Watchlist
from .pipeline.dedup import to_articles
from .pipeline.match import compile_watchlist
from .pipeline.parse import parse_feed_async
from .pipeline.route import build_alert, route
from .pipeline.summarise import summarise
from .storage import FeedRow, Follow, NewDelivery, PollRecord, Storage

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
SUMMARY_SENTENCES = 3
SUMMARY_CHARS = 600


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
    def __init__(self, storage: Storage, fetcher: FeedFetcher) -> None:
        self.storage = storage
        self.fetcher = fetcher

    async def poll(self, feed: FeedRow, now: datetime) -> PollOutcome:
        """Poll one leased feed. Never raises for a bad feed: the failure is recorded instead."""
        try:
            return await self._poll(feed, now)
        except FeedError as exc:
            return await self._failed(feed, now, exc)
        except Exception as exc:  # noqa: BLE001 - a bug on one feed must not stop the others
            log.exception("feed %s: unexpected error", feed.url)
            return await self._failed(feed, now, FeedError(f"internal error: {exc!r}"))

    async def _failed(self, feed: FeedRow, now: datetime, exc: FeedError) -> PollOutcome:
        retry = next_poll_after_failure(feed, now, exc)
        log.warning("feed %s failed (%s: %s); next try %s", feed.url,
                    exc.__class__.__name__, exc, retry.isoformat(timespec="seconds"))
        await self.storage.record_failure(feed.id, now, f"{exc.__class__.__name__}: {exc}", retry)
        return PollOutcome(feed.url, False, error=str(exc))

    async def _poll(self, feed: FeedRow, now: datetime) -> PollOutcome:
        fetched = await self.fetcher.fetch(feed.url, etag=feed.etag,
                                           last_modified=feed.last_modified,
                                           untrusted=not feed.trusted)
        if fetched.not_modified:
            await self._record(feed, now, fetched, (), (), (), None)
            return PollOutcome(feed.url, True, not_modified=True)
        parsed = await parse_feed_async(fetched.body, url=fetched.url,
                                        content_type=fetched.content_type)
        articles = to_articles(feed.url, parsed.entries)
        known = await self.storage.known_keys(feed.id, [a.key for a in articles])
        fresh = [a for a in articles if a.key not in known]
        follows = await self.storage.follows_of(feed.id)
        deliveries: list[NewDelivery] = []
        default_title = feed.title or parsed.title or feed.url
        for follow in follows:
            candidates = fresh if follow.primed else newest(articles, follow.backfill)
            deliveries += await self._alerts_for(follow, follow.title or default_title,
                                                 candidates)
        created = await self._record(feed, now, fetched, fresh, deliveries,
                                     [f.id for f in follows if not f.primed], parsed.title)
        if fresh or created:
            log.info("feed %s: %d new article(s), %d alert(s)", feed.url, len(fresh), created)
        return PollOutcome(feed.url, True, new_articles=len(fresh), alerts=created)

    async def _alerts_for(self, follow: Follow, title: str, candidates: Sequence[Article]
                          ) -> list[NewDelivery]:
        if not candidates:
            return []
        watchlist: Watchlist = await self.storage.watchlist(follow.tenant)
        destinations: Sequence[Destination] = await self.storage.destinations(follow.tenant)
        if not destinations or not (watchlist.companies or watchlist.topics):
            return []
        matcher = compile_watchlist(watchlist)
        out: list[NewDelivery] = []
        for article in candidates:
            result = matcher.match(article.title, article.text)
            routes = route(result, destinations)
            if not routes:
                continue
            summary = summarise(article.title, article.text, matches=result.matches,
                                max_sentences=SUMMARY_SENTENCES, max_chars=SUMMARY_CHARS,
                                lang=article.lang)
            out += [NewDelivery(dest.id, article.key,
                                build_alert(article, title, result, summary, dest, reasons))
                    for dest, reasons in routes]
        return out

    async def _record(self, feed: FeedRow, now: datetime, fetched: FetchResult,
                      fresh: Sequence[Article], deliveries: Sequence[NewDelivery],
                      primed: Sequence[int], feed_title: str | None) -> int:
        return await self.storage.record_poll(PollRecord(
            feed_id=feed.id, now=now,
            next_poll_at=now + timedelta(minutes=feed.interval_minutes),
            etag=fetched.etag if not fetched.not_modified else (fetched.etag or feed.etag),
            last_modified=fetched.last_modified if not fetched.not_modified
            else (fetched.last_modified or feed.last_modified),
            articles=tuple(fresh), deliveries=tuple(deliveries), primed_follows=tuple(primed),
            feed_title=feed_title))
