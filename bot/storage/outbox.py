"""The outbox: one delivery row per (destination, story), claimed, sent and recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update

from ..models import Alert, Delivery
from .base import StoreBase
from .tables import deliveries, destinations


@dataclass(frozen=True, slots=True)
class DeliveryState:
    id: int
    destination_id: int
    address: str
    story: str
    status: str
    attempts: int
    message_id: str | None
    last_error: str | None
    next_attempt_at: datetime
    sent_at: datetime | None
    alert: Alert


UNCERTAIN = "outcome unknown: "  # last_error prefix: the attempt may have landed


class OutboxStore(StoreBase):
    async def claim_deliveries(self, now: datetime, limit: int, lease: timedelta
                               ) -> list[Delivery]:
        """Lease up to ``limit`` due deliveries of active destinations; counts an attempt."""
        active = select(destinations.c.id).where(destinations.c.active.is_(True))
        due = and_(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now,
                   deliveries.c.destination_id.in_(active),
                   or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until < now))
        async with self.tx() as conn:
            found = (await conn.execute(
                select(deliveries.c.id, deliveries.c.lease_until).where(due)
                .order_by(deliveries.c.next_attempt_at, deliveries.c.id).limit(limit))).all()
            if not found:
                return []
            ids = [row.id for row in found]
            crashed = {row.id for row in found if row.lease_until is not None}  # lease ran out
            claimed = (await conn.execute(
                update(deliveries).where(deliveries.c.id.in_(ids), due)
                .values(lease_until=now + lease, attempts=deliveries.c.attempts + 1)
                .returning(deliveries.c.id))).scalars().all()
            rows = (await conn.execute(
                select(deliveries, destinations.c.address)
                .join(destinations, destinations.c.id == deliveries.c.destination_id)
                .where(deliveries.c.id.in_(claimed)).order_by(deliveries.c.id))).mappings().all()
        return [Delivery(id=r["id"], destination_id=r["destination_id"], address=r["address"],
                         alert=Alert.from_json(r["alert"]), attempts=r["attempts"],
                         message_id=r["message_id"],
                         uncertain=r["id"] in crashed
                         or (r["last_error"] or "").startswith(UNCERTAIN))
                for r in rows]

    async def mark_sent(self, delivery_id: int, message_id: str | None, now: datetime) -> None:
        async with self.tx() as conn:
            await conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
                status="sent", message_id=message_id, sent_at=now, lease_until=None,
                last_error=None))

    async def mark_retry(self, delivery_id: int, error: str, next_attempt_at: datetime) -> None:
        async with self.tx() as conn:
            await conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
                status="pending", last_error=error[:1000], next_attempt_at=next_attempt_at,
                lease_until=None))

    async def mark_rejected(self, delivery_id: int, error: str) -> None:
        async with self.tx() as conn:
            await conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
                status="rejected", last_error=error[:1000], lease_until=None))

    async def release(self, delivery_id: int) -> None:
        """Give a claimed delivery back untouched (e.g. shutting down before sending)."""
        async with self.tx() as conn:
            await conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(
                lease_until=None, attempts=deliveries.c.attempts - 1))

    async def delivery_states(self, *, destination_id: int | None = None,
                              story: str | None = None, status: str | None = None
                              ) -> list[DeliveryState]:
        query = (select(deliveries, destinations.c.address)
                 .join(destinations, destinations.c.id == deliveries.c.destination_id)
                 .order_by(deliveries.c.id))
        if destination_id is not None:
            query = query.where(deliveries.c.destination_id == destination_id)
        if story is not None:
            query = query.where(deliveries.c.story == story)
        if status is not None:
            query = query.where(deliveries.c.status == status)
        async with self.tx() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [DeliveryState(r["id"], r["destination_id"], r["address"], r["story"], r["status"],
                              r["attempts"], r["message_id"], r["last_error"],
                              r["next_attempt_at"], r["sent_at"], Alert.from_json(r["alert"]))
                for r in rows]
