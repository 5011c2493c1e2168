"""Engine creation and Alembic migrations, for SQLite (default) and PostgreSQL.

Migrations are safe to race: several processes starting together on one database take turns,
under a PostgreSQL advisory lock (held by the migration's own transaction) or, on SQLite, an
exclusive ``fcntl`` lock on a file beside the database (``newsbot.db.lock``).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.config.settings import sqlite_path
from bot.domain.errors import StorageError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 0x6E657773626F74  # "newsbot": one advisory lock key per database
LOCK_WAIT = 120.0  # seconds to wait for another process's migration before giving up


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, connect_args: dict[str, Any] | None = None) -> AsyncEngine:
    """An async engine for ``sqlite+aiosqlite://`` or ``postgresql+asyncpg://`` URLs."""
    if url.startswith("sqlite") and not url.startswith("sqlite+aiosqlite"):
        url = url.replace("sqlite", "sqlite+aiosqlite", 1)
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    if path := sqlite_path(url):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the SQLite database's folder: {exc}") from exc
    try:
        engine = create_async_engine(url, pool_pre_ping=not url.startswith("sqlite"),
                                     connect_args=connect_args or {})
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StorageError(f"cannot use database URL: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


if TYPE_CHECKING:
    from alembic.config import Config

_REVISION_LINE = re.compile(r"""^(down_revision|revision)\s*(?::[^=\n]*)?=\s*(.*?)\s*$""", re.M)
_LITERAL = re.compile(r"""None|"([^"\\]*)"|'([^'\\]*)'""")


@lru_cache(maxsize=1)
def script_head() -> str | None:
    """The one head revision of our migration scripts, read from their ``revision`` and
    ``down_revision`` lines without importing Alembic; None when not sure (a line that is not
    a plain literal, a merge, several heads): then Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        found = dict(_REVISION_LINE.findall(path.read_text(encoding="utf-8")))
        literals = {k: _LITERAL.fullmatch(v) for k, v in found.items()}
        if set(literals) != {"revision", "down_revision"} or not all(literals.values()):
            return None
        rev, down = literals["revision"], literals["down_revision"]
        assert rev is not None and down is not None
        if rev.group(0) == "None":
            return None
        revisions.add(rev.group(1) or rev.group(2) or "")
        if down.group(0) != "None":
            parents.add(down.group(1) or down.group(2) or "")
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


async def _at_head(engine: AsyncEngine) -> bool:
    """The database is at our migrations' head (a committed migration: safe to read without the
    migration lock; anything else, the full upgrade runs under it)."""
    head = script_head()
    if head is None:
        return False
    try:
        async with engine.connect() as conn:
            stored = (await conn.execute(text("SELECT version_num FROM alembic_version"))
                      ).scalars().all()
    except SQLAlchemyError:  # no table yet: a new database
        return False
    return list(stored) == [head]


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent; run on every start; safe to race).
    A database already at the head costs one query: Alembic (~0.15 s of imports) is loaded
    only when there is something to do."""
    if revision == "head" and await _at_head(engine):
        return
    from alembic import command

    try:
        async with sqlite_lock(sqlite_path(str(engine.url))), engine.begin() as conn:
            if engine.dialect.name == "postgresql":  # released when this transaction ends
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                   {"key": MIGRATION_LOCK_KEY})
            await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), revision))
    except (SQLAlchemyError, OSError) as exc:
        raise StorageError(f"database migration failed: {exc}") from exc


@asynccontextmanager
async def sqlite_lock(database: Path | None, wait: float = LOCK_WAIT) -> AsyncIterator[None]:
    """An exclusive lock on ``<database>.lock`` (nothing for other databases); polled, so the
    wait can be cancelled. The kernel releases it if the process dies."""
    if database is None:
        yield
        return
    fd = os.open(database.with_name(database.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if loop.time() > deadline:
                    raise StorageError(f"another process has been migrating {database} for "
                                       f"{wait:.0f}s; giving up") from None
                await asyncio.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision())
