"""Channel controls in storage: each destination's settings, held alerts and their digests, the
tenant's admin channel and its notices.

Digests and notices are outbox rows (``deliveries``) with a story key that names the period or
the event (``digest:2026-12-01T07:00:00+00:00``, ``notice:feed-failing:12:...``): the unique
(destination, story) key makes each exactly-once, and the held alerts a digest carries are marked
``digested`` in the same transaction, so a restart neither loses nor repeats one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.alert import DIGEST_PREFIX, NOTICE_PREFIX, Alert
from bot.domain.controls import ChannelControls
from bot.storage.records import FailingFollow, HeldAlert, HeldDestination, Notice
from bot.storage.sql.base import StoreBase
from bot.storage.sql.tables import (
    admin_channels,
    channel_settings,
    deliveries,
    destinations,
    feeds,
    follows,
    notices,
)


def is_special(story: str) -> bool:
    """A digest or a notice: never held, filtered or counted against the cap."""
    return story.startswith((DIGEST_PREFIX, NOTICE_PREFIX))


class ControlsStore(StoreBase):
    # --- settings -------------------------------------------------------------------------------
    async def controls(self, destination_id: int) -> ChannelControls:
        async with self.tx() as conn:
            raw = (await conn.execute(select(channel_settings.c.settings).where(
                channel_settings.c.destination_id == destination_id))).scalar()
        return ChannelControls.from_json(raw)

    @staticmethod
    async def controls_of(conn: AsyncConnection, ids: Sequence[int]
                          ) -> dict[int, ChannelControls]:
        rows = (await conn.execute(
            select(channel_settings.c.destination_id, channel_settings.c.settings)
            .where(channel_settings.c.destination_id.in_(list(ids))))).all()
        return {int(r[0]): ChannelControls.from_json(r[1]) for r in rows}

    async def set_controls(self, destination_id: int, controls: ChannelControls,
                           now: datetime) -> None:
        values = {"settings": controls.to_json(), "updated_at": now}
        async with self.tx() as conn:
            done = (await conn.execute(update(channel_settings).where(
                channel_settings.c.destination_id == destination_id).values(**values))).rowcount
            if not done:
                await conn.execute(self.insert_ignore(channel_settings, "destination_id").values(
                    destination_id=destination_id, **values))

    # --- held alerts and digests ------------------------------------------------------------------
    async def held_destinations(self) -> list[HeldDestination]:
        has_held = select(deliveries.c.destination_id).where(
            deliveries.c.status == "held").distinct()
        async with self.tx() as conn:
            rows = (await conn.execute(
                select(destinations.c.id, destinations.c.tenant_id, destinations.c.address)
                .where(destinations.c.id.in_(has_held)).order_by(destinations.c.id))).all()
            controls = await self.controls_of(conn, [r.id for r in rows])
        return [HeldDestination(r.id, r.tenant_id, r.address,
                                controls.get(r.id, ChannelControls())) for r in rows]

    async def held_alerts(self, destination_id: int, before: datetime) -> list[HeldAlert]:
        async with self.tx() as conn:
            rows = (await conn.execute(select(
                deliveries.c.id, deliveries.c.alert, deliveries.c.last_error,
                deliveries.c.created_at).where(
                deliveries.c.destination_id == destination_id, deliveries.c.status == "held",
                deliveries.c.created_at < before).order_by(deliveries.c.id))).all()
        return [HeldAlert(r.id, Alert.from_json(r.alert), r.last_error or "", r.created_at)
                for r in rows]

    async def queue_digest(self, destination_id: int, digest: Alert, held_ids: Sequence[int],
                           now: datetime) -> bool:
        """One outbox row for the digest and its held alerts marked ``digested``, atomically;
        False (nothing changed) when this period's digest exists already."""
        async with self.tx() as conn:
            created = (await conn.execute(
                self.insert_ignore(deliveries, "destination_id", "story").values(
                    destination_id=destination_id, story=digest.story, status="pending",
                    attempts=0, next_attempt_at=now, alert=digest.to_json(), created_at=now)
            )).rowcount == 1
            if created:
                await conn.execute(update(deliveries).where(
                    deliveries.c.id.in_(list(held_ids)), deliveries.c.status == "held"
                ).values(status="digested",
                         last_error=f"posted in the digest of {now:%Y-%m-%d %H:%M} UTC"))
        return created

    async def release_held(self, held_ids: Sequence[int], now: datetime) -> None:
        """Post these held alerts one by one (few after quiet hours)."""
        async with self.tx() as conn:
            await conn.execute(update(deliveries).where(
                deliveries.c.id.in_(list(held_ids)), deliveries.c.status == "held"
            ).values(status="pending", last_error=None, next_attempt_at=now))

    # --- admin channel and notices ----------------------------------------------------------------
    async def set_admin_channel(self, tenant: str, destination_id: int | None,
                                now: datetime) -> None:
        async with self.tx() as conn:
            await conn.execute(delete(admin_channels).where(admin_channels.c.tenant_id == tenant))
            if destination_id is not None:
                await conn.execute(admin_channels.insert().values(
                    tenant_id=tenant, destination_id=destination_id, updated_at=now))

    async def admin_channel(self, tenant: str) -> int | None:
        async with self.tx() as conn:
            found = (await conn.execute(select(admin_channels.c.destination_id).where(
                admin_channels.c.tenant_id == tenant))).scalar()
        return int(found) if found is not None else None

    async def post_notice(self, tenant: str, notice: Alert, now: datetime) -> bool:
        """Record the notice (its story is the event's key) and queue it to the tenant's admin
        channel, once: False when this event was noticed before."""
        async with self.tx() as conn:
            new = (await conn.execute(self.insert_ignore(notices, "tenant_id", "key").values(
                tenant_id=tenant, key=notice.story, text=notice.title, created_at=now
            ))).rowcount == 1
            admin = (await conn.execute(select(admin_channels.c.destination_id).where(
                admin_channels.c.tenant_id == tenant))).scalar()
            if new and admin is not None:
                await conn.execute(self.insert_ignore(deliveries, "destination_id", "story")
                                   .values(destination_id=admin, story=notice.story,
                                           status="pending", attempts=0, next_attempt_at=now,
                                           alert=notice.to_json(), created_at=now))
        return new

    async def failing_follows(self, failing_since: datetime) -> list[FailingFollow]:
        """Every tenant's follows of feeds that have failed without a success since before
        ``failing_since`` (no success ever: counted from the feed's creation)."""
        since = func.coalesce(feeds.c.last_success_at, feeds.c.created_at)
        query = (select(follows.c.tenant_id, feeds.c.id, feeds.c.url, since.label("since"),
                        feeds.c.last_error, feeds.c.error_count)
                 .join(follows, follows.c.feed_id == feeds.c.id)
                 .where(feeds.c.error_count > 0, feeds.c.last_error_at.is_not(None),
                        since <= failing_since)
                 .order_by(feeds.c.id, follows.c.tenant_id))
        async with self.tx() as conn:
            rows = (await conn.execute(query)).all()
        return [FailingFollow(r.tenant_id, r.id, r.url, r.since, r.last_error or "",
                              r.error_count) for r in rows]

    async def notices(self, tenant: str, limit: int = 10) -> list[Notice]:
        async with self.tx() as conn:
            rows = (await conn.execute(select(notices).where(notices.c.tenant_id == tenant)
                                       .order_by(notices.c.id.desc()).limit(limit))).mappings()
            return [Notice(r["key"], r["text"], r["created_at"]) for r in rows]
