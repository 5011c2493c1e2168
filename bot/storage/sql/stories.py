"""Stories in the database: the window's signatures, the keys that find them, follow-up rows.

``story_candidates`` is the database twin of ``bot.pipeline.stories.StoryWindow``'s index: key
counts in the window, and the members sharing two searchable keys with a batch's articles (one
lookup per poll batch). ``store_stories`` (``write_placements``, ``_queue_followups``) runs inside
the polls' transaction (see ``FeedStore._store_polls``), so an article, its story and its alerts
or follow-ups are stored together or not at all; the signatures and keys of all the polls of a
transaction go in one executemany each.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from bot.domain.article import Article
from bot.domain.story import (
    FOLLOWUP_GAP,
    FollowupTarget,
    StoryFeatures,
    StoryLookup,
    StoryMember,
    StoryPlacement,
    search_limit,
)
from bot.storage.records import NewDelivery, PollRecord
from bot.storage.sql.base import StoreBase
from bot.storage.sql.tables import (
    articles,
    deliveries,
    destinations,
    feeds,
    story_keys,
    story_signatures,
)

MERGE_MARGIN = timedelta(minutes=1)  # a waiting follow-up due sooner is left as it is
ALSO_KEY = "also_covered"  # in a follow-up row's alert JSON: the outlets of reports merged into it
MAX_MERGED = 50
MAX_CANDIDATES = 500


class StoryStore(StoreBase):
    async def story_candidates(self, keys: Sequence[str], since: datetime) -> StoryLookup:
        """Members of the window (``at >= since``) sharing two searchable ``keys``."""
        wanted = sorted(set(keys))
        if not wanted:
            return StoryLookup()
        async with self.tx() as conn:
            size = (await conn.execute(select(func.count()).select_from(story_signatures)
                                       .where(story_signatures.c.at >= since))).scalar_one()
            df: dict[str, int] = {}
            for i in range(0, len(wanted), 500):
                df.update((await conn.execute(
                    select(story_keys.c.key, func.count()).where(
                        story_keys.c.key.in_(wanted[i:i + 500]), story_keys.c.at >= since)
                    .group_by(story_keys.c.key))).all())
            limit = search_limit(size)
            search = [k for k, n in df.items() if n <= limit]
            if not search:
                return StoryLookup((), df, size)
            hits = func.count().label("hits")
            ids = (await conn.execute(
                select(story_keys.c.signature_id).where(
                    story_keys.c.key.in_(search), story_keys.c.at >= since)
                .group_by(story_keys.c.signature_id).having(hits >= 2)
                .order_by(story_keys.c.signature_id.desc()).limit(MAX_CANDIDATES))).scalars().all()
            rows = (await conn.execute(
                select(story_signatures, feeds.c.url.label("source"))
                .join(articles, articles.c.id == story_signatures.c.article_id)
                .join(feeds, feeds.c.id == articles.c.feed_id)
                .where(story_signatures.c.id.in_(ids)).order_by(story_signatures.c.id)
            )).mappings().all()
        members = tuple(StoryMember(r["ref"], r["story"], r["at"],
                                    StoryFeatures.from_json(r["features"]), r["source"])
                        for r in rows)
        return StoryLookup(members, df, size)

    async def followup_target(self, destination_id: int, story: str,
                              followup_id: int | None = None) -> FollowupTarget:
        """The destination's follow-up setting, the state of ``story``'s first alert, the
        outlets of its follow-ups sent there, and those merged into follow-up ``followup_id``."""
        async with self.tx() as conn:
            mode = (await conn.execute(select(destinations.c.followups).where(
                destinations.c.id == destination_id))).scalar_one_or_none()
            first = (await conn.execute(select(deliveries.c.status, deliveries.c.message_id,
                                               deliveries.c.alert)
                                        .where(deliveries.c.destination_id == destination_id,
                                               deliveries.c.story == story))).first()
            sent = (await conn.execute(select(deliveries.c.alert).where(
                deliveries.c.destination_id == destination_id, deliveries.c.reply_to == story,
                deliveries.c.status == "sent").order_by(deliveries.c.id))).scalars().all()
            merged: dict[str, Any] = {} if followup_id is None else (await conn.execute(select(
                deliveries.c.alert).where(deliveries.c.id == followup_id))).scalar() or {}
        return FollowupTarget(mode or "thread", first.status if first else None,
                              first.message_id if first else None,
                              first.alert if first else None,
                              tuple(str(o) for a in sent
                                    for o in (a.get("feed", ""), *a.get(ALSO_KEY, []))),
                              tuple(str(o) for o in merged.get(ALSO_KEY, [])))

    async def followups(self, destination_id: int) -> str:
        """What later reports of an alerted story do in this destination: thread | edit | off."""
        async with self.tx() as conn:
            mode = (await conn.execute(select(destinations.c.followups).where(
                destinations.c.id == destination_id))).scalar_one_or_none()
        return mode or "thread"

    async def set_followups(self, destination_id: int, followups: str) -> None:
        """What later reports of an alerted story do in this destination: thread | edit | off."""
        async with self.tx() as conn:
            await conn.execute(update(destinations).where(destinations.c.id == destination_id)
                               .values(followups=followups))

    async def story_placement(self, article_row_id: int) -> tuple[str | None, str | None] | None:
        """(joined ref, reason) of a stored article's story; None when it has no signature."""
        async with self.tx() as conn:
            row = (await conn.execute(select(story_signatures.c.joined, story_signatures.c.reason)
                                      .where(story_signatures.c.article_id == article_row_id))
                   ).first()
        return None if row is None else (row.joined, row.reason)

    async def prune_stories(self, before: datetime) -> int:
        """Forget the signatures (and keys) of articles placed before ``before``."""
        async with self.tx() as conn:
            await conn.execute(story_keys.delete().where(story_keys.c.at < before))
            return int((await conn.execute(story_signatures.delete().where(
                story_signatures.c.at < before))).rowcount)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


