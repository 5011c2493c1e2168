"""The outbox: one delivery row per (destination, story), claimed per destination, sent, recorded.

A worker claims a *destination* (a short lease on its row, renewed by the worker's heartbeat) and
with it that destination's due deliveries, oldest first: one worker at a time delivers to a
channel, so its pace and order hold however many workers run. Before the sink is called the
delivery's ``attempt_started_at`` is committed; it is cleared when the outcome is recorded. After
a crash, a row with the marker still set may have landed (the sink is asked), one without it was
never attempted and is simply sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, exists, false, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from bot.domain.address import Address
from bot.domain.alert import DIGEST_PREFIX, NOTICE_PREFIX, Alert, display_address
from bot.domain.controls import ChannelControls
from bot.domain.delivery import Delivery
from bot.storage.ports import Admit
from bot.storage.records import Backlog, DeliveryState, DestinationBatch, DestinationStatus
from bot.storage.sql.base import StoreBase
from bot.storage.sql.controls import ControlsStore, is_special
from bot.storage.sql.tables import deliveries, destinations, feeds

UNCERTAIN = "outcome unknown: "  # last_error prefix: the attempt may have landed


def platform_of(address: str) -> str:
    return Address.parse(address).platform


def on_platforms(platforms: Iterable[str]) -> ColumnElement[bool]:
    """Destinations whose address is ``platform`` or ``platform:...`` for one of ``platforms``."""
    return or_(*(or_(destinations.c.address == p,
                     destinations.c.address.startswith(f"{p}:", autoescape=True))
                 for p in platforms), false())


def _free(column: Any, now: datetime) -> ColumnElement[bool]:
    return or_(column.is_(None), column <= now)


def _due(now: datetime) -> ColumnElement[bool]:
    return and_(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now)


async def _admitted(conn: Any, dest_id: int, rows: Any, controls: ChannelControls,
                    now: datetime, admit: Admit) -> list[Any]:
    """The rows that go out now; the others are marked held, with the reason."""
    if not controls.holds_alerts():
        return list(rows)
    hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    sent = int((await conn.execute(select(func.count()).where(
        deliveries.c.destination_id == dest_id, deliveries.c.status == "sent",
        deliveries.c.sent_at >= hour, deliveries.c.story.not_like(f"{DIGEST_PREFIX}%"),
        deliveries.c.story.not_like(f"{NOTICE_PREFIX}%")))).scalar_one())
    kept = []
    for row in rows:
        special = is_special(row["story"]) or row["attempt_started_at"] is not None
        reason = None if special else admit(controls, now, sent)
        if reason is None:
            kept.append(row)
            sent += 0 if special else 1
            continue
        await conn.execute(update(deliveries).where(deliveries.c.id == row["id"])
                           .values(status="held", last_error=reason[:1000]))
    return kept


class OutboxStore(StoreBase):
    # --- claiming, per destination ----------------------------------------------------------------
    async def claim_destinations(self, now: datetime, *, owner: str, lease: timedelta,
                                 platforms: Iterable[str], limit: int = 50,
                                 per_destination: int = 100, admit: Admit | None = None
                                 ) -> list[DestinationBatch]:
        """Lease up to ``limit`` active, unpaused, unleased destinations of ``platforms`` that
        have due deliveries; return each with its due deliveries, oldest first. ``admit`` (the
        channel controls' decision) holds the alerts that must wait for a digest."""
        has_due = exists().where(deliveries.c.destination_id == destinations.c.id, _due(now))
        free = and_(destinations.c.active.is_(True), on_platforms(list(platforms)),
                    _free(destinations.c.paused_until, now),
                    _free(destinations.c.lease_until, now), has_due)
        async with self.tx() as conn:
            claimed = await self.lease_rows(
                conn, destinations, free, destinations.c.id, limit, until=now + lease,
                owner=owner, returning=(destinations.c.id, destinations.c.address))
            batches = []
            controls = await ControlsStore.controls_of(conn, [d for d, _ in claimed]
                                                       ) if admit else {}
            for dest_id, address in sorted(claimed):
                rows = (await conn.execute(
                    select(deliveries).where(deliveries.c.destination_id == dest_id, _due(now))
                    .order_by(deliveries.c.id).limit(per_destination))).mappings().all()
                if admit is not None and dest_id in controls:
                    rows = await _admitted(conn, dest_id, rows, controls[dest_id], now, admit)
                batches.append(DestinationBatch(dest_id, address, tuple(
                    Delivery(id=r["id"], destination_id=dest_id, address=address,
                             alert=Alert.from_json(r["alert"]), attempts=r["attempts"],
                             message_id=r["message_id"],
                             uncertain=r["attempt_started_at"] is not None,
                             last_attempt_at=r["attempt_started_at"],
                             reply_to_story=r["reply_to"]) for r in rows)))
        return batches

    async def release_destination(self, destination_id: int, owner: str) -> None:
        async with self.tx() as conn:
            await conn.execute(update(destinations).where(
                destinations.c.id == destination_id, destinations.c.lease_owner == owner
            ).values(lease_until=None, lease_owner=None))

    async def pause_destination(self, destination_id: int, until: datetime) -> None:
        """Nothing is sent to this destination before ``until`` (the platform said "wait")."""
        async with self.tx() as conn:
            await conn.execute(update(destinations).where(destinations.c.id == destination_id)
                               .values(paused_until=until))

    async def renew_leases(self, owner: str, until: datetime) -> None:
        """The heartbeat: extend every destination and feed lease ``owner`` holds."""
        async with self.tx() as conn:
            for table in (destinations, feeds):
                await conn.execute(update(table).where(
                    table.c.lease_owner == owner, table.c.lease_until.is_not(None)
                ).values(lease_until=until))

    async def lease_owners(self, now: datetime) -> set[str]:
        """Owners of destination and feed leases that have not run out yet."""
        async with self.tx() as conn:
            return {o for table in (destinations, feeds) for o in (await conn.execute(
                select(table.c.lease_owner).distinct().where(
                    table.c.lease_owner.is_not(None), table.c.lease_until > now))).scalars()}

    async def release_leases_of(self, owners: Iterable[str]) -> int:
        """Free every destination and feed leased by ``owners`` (workers known to have ended);
        their deliveries keep their attempt markers. How many leases were freed."""
        owners = list(owners)
        freed = 0
        async with self.tx() as conn:
            for table in (destinations, feeds):
                freed += (await conn.execute(update(table).where(
                    table.c.lease_owner.in_(owners)).values(lease_until=None, lease_owner=None)
                )).rowcount
        return freed

    # --- one delivery's attempt and outcome -------------------------------------------------------
    async def begin_attempt(self, delivery_id: int, now: datetime) -> None:
        """Committed before the sink is called: counts the attempt, marks it in flight."""
        await self._set(delivery_id, attempt_started_at=now, attempts=deliveries.c.attempts + 1)

    async def begin_attempts(self, delivery_ids: Sequence[int], now: datetime) -> None:
        """``begin_attempt`` for several deliveries of one destination, in one transaction:
        each may have landed from here on (its sink is asked after a crash)."""
        async with self.tx() as conn:
            await conn.execute(update(deliveries).where(deliveries.c.id.in_(list(delivery_ids)))
                               .values(attempt_started_at=now, attempts=deliveries.c.attempts + 1))

    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], now: datetime
                             ) -> None:
        """``mark_sent`` for several (delivery id, message id), in one transaction."""
        if not sent:
            return
        async with self.tx() as conn:
            await conn.execute(
                update(deliveries).where(deliveries.c.id == bindparam("delivery_id"))
                .values(status="sent", message_id=bindparam("sent_id"), sent_at=now,
                        attempt_started_at=None, last_error=None),
                [{"delivery_id": i, "sent_id": m} for i, m in sent])

    async def give_back(self, delivery_id: int, marker: datetime | None, *,
                        error: str | None = None) -> None:
        """The attempt never reached the platform (rate limited, not sent): uncount it and put
        the in-flight marker back as it was before."""
        values: dict[str, Any] = {"attempt_started_at": marker,
                                  "attempts": deliveries.c.attempts - 1}
        if error is not None:
            values["last_error"] = error[:1000]
        await self._set(delivery_id, **values)

    async def mark_sent(self, delivery_id: int, message_id: str | None, now: datetime) -> None:
        await self._set(delivery_id, status="sent", message_id=message_id, sent_at=now,
                        attempt_started_at=None, last_error=None)

    async def mark_filtered(self, delivery_id: int, reason: str) -> None:
        await self._set(delivery_id, status="filtered", attempt_started_at=None,
                        last_error=reason[:1000])

    async def mark_retry(self, delivery_id: int, error: str, next_attempt_at: datetime, *,
                         in_doubt: bool = False) -> None:
        """Retry at ``next_attempt_at``; ``in_doubt`` keeps the marker (ask before resending)."""
        values: dict[str, Any] = {"status": "pending", "last_error": error[:1000],
                                  "next_attempt_at": next_attempt_at}
        if not in_doubt:
            values["attempt_started_at"] = None
        await self._set(delivery_id, **values)

    async def hold(self, delivery_id: int, error: str, now: datetime, *,
                   in_doubt: bool = False) -> None:
        """Its destination stopped: keep it pending (sent first when the destination resumes);
        ``in_doubt`` keeps the in-flight marker (an earlier attempt may have landed)."""
        values: dict[str, Any] = {"status": "pending", "last_error": error[:1000],
                                  "next_attempt_at": now}
        if not in_doubt:
            values["attempt_started_at"] = None
        await self._set(delivery_id, **values)

    async def mark_rejected(self, delivery_id: int, error: str) -> None:
        await self._set(delivery_id, status="rejected", last_error=error[:1000],
                        attempt_started_at=None)

    async def _set(self, delivery_id: int, **values: Any) -> None:
        async with self.tx() as conn:
            await conn.execute(update(deliveries).where(deliveries.c.id == delivery_id)
                               .values(**values))

    # --- age limit and backlog --------------------------------------------------------------------
    async def expire_deliveries(self, cutoff: datetime, now: datetime, max_age: str) -> int:
        """Mark pending deliveries queued before ``cutoff`` ``expired``, with why they never went
        out; destinations being delivered to right now are left for their worker."""
        query = (select(deliveries.c.id, deliveries.c.last_error, destinations.c.active,
                        destinations.c.stopped_reason, destinations.c.waiting_reason)
                 .join(destinations, destinations.c.id == deliveries.c.destination_id)
                 .where(deliveries.c.status == "pending", deliveries.c.created_at < cutoff,
                        _free(destinations.c.lease_until, now))
                 .order_by(deliveries.c.id).limit(1000))
        async with self.tx() as conn:
            rows = (await conn.execute(query)).all()
            for row in rows:
                why = (f"destination stopped: {row.stopped_reason or 'no reason recorded'}"
                       if not row.active else row.waiting_reason
                       or (f"last error: {row.last_error}" if row.last_error else "never sent"))
                await conn.execute(update(deliveries).where(
                    deliveries.c.id == row.id, deliveries.c.status == "pending"
                ).values(status="expired", attempt_started_at=None,
                         last_error=f"expired: not delivered within {max_age} ({why})"[:1000]))
        return len(rows)

    async def backlog(self, platforms: Iterable[str], now: datetime, owner: str) -> Backlog:
        """Every pending delivery, by why it is not delivered yet (for reports and exit codes).

        Called after this worker delivered all it could: a pending alert that never failed is in
        another worker's hands (its destination leased elsewhere, or about to be)."""
        served = set(platforms)
        fresh = deliveries.c.last_error.is_(None)
        later = and_(fresh, deliveries.c.reply_to.is_not(None),
                     deliveries.c.next_attempt_at > now)  # a follow-up waiting for its slot
        query = (select(destinations.c.address, destinations.c.active,
                        and_(destinations.c.lease_until > now,
                             destinations.c.lease_owner != owner).label("leased"),
                        fresh.label("fresh"), later.label("later"),
                        func.coalesce(destinations.c.paused_until > now, False).label("paused"),
                        func.count())
                 .join(deliveries, deliveries.c.destination_id == destinations.c.id)
                 .where(deliveries.c.status == "pending")
                 .group_by(destinations.c.id, fresh, later))
        async with self.tx() as conn:
            rows = (await conn.execute(query)).all()
        counts = {"retrying": 0, "waiting": 0, "stopped": 0, "elsewhere": 0, "scheduled": 0}
        for address, active, leased, never_failed, scheduled, paused, n in rows:
            key = ("stopped" if not active else
                   "waiting" if platform_of(address) not in served else
                   "scheduled" if scheduled else
                   "elsewhere" if leased or (never_failed and not paused) else "retrying")
            counts[key] += n
        return Backlog(**counts)

    async def destination_status(self, destination_id: int) -> DestinationStatus:
        async with self.tx() as conn:
            dest = (await conn.execute(select(destinations).where(
                destinations.c.id == destination_id))).mappings().one()
            rows = (await conn.execute(
                select(deliveries.c.status, func.count()).where(
                    deliveries.c.destination_id == destination_id)
                .group_by(deliveries.c.status))).all()
        counts = {str(status): int(n) for status, n in rows}
        return DestinationStatus(bool(dest["active"]), dest["stopped_reason"],
                                 dest["waiting_reason"], counts)

    async def mark_waiting(self, platforms: Iterable[str], reason_for: dict[str, str]
                           ) -> list[str]:
        """Destinations whose platform has no sink wait for a token (``reason_for[platform]`` or
        a generic reason); the others stop waiting. Returns the waiting addresses, for display."""
        served = set(platforms)
        async with self.tx() as conn:
            rows = (await conn.execute(select(destinations.c.id, destinations.c.address,
                                              destinations.c.waiting_reason)
                                       .order_by(destinations.c.id))).all()
            waiting = []
            for dest_id, address, current in rows:
                platform = platform_of(address)
                reason = None if platform in served else reason_for.get(
                    platform, f"waiting for a token: no {platform} sink is configured")
                if reason is not None:
                    waiting.append(display_address(address))
                if reason != current:
                    await conn.execute(update(destinations).where(destinations.c.id == dest_id)
                                       .values(waiting_reason=reason))
        return waiting

    # --- inspection ---------------------------------------------------------------------------
    async def delivery_states(self, *, destination_id: int | None = None,
                              story: str | None = None, status: str | None = None,
                              tenant: str | None = None) -> list[DeliveryState]:
        """Outbox rows, oldest first; ``tenant`` keeps those of its destinations only."""
        query = (select(deliveries, destinations.c.address)
                 .join(destinations, destinations.c.id == deliveries.c.destination_id)
                 .order_by(deliveries.c.id))
        if destination_id is not None:
            query = query.where(deliveries.c.destination_id == destination_id)
        if story is not None:
            query = query.where(deliveries.c.story == story)
        if status is not None:
            query = query.where(deliveries.c.status == status)
        if tenant is not None:
            query = query.where(destinations.c.tenant_id == tenant)
        async with self.tx() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [DeliveryState(r["id"], r["destination_id"], r["address"], r["story"], r["status"],
                              r["attempts"], r["message_id"], r["last_error"],
                              r["next_attempt_at"], r["sent_at"], Alert.from_json(r["alert"]),
                              r["attempt_started_at"], r["created_at"])
                for r in rows]
