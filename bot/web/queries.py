"""What the metrics and the status page read from storage: across every tenant, read-only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.domain.alert import display_address
from bot.storage import AuditEntry, Storage
from bot.storage.sql.tables import deliveries, destinations, feeds, follows

LIMIT = 500  # rows per table on the status page (the operator's view, not an export)


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    alerts: dict[str, int] = field(default_factory=dict)  # delivery status -> how many
    oldest_pending_age: float = 0.0  # seconds
    stopped: int = 0
    waiting: int = 0
    failing_feeds: int = 0


async def outbox_counts(storage: Storage, now: datetime) -> OutboxCounts:
    async with storage.tx() as conn:
        states = (await conn.execute(select(deliveries.c.status, func.count())
                                     .group_by(deliveries.c.status))).all()
        oldest = (await conn.execute(select(func.min(deliveries.c.created_at))
                                     .where(deliveries.c.status == "pending"))).scalar()
        stopped = (await conn.execute(select(func.count()).select_from(destinations)
                                      .where(destinations.c.active.is_(False)))).scalar()
        waiting = (await conn.execute(select(func.count()).select_from(destinations)
                                      .where(destinations.c.waiting_reason.is_not(None)))).scalar()
        failing = (await conn.execute(select(func.count()).select_from(feeds)
                                      .where(feeds.c.error_count > 0))).scalar()
    age = max(0.0, (now - aware(oldest)).total_seconds()) if oldest is not None else 0.0
    return OutboxCounts({str(s): int(n) for s, n in states}, age, int(stopped or 0),
                        int(waiting or 0), int(failing or 0))


def aware(value: datetime | str) -> datetime:
    """An aggregate (min/max) of a UTCDateTime column, as aware UTC on every backend."""
    if isinstance(value, str):  # SQLite hands some aggregates back as text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FeedStatus:
    url: str
    title: str
    tenants: tuple[str, ...]
    last_success_at: datetime | None
    last_error_at: datetime | None
    next_poll_at: datetime | None
    error_count: int
    last_error: str | None

    @property
    def failing(self) -> bool:
        return self.error_count > 0


@dataclass(frozen=True, slots=True)
class DestinationRow:
    tenant: str
    address: str  # display form: webhook secrets masked
    active: bool
    stopped_reason: str | None
    waiting_reason: str | None
    paused_until: datetime | None
    pending: int
    last_sent_at: datetime | None


@dataclass(frozen=True, slots=True)
class AlertRow:
    destination: str
    title: str
    feed: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    now: datetime
    feeds: tuple[FeedStatus, ...]
    destinations: tuple[DestinationRow, ...]
    alerts: tuple[AlertRow, ...]
    audit: tuple[AuditEntry, ...]
    counts: OutboxCounts


async def status_snapshot(storage: Storage, now: datetime, *, recent: int = 50
                          ) -> StatusSnapshot:
    return StatusSnapshot(now, await feed_statuses(storage), await destination_rows(storage),
                          await recent_alerts(storage, recent),
                          tuple(await storage.audit_entries(None, recent)),
                          await outbox_counts(storage, now))


async def feed_statuses(storage: Storage) -> tuple[FeedStatus, ...]:
    async with storage.tx() as conn:
        rows = (await conn.execute(select(feeds).order_by(feeds.c.error_count.desc(),
                                                          feeds.c.id).limit(LIMIT))).mappings().all()
        links = (await conn.execute(select(follows.c.feed_id, follows.c.tenant_id,
                                           follows.c.title))).all()
    tenants: dict[int, list[str]] = {}
    titles: dict[int, str] = {}
    for feed_id, tenant, title in links:
        tenants.setdefault(feed_id, []).append(tenant)
        titles.setdefault(feed_id, title)
    return tuple(FeedStatus(r["url"], titles.get(r["id"]) or r["title"],
                            tuple(sorted(tenants.get(r["id"], ()))), r["last_success_at"],
                            r["last_error_at"], r["next_poll_at"], int(r["error_count"]),
                            r["last_error"]) for r in rows)


async def destination_rows(storage: Storage) -> tuple[DestinationRow, ...]:
    pending = (select(func.count()).where(deliveries.c.destination_id == destinations.c.id,
                                          deliveries.c.status == "pending")
               .scalar_subquery())
    last_sent = (select(func.max(deliveries.c.sent_at))
                 .where(deliveries.c.destination_id == destinations.c.id).scalar_subquery())
    query = (select(destinations, pending.label("pending"), last_sent.label("last_sent"))
             .order_by(destinations.c.active, destinations.c.tenant_id, destinations.c.id)
             .limit(LIMIT))
    async with storage.tx() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return tuple(DestinationRow(r["tenant_id"], display_address(r["address"]), bool(r["active"]),
                                r["stopped_reason"], r["waiting_reason"], r["paused_until"],
                                int(r["pending"] or 0),
                                aware(r["last_sent"]) if r["last_sent"] else None)
                 for r in rows)


async def recent_alerts(storage: Storage, limit: int) -> tuple[AlertRow, ...]:
    query = (select(deliveries, destinations.c.address)
             .join(destinations, destinations.c.id == deliveries.c.destination_id)
             .order_by(deliveries.c.id.desc()).limit(limit))
    async with storage.tx() as conn:
        rows = (await conn.execute(query)).mappings().all()
    out = []
    for r in rows:
        alert = r["alert"] if isinstance(r["alert"], dict) else {}
        out.append(AlertRow(display_address(r["address"]), str(alert.get("title") or ""),
                            str(alert.get("feed") or ""), r["status"], int(r["attempts"]),
                            r["created_at"], r["sent_at"], r["last_error"]))
    return tuple(out)
