"""Shared plumbing for the store modules: the engine, error translation, dialect-aware upserts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.domain.errors import StorageError


class StoreBase:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[AsyncConnection]:
        """One transaction; database errors become StorageError."""
        try:
            async with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StorageError(f"database error: {exc.__class__.__name__}: {exc}") from exc

    def insert_ignore(self, table: Table, *conflict: str) -> Any:
        """INSERT that silently skips rows violating the unique constraint on ``conflict``."""
        if self.dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(conflict))
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(conflict))

    @staticmethod
    async def lease_rows(conn: AsyncConnection, table: Table, free: Any, order: Any, limit: int,
                         *, until: Any, owner: str | None, returning: tuple[Any, ...]
                         ) -> list[Any]:
        """Lease up to ``limit`` rows matching ``free`` (in ``order``) to ``owner`` until
        ``until``; returns ``returning`` of the rows this call won. PostgreSQL skips rows another
        worker is claiming right now (no lock queue, no deadlock); SQLite serialises writers and
        ignores the clause; the conditional UPDATE makes the claim safe either way."""
        ids = (await conn.execute(select(table.c.id).where(free).order_by(order).limit(limit)
                                  .with_for_update(skip_locked=True))).scalars().all()
        if not ids:
            return []
        return list((await conn.execute(
            update(table).where(table.c.id.in_(ids), free)
            .values(lease_until=until, lease_owner=owner).returning(*returning))).all())

    async def dispose(self) -> None:
        await self.engine.dispose()
