"""Tenants, their watchlists, destinations, subscriptions and the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from ..models import Destination, Subscription, Watchlist
from ..watchlist import parse_watchlist, watchlist_to_dict
from .base import StoreBase
from .tables import audit_log, destinations, subscriptions, tenants, watches


@dataclass(frozen=True, slots=True)
class AuditEntry:
    tenant: str
    actor: str
    action: str
    target: str
    before: Any
    after: Any
    at: datetime


class TenantStore(StoreBase):
    async def ensure_tenant(self, tenant: str, now: datetime, *, name: str = "",
                            defaults: Watchlist | None = None) -> bool:
        """Create the tenant if new (seeding its watchlist from ``defaults``); True if created."""
        async with self.tx() as conn:
            stmt = self.insert_ignore(tenants, "id").values(id=tenant, name=name, created_at=now)
            created = (await conn.execute(stmt)).rowcount == 1
            if created and defaults is not None:
                await self._write_watchlist(conn, tenant, defaults, now)
        return created

    async def watchlist(self, tenant: str) -> Watchlist:
        async with self.tx() as conn:
            rows = (await conn.execute(
                select(watches.c.kind, watches.c.spec)
                .where(watches.c.tenant_id == tenant).order_by(watches.c.position, watches.c.id)
            )).all()
        data: dict[str, list[Any]] = {"companies": [], "topics": []}
        for kind, spec in rows:
            data["companies" if kind == "company" else "topics"].append(spec)
        return parse_watchlist(data, f"stored watchlist of {tenant}")

    async def replace_watchlist(self, tenant: str, watchlist: Watchlist, now: datetime) -> None:
        async with self.tx() as conn:
            await conn.execute(delete(watches).where(watches.c.tenant_id == tenant))
            await self._write_watchlist(conn, tenant, watchlist, now)

    async def _write_watchlist(self, conn: Any, tenant: str, watchlist: Watchlist,
                               now: datetime) -> None:
        data = watchlist_to_dict(watchlist)
        rows = [
            {"tenant_id": tenant, "kind": kind, "name": spec["name"],
             "folded": spec["name"].casefold(), "spec": spec, "position": i, "updated_at": now}
            for kind, key in (("company", "companies"), ("topic", "topics"))
            for i, spec in enumerate(data[key])
        ]
        if rows:
            await conn.execute(watches.insert(), rows)

    # --- destinations and subscriptions -----------------------------------------------------------
    async def ensure_destination(self, tenant: str, address: str, now: datetime) -> int:
        async with self.tx() as conn:
            await conn.execute(self.insert_ignore(destinations, "tenant_id", "address").values(
                tenant_id=tenant, address=address, active=True, created_at=now))
            found = await conn.execute(select(destinations.c.id).where(
                destinations.c.tenant_id == tenant, destinations.c.address == address))
            return int(found.scalar_one())

    async def set_subscriptions(self, destination_id: int, subs: tuple[Subscription, ...],
                                now: datetime) -> None:
        async with self.tx() as conn:
            await conn.execute(delete(subscriptions).where(
                subscriptions.c.destination_id == destination_id))
            if subs:
                await conn.execute(subscriptions.insert(), [
                    {"destination_id": destination_id, "company": s.company or "",
                     "topic": s.topic or "", "created_at": now} for s in subs])

    async def add_subscription(self, destination_id: int, sub: Subscription, now: datetime) -> bool:
        async with self.tx() as conn:
            stmt = self.insert_ignore(subscriptions, "destination_id", "company", "topic").values(
                destination_id=destination_id, company=sub.company or "", topic=sub.topic or "",
                created_at=now)
            return (await conn.execute(stmt)).rowcount == 1

    async def remove_subscription(self, destination_id: int, sub: Subscription) -> bool:
        async with self.tx() as conn:
            result = await conn.execute(delete(subscriptions).where(
                subscriptions.c.destination_id == destination_id,
                subscriptions.c.company == (sub.company or ""),
                subscriptions.c.topic == (sub.topic or "")))
            return result.rowcount > 0

    async def destinations(self, tenant: str, *, active_only: bool = True
                           ) -> tuple[Destination, ...]:
        query = select(destinations).where(destinations.c.tenant_id == tenant)
        if active_only:
            query = query.where(destinations.c.active.is_(True))
        async with self.tx() as conn:
            dests = (await conn.execute(query.order_by(destinations.c.id))).mappings().all()
            subs = (await conn.execute(select(subscriptions).where(
                subscriptions.c.destination_id.in_([d["id"] for d in dests])
            ).order_by(subscriptions.c.id))).mappings().all()
        by_dest: dict[int, list[Subscription]] = {}
        for s in subs:
            by_dest.setdefault(s["destination_id"], []).append(
                Subscription(company=s["company"] or None, topic=s["topic"] or None))
        return tuple(
            Destination(id=d["id"], tenant=d["tenant_id"], address=d["address"],
                        subscriptions=tuple(by_dest.get(d["id"], ())), active=d["active"])
            for d in dests)

    async def remove_destinations_except(self, tenant: str, keep: set[str]) -> None:
        async with self.tx() as conn:
            await conn.execute(delete(destinations).where(
                destinations.c.tenant_id == tenant, destinations.c.address.not_in(keep)))

    async def stop_destination(self, destination_id: int, reason: str) -> None:
        """Nothing more is sent there; its pending alerts are kept until it is resumed."""
        async with self.tx() as conn:
            await conn.execute(update(destinations).where(destinations.c.id == destination_id)
                               .values(active=False, stopped_reason=reason))

    async def resume_destination(self, destination_id: int) -> bool:
        """Deliver to it again (its held alerts first, oldest first); True if it was stopped."""
        async with self.tx() as conn:
            result = await conn.execute(update(destinations).where(
                destinations.c.id == destination_id, destinations.c.active.is_(False)
            ).values(active=True, stopped_reason=None, paused_until=None))
        return bool(result.rowcount)

    async def destination_tenant(self, destination_id: int) -> str:
        async with self.tx() as conn:
            return str((await conn.execute(select(destinations.c.tenant_id).where(
                destinations.c.id == destination_id))).scalar_one())

    async def destination_state(self, destination_id: int) -> tuple[bool, str | None]:
        async with self.tx() as conn:
            row = (await conn.execute(select(destinations.c.active, destinations.c.stopped_reason)
                                      .where(destinations.c.id == destination_id))).one()
        return bool(row.active), row.stopped_reason

    # --- audit -----------------------------------------------------------------------------------
    async def audit(self, tenant: str, actor: str, action: str, target: str, *, before: Any,
                    after: Any, now: datetime) -> None:
        async with self.tx() as conn:
            await conn.execute(audit_log.insert().values(
                tenant_id=tenant, actor=actor, action=action, target=target, before=before,
                after=after, at=now))

    async def audit_entries(self, tenant: str | None = None, limit: int = 100
                            ) -> list[AuditEntry]:
        query = (select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
                 .limit(limit))
        if tenant is not None:
            query = query.where(audit_log.c.tenant_id == tenant)
        async with self.tx() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [AuditEntry(r["tenant_id"], r["actor"], r["action"], r["target"], r["before"],
                           r["after"], r["at"]) for r in rows]
