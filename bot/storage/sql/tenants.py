"""Tenants, their watchlists, destinations, subscriptions and the audit log.

Watchlists are copy-on-write: a new tenant whose defaults are the operator's watchlist stores no
rows of its own; it reads ``DEFAULTS_TENANT``'s (its ``watch_parent``) until its first edit, which
copies them (one INSERT ... SELECT in the database). Every change bumps the tenant's
``watch_revision``; the parsed watchlist is cached per (tenant read, revision), so the same object
comes back until something changes and its compiled matcher is reused (``compile_watchlist``
caches by identity). Parsing a large watchlist runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
import operator
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import Text, delete, func, literal, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config.operator import LOCAL_TENANT
from bot.config.watchlist import (
    company_to_dict,
    parse_watchlist,
    topic_to_dict,
)
from bot.domain.alert import Destination, Subscription
from bot.domain.watchlist import Watchlist, name_key
from bot.storage.records import AuditEntry
from bot.storage.sql.base import StoreBase
from bot.storage.sql.controls import ControlsStore
from bot.storage.sql.tables import audit_log, destinations, subscriptions, tenants, watches

DEFAULTS_TENANT = LOCAL_TENANT  # whose watchlist new tenants read until they edit their own
WATCHLIST_CACHE = 256  # parsed watchlists kept per process
WRITE_CHUNK = 1000  # watch rows per INSERT (their parameters are processed on the event loop)
COMPARE_SLICE = 5000  # stored watch rows compared at a time with the config's (``sync_watchlist``)


async def make_own_watchlist(conn: Any, tenant: str) -> None:
    """Call at the start of every transaction that edits ``tenant``'s watch rows: a tenant still
    reading its parent's watchlist gets its own copy first (once, even with concurrent edits),
    and the revision is bumped so every cached watchlist and matcher of it is dropped."""
    parent = (await conn.execute(select(tenants.c.watch_parent).where(
        tenants.c.id == tenant))).scalar()
    if parent is not None:
        claimed = (await conn.execute(update(tenants).where(
            tenants.c.id == tenant, tenants.c.watch_parent == parent).values(watch_parent=None)
        )).rowcount
        if claimed:
            columns = ("kind", "name", "folded", "spec", "position", "updated_at")
            await conn.execute(watches.insert().from_select(
                ["tenant_id", *columns],
                select(literal(tenant, watches.c.tenant_id.type),
                       *(watches.c[c] for c in columns)).where(watches.c.tenant_id == parent)))
    await conn.execute(update(tenants).where(tenants.c.id == tenant).values(
        watch_revision=tenants.c.watch_revision + 1))


def watch_reader(tenant: str) -> Any:
    """SQL for the tenant whose watch rows ``tenant`` reads (its parent, or itself)."""
    parent = select(tenants.c.watch_parent).where(tenants.c.id == tenant).scalar_subquery()
    return func.coalesce(parent, tenant)


def _parse_rows(rows: list[tuple[str, str | None]], tenant: str) -> Watchlist:
    data: dict[str, list[Any]] = {"companies": [], "topics": []}
    for kind, spec in rows:
        entry = json.loads(spec) if isinstance(spec, str) else spec
        data["companies" if kind == "company" else "topics"].append(entry)
    return parse_watchlist(data, f"stored watchlist of {tenant}")


class TenantStore(StoreBase):
    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        # tenant whose rows were read -> (its revision, the parsed watchlist)
        self._watchlists: OrderedDict[str, tuple[int, Watchlist]] = OrderedDict()

    async def ensure_tenant(self, tenant: str, now: datetime, *, name: str = "",
                            defaults: Watchlist | None = None) -> bool:
        """Create the tenant if new, starting from ``defaults``; True if created. When
        ``defaults`` are the ``DEFAULTS_TENANT``'s watchlist (the operator's), nothing is
        copied: the new tenant reads that watchlist until its first edit."""
        async with self.tx() as conn:
            if (await conn.execute(select(tenants.c.id).where(tenants.c.id == tenant))).first():
                return False
        parent = await self._inherit_from(tenant, defaults) if defaults is not None else None
        async with self.tx() as conn:
            stmt = self.insert_ignore(tenants, "id").values(
                id=tenant, name=name, created_at=now, watch_parent=parent, watch_revision=0)
            created = (await conn.execute(stmt)).rowcount == 1
            if created and defaults is not None and parent is None:
                await self._write_watchlist(conn, tenant, defaults, now)
        return created

    async def _inherit_from(self, tenant: str, defaults: Watchlist) -> str | None:
        if tenant == DEFAULTS_TENANT or await self._watch_source(DEFAULTS_TENANT) is None:
            return None
        current = await self.watchlist(DEFAULTS_TENANT)
        same = current is defaults or await asyncio.to_thread(operator.eq, current, defaults)
        return DEFAULTS_TENANT if same else None

    async def _watch_source(self, tenant: str) -> tuple[str, int] | None:
        """(the tenant whose rows ``tenant`` reads, that tenant's revision); None if unknown."""
        parent = tenants.alias("parent")
        query = (select(tenants.c.watch_revision, tenants.c.watch_parent,
                        parent.c.watch_revision.label("parent_revision"))
                 .outerjoin(parent, parent.c.id == tenants.c.watch_parent)
                 .where(tenants.c.id == tenant))
        async with self.tx() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        if row.watch_parent is not None and row.parent_revision is not None:
            return str(row.watch_parent), int(row.parent_revision)
        return tenant, int(row.watch_revision)

    async def watchlist(self, tenant: str) -> Watchlist:
        """The tenant's watchlist: the same object while its revision stays the same."""
        source = await self._watch_source(tenant)
        if source is None:
            return Watchlist()
        read, revision = source
        hit = self._watchlists.get(read)
        if hit is not None and hit[0] == revision:
            self._watchlists.move_to_end(read)
            return hit[1]
        async with self.tx() as conn:  # (spec as text: decoded with the parsing, off the loop)
            rows = (await conn.execute(
                select(watches.c.kind, type_coerce(watches.c.spec, Text))
                .where(watches.c.tenant_id == read).order_by(watches.c.position, watches.c.id)
            )).all()
        watchlist = await asyncio.to_thread(_parse_rows, [tuple(r) for r in rows], read)
        self._watchlists[read] = (revision, watchlist)
        if len(self._watchlists) > WATCHLIST_CACHE:
            self._watchlists.popitem(last=False)
        return watchlist

    async def sync_watchlist(self, tenant: str, watchlist: Watchlist, now: datetime) -> bool:
        """Store ``watchlist`` as the tenant's unless it already is (True: it was written, and
        the revision bumped). A tenant with rows of its own compares them with the rows
        ``watchlist`` would write, without parsing them into a second watchlist, and an equal
        one caches ``watchlist`` for its revision (the poller reads it next): for 100,000
        companies, about 140 MB less at start than parsing the stored rows to compare."""
        if await self._stored_as(tenant, watchlist):
            return False
        source = await self._watch_source(tenant)
        if source is not None and source[0] != tenant:  # still reading its parent's rows
            stored = await self.watchlist(tenant)
            if stored is watchlist or await asyncio.to_thread(operator.eq, stored, watchlist):
                return False
        await self.replace_watchlist(tenant, watchlist, now)
        return True

    async def _stored_as(self, tenant: str, watchlist: Watchlist) -> bool:
        """The tenant has its own rows and they are the rows of ``watchlist`` (then cached).
        The rows are read in slices and compared with the entries as ``_watch_rows`` would
        write them, one at a time (no second copy of a big watchlist is ever whole)."""
        wanted = _wanted_specs(watchlist)
        async with self.tx() as conn:
            own = (await conn.execute(select(tenants.c.watch_revision).where(
                tenants.c.id == tenant, tenants.c.watch_parent.is_(None)))).first()
            if own is None:
                return False
            rows = await conn.stream(
                select(watches.c.kind, type_coerce(watches.c.spec, Text))
                .where(watches.c.tenant_id == tenant).order_by(watches.c.position, watches.c.id))
            same = True
            async for part in rows.partitions(COMPARE_SLICE):
                if not await asyncio.to_thread(_same_specs, part, wanted):
                    same = False
                    break
            await rows.close()
        if not same or any(next(left, None) is not None for left in wanted.values()):
            return False  # rows missing
        self._cache_watchlist(tenant, int(own.watch_revision), watchlist)
        return True

    async def replace_watchlist(self, tenant: str, watchlist: Watchlist, now: datetime) -> None:
        """Make the tenant's stored watchlist ``watchlist``: delete, then upsert every entry, so
        two processes syncing the same config at once both succeed. ``watchlist`` is then the
        cached one of the new revision (unless a repeated name was dropped): reading back a
        100,000-company watchlist just written was 150 MB and 2 s at the first start."""
        async with self.tx() as conn:
            await conn.execute(update(tenants).where(tenants.c.id == tenant).values(
                watch_parent=None, watch_revision=tenants.c.watch_revision + 1))
            revision = (await conn.execute(select(tenants.c.watch_revision).where(
                tenants.c.id == tenant))).scalar()
            await conn.execute(delete(watches).where(watches.c.tenant_id == tenant))
            written = await self._write_watchlist(conn, tenant, watchlist, now)
        if revision is not None and written == len(watchlist.companies) + len(watchlist.topics):
            self._cache_watchlist(tenant, int(revision), watchlist)

    def _cache_watchlist(self, tenant: str, revision: int, watchlist: Watchlist) -> None:
        self._watchlists[tenant] = (revision, watchlist)
        self._watchlists.move_to_end(tenant)
        if len(self._watchlists) > WATCHLIST_CACHE:
            self._watchlists.popitem(last=False)

    async def _write_watchlist(self, conn: Any, tenant: str, watchlist: Watchlist,
                               now: datetime) -> int:
        """Write the watch rows of ``watchlist``; how many."""
        rows = _watch_rows(tenant, watchlist, now)
        upsert = self._upsert(watches, ("tenant_id", "kind", "folded"),
                              ("name", "spec", "position", "updated_at"))
        # a chunk at a time (the loop runs between chunks; a 100,000-company watchlist's rows
        # are never all made at once)
        written = 0
        while chunk := await asyncio.to_thread(list, islice(rows, WRITE_CHUNK)):
            await conn.execute(upsert, chunk)
            written += len(chunk)
        return written

    def _upsert(self, table: Any, conflict: tuple[str, ...], columns: tuple[str, ...]) -> Any:
        """INSERT that updates ``columns`` of the row already holding the ``conflict`` key."""
        stmt = (postgresql.insert(table) if self.dialect == "postgresql"
                else sqlite.insert(table))
        return stmt.on_conflict_do_update(index_elements=list(conflict),
                                          set_={c: stmt.excluded[c] for c in columns})

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
        """Make the destination's subscriptions ``subs`` (insert the missing, delete the rest;
        safe when two processes sync at once)."""
        wanted = {(s.company or "", s.topic or "") for s in subs}
        async with self.tx() as conn:
            if wanted:
                await conn.execute(
                    self.insert_ignore(subscriptions, "destination_id", "company", "topic"),
                    [{"destination_id": destination_id, "company": company, "topic": topic,
                      "created_at": now} for company, topic in sorted(wanted)])
            stored = (await conn.execute(
                select(subscriptions.c.id, subscriptions.c.company, subscriptions.c.topic)
                .where(subscriptions.c.destination_id == destination_id))).all()
            stale = [row.id for row in stored if (row.company, row.topic) not in wanted]
            if stale:
                await conn.execute(delete(subscriptions).where(subscriptions.c.id.in_(stale)))

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
            controls = await ControlsStore.controls_of(conn, [d["id"] for d in dests])
        by_dest: dict[int, list[Subscription]] = {}
        for s in subs:
            by_dest.setdefault(s["destination_id"], []).append(
                Subscription(company=s["company"] or None, topic=s["topic"] or None))
        return tuple(
            Destination(id=d["id"], tenant=d["tenant_id"], address=d["address"],
                        subscriptions=tuple(by_dest.get(d["id"], ())), active=d["active"],
                        **({"controls": controls[d["id"]]} if d["id"] in controls else {}))
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


def _wanted_specs(watchlist: Watchlist) -> dict[str, Iterator[dict[str, Any]]]:
    """Per kind, the specs ``_watch_rows`` writes, in order, made one at a time."""
    return {kind: (row["spec"] for row in rows) for kind, rows in _rows_by_kind("", watchlist,
                                                                               None).items()}


def _same_specs(rows: Sequence[Any], wanted: Mapping[str, Iterator[dict[str, Any]]]) -> bool:
    """Stored (kind, spec JSON) rows, in position order, are the next wanted specs of their
    kinds (positions count per kind)."""
    for kind, spec in rows:
        entries = wanted.get(kind)
        want = None if entries is None else next(entries, None)
        if want is None or (json.loads(spec) if isinstance(spec, str) else spec) != want:
            return False
    return True


def _watch_rows(tenant: str, watchlist: Watchlist, now: datetime
                ) -> Iterator[dict[str, Any]]:
    """One row per watch, in watchlist order; a name repeated (``name_key``) kept once (the
    first). Made one at a time."""
    for rows in _rows_by_kind(tenant, watchlist, now).values():
        yield from rows


def _rows_by_kind(tenant: str, watchlist: Watchlist, now: datetime | None
                  ) -> dict[str, Iterator[dict[str, Any]]]:
    def rows(kind: str, specs: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        seen: set[str] = set()
        for i, spec in enumerate(specs):
            folded = name_key(spec["name"])
            if folded not in seen:
                seen.add(folded)
                yield {"tenant_id": tenant, "kind": kind, "name": spec["name"],
                       "folded": folded, "spec": spec, "position": i, "updated_at": now}
    return {"company": rows("company", map(company_to_dict, watchlist.companies)),
            "topic": rows("topic", map(topic_to_dict, watchlist.topics))}
