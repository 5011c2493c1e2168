"""Storage: one Protocol per consumer (ports.py), the values it hands out (records.py), and the
SQLAlchemy 2 async implementation on SQLite or PostgreSQL with Alembic migrations (sql/)."""

from __future__ import annotations

from typing import Any

from bot.storage.ports import (
    AppStateStorage,
    ChatStorage,
    ConfigSyncStorage,
    ControlsStorage,
    DelivererStorage,
    DigestStorage,
    InstallationStorage,
    NoticeStorage,
    PollerStorage,
)
from bot.storage.records import (
    AuditEntry,
    Backlog,
    DeliveryState,
    DestinationBatch,
    DestinationStatus,
    FeedRow,
    Follow,
    NewDelivery,
    PollRecord,
    StoredArticle,
)
from bot.storage.sql.chat import ChatStore
from bot.storage.sql.controls import ControlsStore
from bot.storage.sql.db import MIGRATIONS, current_revision, make_engine, upgrade
from bot.storage.sql.feeds import FeedStore, is_transient
from bot.storage.sql.installations import InstallationStore
from bot.storage.sql.outbox import UNCERTAIN, OutboxStore
from bot.storage.sql.stories import StoryStore
from bot.storage.sql.tenants import TenantStore


class Storage(TenantStore, FeedStore, OutboxStore, ChatStore, InstallationStore,
              ControlsStore, StoryStore):
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


__all__ = ["AuditEntry", "Backlog", "ChatStorage", "ConfigSyncStorage", "ControlsStorage",
           "DigestStorage", "DelivererStorage", "NoticeStorage",
           "DeliveryState", "DestinationBatch", "DestinationStatus", "FeedRow", "Follow",
           "NewDelivery", "PollRecord", "PollerStorage", "Storage",
           "StoredArticle", "UNCERTAIN", "InstallationStorage", "AppStateStorage",
           "is_transient", "open_storage", "MIGRATIONS", "current_revision"]