ArticleIds = dict[tuple[int, str], int]  # (feed id, article key) -> stored article's id
CHUNK = 500  # pairs per IN (...) list


async def article_ids(conn: Any, pairs: Sequence[tuple[int, str]]) -> ArticleIds:
    """The stored ids of these (feed id, article key) pairs, a few statements for all."""
    wanted = set(pairs)
    ordered = sorted(wanted)
    ids: ArticleIds = {}
    for i in range(0, len(ordered), CHUNK):
        chunk = ordered[i:i + CHUNK]
        rows = await conn.execute(
            select(articles.c.feed_id, articles.c.key, articles.c.id).where(
                articles.c.feed_id.in_({f for f, _ in chunk}),
                articles.c.key.in_({k for _, k in chunk})))
        ids.update({(f, k): a for f, k, a in rows if (f, k) in wanted})
    return ids


def placement_pairs(polls: Sequence[tuple[PollRecord, Sequence[Article]]]
                    ) -> list[tuple[int, str]]:
    """(feed id, article key) of the placements ``store_stories`` will write."""
    return [(rec.feed_id, p.article_key) for rec, batch in polls
            for p in _placements(rec, batch)]


async def store_stories(store: StoreBase, conn: Any,
                        polls: Sequence[tuple[PollRecord, Sequence[Article],
                                              Sequence[NewDelivery]]],
                        ids: ArticleIds | None = None) -> list[int]:
    """In a poll batch's transaction: the story signatures of each poll's batch articles (all
    polls' in a few statements), and follow-up rows for the alerts of articles that joined an
    alerted story. ``ids``: the stored articles' ids if the caller has them. Returns the
    follow-ups queued per poll."""
    if not any(rec.stories for rec, _, _ in polls):
        return [0] * len(polls)
    if ids is None:
        ids = await article_ids(conn, placement_pairs([(r, b) for r, b, _ in polls]))
    await write_placements(store, conn, [(rec, batch) for rec, batch, _ in polls], ids)
    return [await _queue_followups(store, conn, rec, queued) if rec.stories else 0
            for rec, _, queued in polls]


def _placements(rec: PollRecord, batch: Sequence[Article]) -> list[StoryPlacement]:
    if not rec.stories:
        return []
    keys = {a.key for a in batch}
    return [p for p in rec.stories if p.article_key in keys]


