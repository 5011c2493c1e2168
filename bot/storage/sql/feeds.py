"""Feeds (one row per URL, shared by every tenant), follows, seen articles, and the poll record."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, delete, or_, select, update

from bot.domain.article import Article, FeedSource
from bot.domain.errors import StorageError
from bot.storage.records import TRUSTED_SOURCES, FeedRow, Follow, NewDelivery, PollRecord
from bot.storage.sql.base import StoreBase
from bot.storage.sql.stories import ArticleIds, article_ids, placement_pairs, store_stories
from bot.storage.sql.tables import articles, deliveries, feeds, follows

log = logging.getLogger(__name__)
T = TypeVar("T")

WRITE_BATCH = 200  # articles (with their outbox rows) per transaction: the write lock is brief
POLLS_BATCH = 1000  # articles of several polls stored in one transaction (``record_polls``)
CHUNK = 500  # keys / ids per IN (...) list
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

    async def ensure_feeds(self, sources: Sequence[FeedSource], now: datetime) -> dict[str, int]:
        """``ensure_feed`` for many feeds in one transaction: url -> feed id. Only new URLs are
        inserted and only intervals that got shorter are written (the rows are taken in URL
        order, so two processes syncing the same config wait for each other, never deadlock)."""
        wanted: dict[str, FeedSource] = {}
        for source in sorted(sources, key=lambda x: x.url):
            keen = wanted.get(source.url)
            if keen is None or source.interval_minutes < keen.interval_minutes:
                wanted[source.url] = source
        urls = list(wanted)
        ids: dict[str, int] = {}
        async with self.tx() as conn:
            for i in range(0, len(urls), CHUNK):
                chunk = urls[i:i + CHUNK]
                await conn.execute(self.insert_ignore(feeds, "url"), [
                    {"url": u, "title": wanted[u].title, "error_count": 0, "created_at": now,
                     "interval_minutes": wanted[u].interval_minutes, "next_poll_at": now}
                    for u in chunk])
                rows = (await conn.execute(select(feeds.c.id, feeds.c.url,
                                                  feeds.c.interval_minutes)
                                           .where(feeds.c.url.in_(chunk)))).all()
                keener = [{"fid": r.id, "minutes": wanted[r.url].interval_minutes} for r in rows
                          if wanted[r.url].interval_minutes < r.interval_minutes]
                if keener:  # the keenest follower decides
                    await conn.execute(update(feeds).where(feeds.c.id == bindparam("fid"))
                                       .values(interval_minutes=bindparam("minutes")), keener)
                ids.update({r.url: int(r.id) for r in rows})
        return ids

    async def follow_feeds(self, tenant: str, wanted: Sequence[tuple[int, str, int]], *,
                           source: str, now: datetime) -> set[int]:
        """``follow`` for many (feed id, title, backfill) at once: new follows are inserted
        (their feeds get their full document on the next poll), changed titles/backfills
        updated, the others left alone. Returns the feed ids newly followed."""
        async with self.tx() as conn:
            stored = {r.feed_id: (r.title, r.backfill) for r in await conn.execute(
                select(follows.c.feed_id, follows.c.title, follows.c.backfill)
                .where(follows.c.tenant_id == tenant))}
            new = [{"tenant_id": tenant, "feed_id": f, "title": t, "backfill": b,
                    "primed": False, "source": source, "created_at": now}
                   for f, t, b in wanted if f not in stored]
            created: set[int] = set()
            if new:
                stmt = self.insert_ignore(follows, "tenant_id", "feed_id").returning(
                    follows.c.feed_id)
                for i in range(0, len(new), CHUNK):
                    created.update(r[0] for r in await conn.execute(stmt, new[i:i + CHUNK]))
            for i in range(0, len(created), CHUNK):  # a new follower needs the whole document
                await conn.execute(update(feeds).where(
                    feeds.c.id.in_(sorted(created)[i:i + CHUNK])).values(
                    etag=None, last_modified=None, next_poll_at=now))
            changed = [{"fid": f, "t": t, "b": b} for f, t, b in wanted
                       if f in stored and stored[f] != (t, b)]
            if changed:
                await conn.execute(update(follows).where(
                    follows.c.tenant_id == tenant, follows.c.feed_id == bindparam("fid")
                ).values(title=bindparam("t"), backfill=bindparam("b")), changed)
        return created

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
                              owner: str | None = None, *,
                              not_polled_since: datetime | None = None) -> list[FeedRow]:
        """Lease up to ``limit`` due feeds that someone follows; safe with several workers.
        ``owner``'s heartbeat renews the lease (``renew_leases``) while the poll runs.

        With ``not_polled_since`` (`run --once`) every followed feed counts as due unless a
        poll of it (success or failure, by any worker) was recorded after that time; nothing
        is written to make feeds due."""
        # IN (the follows' feed ids), not a correlated EXISTS: follows has no index on feed_id
        # alone, so EXISTS scanned every follow for every feed row (a 304 cycle's claims were
        # quadratic in the number of feeds); the subquery is evaluated once per statement
        followed = feeds.c.id.in_(select(follows.c.feed_id))
        untrusted = feeds.c.id.in_(select(follows.c.feed_id).where(
            follows.c.source.not_in(TRUSTED_SOURCES)))
        if not_polled_since is None:
            when = feeds.c.next_poll_at <= now
        else:
            when = and_(*(or_(c.is_(None), c <= not_polled_since)
                          for c in (feeds.c.last_success_at, feeds.c.last_error_at)))
        due = and_(when, followed,
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

    async def follows_of_feeds(self, feed_ids: Sequence[int]) -> dict[int, list[Follow]]:
        """``follows_of`` for many feeds in one query: feed id -> its follows (in id order)."""
        out: dict[int, list[Follow]] = {f: [] for f in feed_ids}
        async with self.tx() as conn:
            for i in range(0, len(feed_ids), CHUNK):
                rows = (await conn.execute(select(follows).where(
                    follows.c.feed_id.in_(list(feed_ids[i:i + CHUNK])))
                    .order_by(follows.c.id))).mappings().all()
                for r in rows:
                    out[r["feed_id"]].append(
                        Follow(r["id"], r["tenant_id"], r["title"], r["backfill"], r["primed"]))
        return out

    async def known_keys_of(self, keys: Mapping[int, Sequence[str]]) -> dict[int, set[str]]:
        """``known_keys`` for many feeds at once: feed id -> those of its keys already seen.
        A few statements for the whole batch (keys are looked up in chunks, for every feed of
        the chunk together, then sorted out by feed)."""
        found: dict[int, set[str]] = {f: set() for f in keys}
        pairs = [(f, k) for f, ks in keys.items() for k in ks]
        async with self.tx() as conn:
            for i in range(0, len(pairs), CHUNK):
                chunk = pairs[i:i + CHUNK]
                wanted = set(chunk)
                rows = await conn.execute(select(articles.c.feed_id, articles.c.key).where(
                    articles.c.feed_id.in_({f for f, _ in chunk}),
                    articles.c.key.in_({k for _, k in chunk})))
                for f, k in rows:
                    if (f, k) in wanted:
                        found[f].add(k)
        return found

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
        ordered = _alerts_first(rec)
        created = 0
        for i in range(0, len(ordered), WRITE_BATCH):
            batch = ordered[i:i + WRITE_BATCH]
            keys = {a.key for a in batch}
            queued = [d for d in rec.deliveries if d.article_key in keys]  # (in their order)
            created += await retry_transient(partial(self._store_batch, rec, batch, queued))
        new = {a.key for a in rec.articles}
        rest = [d for d in rec.deliveries if d.article_key not in new]  # backfill seen before
        return created + await retry_transient(lambda: self._finish_poll(rec, rest))

    async def record_polls(self, recs: Sequence[PollRecord]) -> list[int]:
        """``record_poll`` for many feeds, in a few transactions: the polls are grouped until
        their articles reach ``POLLS_BATCH``, and each group (its articles, their outbox rows,
        primed follows and every feed's state — a 304 is just its state row) is written in one
        transaction with a few statements. A poll bigger than that goes alone through
        ``record_poll``. Returns the deliveries created per poll, in order."""
        created = [0] * len(recs)
        group: list[int] = []
        size = 0
        for i, rec in enumerate(recs):
            if len(rec.articles) > POLLS_BATCH:
                created[i] = await self.record_poll(rec)
                continue
            if group and size + len(rec.articles) > POLLS_BATCH:
                await self._store_group(recs, group, created)
                group, size = [], 0
            group.append(i)
            size += len(rec.articles)
        if group:
            await self._store_group(recs, group, created)
        return created

    async def _store_group(self, recs: Sequence[PollRecord], group: Sequence[int],
                           created: list[int]) -> None:
        done = await retry_transient(partial(self._store_polls, [recs[i] for i in group]))
        for i, n in zip(group, done, strict=True):
            created[i] = n

    async def _store_polls(self, recs: Sequence[PollRecord]) -> list[int]:
        rows = [{"feed_id": rec.feed_id, "key": a.key, "story": a.story, "url": a.url,
                 "title": a.title, "text": a.text, "published_at": a.published,
                 "seen_at": rec.now} for rec in recs for a in _alerts_first(rec)]
        async with self.tx() as conn:
            if rows:
                await conn.execute(self.insert_ignore(articles, "feed_id", "key"), rows)
            ids = await article_ids(conn, sorted(
                {(rec.feed_id, d.article_key) for rec in recs for d in rec.deliveries}
                | set(placement_pairs([(rec, rec.articles) for rec in recs]))))
            counts = await self._queue_many(conn, recs, ids)
            followups = await store_stories(self, conn, [  # issue 12: signatures, follow-ups
                (rec, rec.articles, _of_new(rec)) for rec in recs], ids)
            counts = [a + b for a, b in zip(counts, followups, strict=True)]
            primed = [f for rec in recs for f in rec.primed_follows]
            if primed:
                await conn.execute(update(follows).where(follows.c.id.in_(primed))
                                   .values(primed=True))
            titled = [{"fid": rec.feed_id, "t": rec.feed_title[:300]} for rec in recs
                      if rec.feed_title]
            if titled:
                await conn.execute(update(feeds).where(feeds.c.id == bindparam("fid"),
                                                       feeds.c.title == "")
                                   .values(title=bindparam("t")), titled)
            await conn.execute(update(feeds).where(feeds.c.id == bindparam("fid")).values(
                etag=bindparam("e"), last_modified=bindparam("lm"),
                last_success_at=bindparam("now"), last_error=bindparam("note"),
                last_error_at=bindparam("noted"), error_count=0,
                next_poll_at=bindparam("next"), lease_until=None, lease_owner=None), [
                {"fid": rec.feed_id, "e": rec.etag, "lm": rec.last_modified, "now": rec.now,
                 "note": rec.note, "noted": rec.now if rec.note else None,
                 "next": rec.next_poll_at} for rec in recs])
        return counts

    async def _queue_many(self, conn: Any, recs: Sequence[PollRecord], ids: ArticleIds
                          ) -> list[int]:
        """The outbox rows of several polls, in their order; how many each poll created
        (``ids``: the stored ids of their articles)."""
        if not any(rec.deliveries for rec in recs):
            return [0] * len(recs)
        index = {rec.feed_id: n for n, rec in enumerate(recs)}
        owner = {a: index[f] for (f, _), a in ids.items()}
        values = [{"destination_id": d.destination_id, "story": d.alert.story,
                   "article_id": ids.get((rec.feed_id, d.article_key)),
                   "status": "filtered" if d.filtered else "pending", "last_error": d.filtered,
                   "attempts": 0, "next_attempt_at": rec.now, "alert": d.alert.to_json(),
                   "created_at": rec.now} for rec in recs for d in _in_store_order(rec)]
        counts = [0] * len(recs)
        stmt = self.insert_ignore(deliveries, "destination_id", "story").returning(
            deliveries.c.article_id)
        for i in range(0, len(values), CHUNK):
            for (article_id,) in await conn.execute(stmt, values[i:i + CHUNK]):
                if article_id in owner:
                    counts[owner[article_id]] += 1
        return counts

    async def _store_batch(self, rec: PollRecord, batch: Sequence[Article],
                           queued: Sequence[NewDelivery]) -> int:
        async with self.tx() as conn:
            await conn.execute(self.insert_ignore(articles, "feed_id", "key"), [
                {"feed_id": rec.feed_id, "key": a.key, "story": a.story, "url": a.url,
                 "title": a.title, "text": a.text, "published_at": a.published,
                 "seen_at": rec.now} for a in batch])
            created = await self._queue(conn, rec, queued)
            # issue 12: the batch's story signatures, and follow-ups of joined stories
            return created + (await store_stories(self, conn, [(rec, batch, queued)]))[0]

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

    async def release_feeds(self, feed_ids: Sequence[int], owner: str | None) -> None:
        """Give back leases of feeds that were claimed but will not be polled now."""
        async with self.tx() as conn:
            await conn.execute(update(feeds).where(
                feeds.c.id.in_(list(feed_ids)), feeds.c.lease_owner == owner
            ).values(lease_until=None, lease_owner=None))

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


def _alerts_first(rec: PollRecord) -> list[Article]:
    """The poll's articles, those with alerts first in their alerts' order (the outbox keeps
    the order the articles were stored in)."""
    first: dict[str, int] = {}
    for i, d in enumerate(rec.deliveries):
        first.setdefault(d.article_key, i)
    return sorted(rec.articles, key=lambda a: first.get(a.key, len(first)))


def _of_new(rec: PollRecord) -> list[NewDelivery]:
    """The poll's deliveries of its new articles."""
    new = {a.key for a in rec.articles}
    return [d for d in rec.deliveries if d.article_key in new]


def _in_store_order(rec: PollRecord) -> list[NewDelivery]:
    """The poll's deliveries: those of new articles (in order), then those of articles seen
    before (a new follow's backfill)."""
    new = {a.key for a in rec.articles}
    return ([d for d in rec.deliveries if d.article_key in new]
            + [d for d in rec.deliveries if d.article_key not in new])
