"""Feeds (one row per URL, shared by every tenant), follows, seen articles, and the poll record."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import and_, delete, exists, or_, select, update

from bot.domain.article import Article, FeedSource
from bot.domain.errors import StorageError
from bot.storage.records import TRUSTED_SOURCES, FeedRow, Follow, NewDelivery, PollRecord
from bot.storage.sql.base import StoreBase
from bot.storage.sql.stories import store_stories
from bot.storage.sql.tables import articles, deliveries, feeds, follows

log = logging.getLogger(__name__)
T = TypeVar("T")

WRITE_BATCH = 200  # articles (with their outbox rows) per transaction: the write lock is brief
RETRIES = 4  # attempts of a write that met a locked database / a serialization failure
RETRY_DELAY = 0.05  # seconds before the second attempt; doubles each time
_TRANSIENT = ("database is locked", "database table is locked", "could not serialize access",
              "deadlock detected")


def is_transient(exc: StorageError) -> bool:
    """SQLite "database is locked" or a PostgreSQL serialization failure / deadlock: worth
    trying again in a moment (not a reason to back the feed off)."""
    text = str(exc).lower()
    return any(t in text for t in _TRANSIENT)


async def retry_transient(op: Callable[[], Awaitable[T]], *, attempts: int = RETRIES,
                          delay: float = RETRY_DELAY) -> T:
    """Run ``op`` (one whole transaction); on a transient error run it again, a few times,
    with a small growing pause. Other errors, and the last attempt's, propagate."""
    for attempt in range(attempts - 1):
        try:
            return await op()
        except StorageError as exc:
            if not is_transient(exc):
                raise
            log.info("database busy (%s); retry %d of %d", exc, attempt + 1, attempts - 1)
            await asyncio.sleep(delay * 2 ** attempt)
    return await op()