async def write_placements(store: StoreBase, conn: Any,
                           polls: Sequence[tuple[PollRecord, Sequence[Article]]],
                           ids: ArticleIds) -> None:
    """Store the story signatures of the polls' batch articles and their lookup keys: one
    executemany for the signatures, one for the keys (a signature already stored keeps its
    keys: only the rows inserted now get keys)."""
    rows: list[dict[str, Any]] = []
    keys_of: dict[int, StoryPlacement] = {}
    for rec, batch in polls:
        for p in _placements(rec, batch):
            article_id = ids.get((rec.feed_id, p.article_key))
            if article_id is None or article_id in keys_of:
                continue
            keys_of[article_id] = p
            rows.append({"article_id": article_id, "story": p.story, "ref": p.ref,
                         "features": p.features.to_json(), "at": p.at,
                         "joined": p.match.joined if p.match else None,
                         "reason": p.match.reason if p.match else None})
    if not rows:
        return
    stmt = store.insert_ignore(story_signatures, "article_id").returning(
        story_signatures.c.id, story_signatures.c.article_id)
    keyed: list[dict[str, Any]] = []
    for i in range(0, len(rows), CHUNK):
        for sig, article_id in await conn.execute(stmt, rows[i:i + CHUNK]):
            p = keys_of[article_id]
            keyed += [{"key": k[:300], "signature_id": sig, "at": p.at} for k in p.keys]
    if keyed:
        await conn.execute(story_keys.insert(), keyed)


async def _queue_followups(store: StoreBase, conn: Any, rec: PollRecord,
                           queued: Sequence[NewDelivery]) -> int:
    """A follow-up for each alert of an article that joined a story some other article of
    which already has a row in that destination (the first alert).

    A follow-up passes the channel's screen like an alert: one the channel's controls keep back
    (mute, exclusion, max_age, prominent_only) is stored as ``filtered``, with the reason, and
    never sent. The others are paced: the first goes out at once, later ones wait ``FOLLOWUP_GAP``
    after the story's previous follow-up, and a report arriving while one is still waiting for
    its slot is added to it (one follow-up naming the outlets, not one per report)."""
    joined = {p.article_key for p in rec.stories if p.match is not None}
    created = 0
    for d in queued:
        if d.article_key not in joined:
            continue
        first = (await conn.execute(select(articles.c.key).join(
            deliveries, deliveries.c.article_id == articles.c.id).where(
            deliveries.c.destination_id == d.destination_id,
            deliveries.c.story == d.alert.story))).scalar_one_or_none()
        if first is None or first == d.article_key:
            continue
        if not d.filtered and await _merge_followup(conn, d, rec.now):
            continue
        last = (await conn.execute(select(func.max(deliveries.c.next_attempt_at)).where(
            deliveries.c.destination_id == d.destination_id,
            deliveries.c.reply_to == d.alert.story,
            deliveries.c.status != "filtered"))).scalar_one_or_none()
        due = rec.now if last is None else max(rec.now, _aware(last) + FOLLOWUP_GAP)
        article_id = (await conn.execute(select(articles.c.id).where(
            articles.c.feed_id == rec.feed_id, articles.c.key == d.article_key))).scalar()
        created += (await conn.execute(store.insert_ignore(
            deliveries, "destination_id", "story").values(
            destination_id=d.destination_id, story=f"{d.alert.story} + {d.article_key}",
            reply_to=d.alert.story, article_id=article_id, attempts=0,
            status="filtered" if d.filtered else "pending", last_error=d.filtered,
            next_attempt_at=due, alert=d.alert.to_json(), created_at=rec.now))).rowcount
    return created


async def _merge_followup(conn: Any, d: NewDelivery, now: datetime) -> bool:
    """Add ``d``'s outlet to the story's follow-up that waits for its slot in that destination
    (not due before ``now + MERGE_MARGIN``, so no deliverer is sending it); False if none."""
    row = (await conn.execute(select(deliveries.c.id, deliveries.c.alert).where(
        deliveries.c.destination_id == d.destination_id, deliveries.c.reply_to == d.alert.story,
        deliveries.c.status == "pending", deliveries.c.attempt_started_at.is_(None),
        deliveries.c.next_attempt_at > now + MERGE_MARGIN)
        .order_by(deliveries.c.id.desc()).limit(1))).first()
    if row is None:
        return False
    alert = dict(row.alert)
    outlets = [str(o) for o in alert.get(ALSO_KEY, [])]
    if d.alert.feed and d.alert.feed not in (alert.get("feed"), *outlets):
        outlets.append(d.alert.feed)
    await conn.execute(update(deliveries).where(deliveries.c.id == row.id).values(
        alert={**alert, ALSO_KEY: outlets[:MAX_MERGED]}))
    return True
