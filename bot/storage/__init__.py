"""Storage: SQLAlchemy 2 async on SQLite (default) or PostgreSQL, Alembic migrations."""

from __future__ import annotations

from typing import Any

from bot.storage.sql.chat import ChatStore
from bot.storage.sql.db import make_engine, upgrade
from bot.storage.sql.feeds import FeedRow, FeedStore, Follow, NewDelivery, PollRecord
from bot.storage.sql.outbox import (
    Backlog,
    DeliveryState,
    DestinationBatch,
    DestinationStatus,
    OutboxStore,
)
from bot.storage.sql.tenants import AuditEntry, TenantStore


class Storage(TenantStore, FeedStore, OutboxStore, ChatStore):
    """All queries newsbot makes, on one engine. Build with ``await open_storage(url)``."""


async def open_storage(url: str, *, migrate: bool = True,
                       connect_args: dict[str, Any] | None = None) -> Storage:
    engine = make_engine(url, connect_args)
    if migrate:
        try:
            await upgrade(engine)
        except BaseException:  # a failed start leaves no connection open
            await engine.dispose()
            raise
    return Storage(engine)


__all__ = ["AuditEntry", "Backlog", "DeliveryState", "DestinationBatch", "DestinationStatus",
           "FeedRow", "Follow", "NewDelivery", "PollRecord",
           "Storage", "open_storage"]