class FeedStore(StoreBase):
    async def ensure_feed(self, source: FeedSource, now: datetime) -> int:
        """The feed's id, creating the row (due now) if this URL is new."""
        async with self.tx() as conn:
            await conn.execute(self.insert_ignore(feeds, "url").values(
                url=source.url, title=source.title, interval_minutes=source.interval_minutes,
                next_poll_at=now, error_count=0, created_at=now))
            row = (await conn.execute(select(feeds.c.id, feeds.c.interval_minutes)
                                      .where(feeds.c.url == source.url))).one()
            if source.interval_minutes < row.interval_minutes:  # the keenest follower decides
                await conn.execute(update(feeds).where(feeds.c.id == row.id)
                                   .values(interval_minutes=source.interval_minutes))
            return int(row.id)

    async def follow(self, tenant: str, feed_id: int, *, title: str, backfill: int, source: str,
                     now: datetime) -> bool:
        async with self.tx() as conn:
            stmt = self.insert_ignore(follows, "tenant_id", "feed_id").values(
                tenant_id=tenant, feed_id=feed_id, title=title, backfill=backfill, primed=False,
                source=source, created_at=now)
            created = (await conn.execute(stmt)).rowcount == 1
            if created:  # a new follower needs the full document once, for its backfill
                await conn.execute(update(feeds).where(feeds.c.id == feed_id).values(
                    etag=None, last_modified=None, next_poll_at=now))
            else:
                await conn.execute(update(follows).where(
                    follows.c.tenant_id == tenant, follows.c.feed_id == feed_id
                ).values(title=title, backfill=backfill))
        return created

    async def unfollow(self, tenant: str, feed_id: int) -> bool:
        async with self.tx() as conn:
            result = await conn.execute(delete(follows).where(
                follows.c.tenant_id == tenant, follows.c.feed_id == feed_id))
        return result.rowcount > 0

    async def unfollow_all_except(self, tenant: str, keep_feed_ids: set[int]) -> None:
        """Remove the tenant's config follows not in ``keep_feed_ids`` (an OPML import's stay)."""
        async with self.tx() as conn:
            await conn.execute(delete(follows).where(
                follows.c.tenant_id == tenant, follows.c.source == "config",
                follows.c.feed_id.not_in(keep_feed_ids)))

    def _feed_row(self, r: Mapping[str, Any], trusted: bool, source: str = "config") -> FeedRow:
        return FeedRow(
            id=int(r["id"]), url=str(r["url"]), title=str(r["title"] or ""),
            interval_minutes=int(r["interval_minutes"]), etag=r["etag"],
            last_modified=r["last_modified"], error_count=int(r["error_count"]), trusted=trusted,
            next_poll_at=r["next_poll_at"], last_success_at=r["last_success_at"],
            last_error=r["last_error"], last_error_at=r["last_error_at"], source=source)

    async def feed_follows(self, tenant: str, url: str | None = None) -> list[FeedRow]:
        """The tenant's follows (of one feed URL if given), with each feed's health."""
        query = (select(feeds, follows.c.title.label("follow_title"), follows.c.source)
                 .join(follows, follows.c.feed_id == feeds.c.id)
                 .where(follows.c.tenant_id == tenant).order_by(feeds.c.id))
        if url is not None:
            query = query.where(feeds.c.url == url)
        async with self.tx() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [self._feed_row({**r, "title": r["follow_title"] or r["title"]},
                               r["source"] in TRUSTED_SOURCES, r["source"]) for r in rows]

    async def claim_due_feeds(self, now: datetime, limit: int, lease: timedelta,
                              owner: str | None = None) -> list[FeedRow]:
        """Lease up to ``limit`` due feeds that someone follows; safe with several workers.
        ``owner``'s heartbeat renews the lease (``renew_leases``) while the poll runs."""
        followed = exists().where(follows.c.feed_id == feeds.c.id)
        untrusted = exists().where(follows.c.feed_id == feeds.c.id,
                                   follows.c.source.not_in(TRUSTED_SOURCES))
        due = and_(feeds.c.next_poll_at <= now, followed,
                   or_(feeds.c.lease_until.is_(None), feeds.c.lease_until < now))
        async with self.tx() as conn:
            claimed = [row.id for row in await self.lease_rows(
                conn, feeds, due, feeds.c.next_poll_at, limit, until=now + lease, owner=owner,
                returning=(feeds.c.id,))]
            if not claimed:
                return []
            rows = (await conn.execute(select(feeds, untrusted.label("untrusted"))
                                       .where(feeds.c.id.in_(claimed))
                                       .order_by(feeds.c.next_poll_at))).mappings().all()
        return [self._feed_row(dict(r), not r["untrusted"]) for r in rows]

    async def follows_of(self, feed_id: int) -> list[Follow]:
        async with self.tx() as conn:
            rows = (await conn.execute(select(follows).where(follows.c.feed_id == feed_id)
                                       .order_by(follows.c.id))).mappings().all()
        return [Follow(r["id"], r["tenant_id"], r["title"], r["backfill"], r["primed"])
                for r in rows]

    async def known_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        async with self.tx() as conn:
            for i in range(0, len(keys), 500):
                chunk = list(keys[i:i + 500])
                found.update((await conn.execute(select(articles.c.key).where(
                    articles.c.feed_id == feed_id, articles.c.key.in_(chunk)))).scalars())
        return found

    async def record_poll(self, rec: PollRecord) -> int:
        """Store seen articles, their outbox rows and the feed's state.

        Articles go in batches of ``WRITE_BATCH``, each in one transaction with its outbox rows
        (so an article is never seen without its alerts); the feed's state goes last. A crash
        in between is safe: stored articles are known next time, the rest are new again.
        Transient lock errors are retried per transaction. Returns the number of deliveries
        created (duplicates per destination+story are skipped).
        """
        first: dict[str, int] = {}
        for i, d in enumerate(rec.deliveries):
            first.setdefault(d.article_key, i)
        # articles with alerts first, in their alerts' order: the outbox keeps that order
        ordered = sorted(rec.articles, key=lambda a: first.get(a.key, len(first)))
        created = 0
        for i in range(0, len(ordered), WRITE_BATCH):
            batch = ordered[i:i + WRITE_BATCH]
            keys = {a.key for a in batch}
            queued = [d for d in rec.deliveries if d.article_key in keys]  # (in their order)
            created += await retry_transient(partial(self._store_batch, rec, batch, queued))
        new = {a.key for a in rec.articles}
        rest = [d for d in rec.deliveries if d.article_key not in new]  # backfill seen before
        return created + await retry_transient(lambda: self._finish_poll(rec, rest))

    async def _store_batch(self, rec: PollRecord, batch: Sequence[Article],
                           queued: Sequence[NewDelivery]) -> int:
        async with self.tx() as conn:
            await conn.execute(self.insert_ignore(articles, "feed_id", "key"), [
                {"feed_id": rec.feed_id, "key": a.key, "story": a.story, "url": a.url,
                 "title": a.title, "text": a.text, "published_at": a.published,
                 "seen_at": rec.now} for a in batch])
            created = await self._queue(conn, rec, queued)
            # issue 12: the batch's story signatures, and follow-ups of joined stories
            return created + await store_stories(self, conn, rec, batch, queued)

    async def _queue(self, conn: Any, rec: PollRecord, queued: Sequence[NewDelivery]) -> int:
        if not queued:
            return 0
        ids = dict((await conn.execute(select(articles.c.key, articles.c.id).where(
            articles.c.feed_id == rec.feed_id,
            articles.c.key.in_({d.article_key for d in queued})))).all())
        stmt = self.insert_ignore(deliveries, "destination_id", "story")
        created = 0
        for d in queued:
            created += (await conn.execute(stmt.values(
                destination_id=d.destination_id, story=d.alert.story,
                article_id=ids.get(d.article_key), attempts=0,
                status="filtered" if d.filtered else "pending", last_error=d.filtered,
                next_attempt_at=rec.now, alert=d.alert.to_json(),
                created_at=rec.now))).rowcount
        return created

    async def _finish_poll(self, rec: PollRecord, queued: Sequence[NewDelivery]) -> int:
        async with self.tx() as conn:
            created = await self._queue(conn, rec, queued)
            if rec.primed_follows:
                await conn.execute(update(follows).where(follows.c.id.in_(rec.primed_follows))
                                   .values(primed=True))
            if rec.feed_title:
                await conn.execute(update(feeds).where(feeds.c.id == rec.feed_id,
                                                       feeds.c.title == "")
                                   .values(title=rec.feed_title[:300]))
            noted = {"last_error_at": rec.now} if rec.note else {}
            await conn.execute(update(feeds).where(feeds.c.id == rec.feed_id).values(
                etag=rec.etag, last_modified=rec.last_modified, last_success_at=rec.now,
                last_error=rec.note, error_count=0, next_poll_at=rec.next_poll_at,
                lease_until=None, lease_owner=None, **noted))
        return created

    async def postpone_poll(self, feed_id: int, next_poll_at: datetime) -> None:
        """Release the lease and poll again at ``next_poll_at``; not counted as a failure."""
        async with self.tx() as conn:
            await conn.execute(update(feeds).where(feeds.c.id == feed_id).values(
                next_poll_at=next_poll_at, lease_until=None, lease_owner=None))

    async def record_failure(self, feed_id: int, now: datetime, error: str,
                             next_poll_at: datetime) -> None:
        async with self.tx() as conn:
            await conn.execute(update(feeds).where(feeds.c.id == feed_id).values(
                last_error=error[:1000], last_error_at=now, error_count=feeds.c.error_count + 1,
                next_poll_at=next_poll_at, lease_until=None, lease_owner=None))

    async def prune_article_text(self, before: datetime) -> int:
        """Drop the stored text of articles seen before ``before``; keys stay, so nothing is
        ever alerted twice, but the database stops growing with every article's body.
        Works in batches of ``WRITE_BATCH`` rows, one short transaction each."""
        old = and_(articles.c.seen_at < before, articles.c.text != "")
        pruned = 0
        while True:
            done = await retry_transient(lambda: self._prune_batch(old))
            pruned += done
            if done < WRITE_BATCH:
                return pruned

    async def _prune_batch(self, old: Any) -> int:
        async with self.tx() as conn:
            ids = (await conn.execute(select(articles.c.id).where(old).order_by(articles.c.id)
                                      .limit(WRITE_BATCH))).scalars().all()
            if not ids:
                return 0
            await conn.execute(update(articles).where(articles.c.id.in_(ids)).values(text=""))
        return len(ids)

    async def make_due(self, now: datetime) -> None:
        """Every feed due now (for `run --once` and tests)."""
        async with self.tx() as conn:
            await conn.execute(update(feeds).values(next_poll_at=now))
