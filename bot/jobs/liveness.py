"""Worker liveness from the kernel or the database: is a lease's owner still running?

Each worker holds a lock for its lifetime that its death releases at once: on PostgreSQL a
session-level advisory lock (key: a stable 64-bit hash of the worker id) on a dedicated
connection; on SQLite an ``flock`` on ``<database>.workers/<worker id>.lock``. Another worker
tests an owner by trying that lock without waiting: if it can take it, the owner is gone, and the
leases it held (destinations, feeds) are released at once instead of after the lease runs out.
Deliveries keep their attempt markers, so one that was in flight is still checked with the
platform. Where the test cannot tell (an owner with no lock file, another host's worker on
SQLite), the lease's expiry stays the fallback.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import socket
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config.settings import sqlite_path
from bot.storage import Storage

log = logging.getLogger(__name__)


def lock_key(owner: str) -> int:
    """A stable signed 64-bit key for ``owner`` (PostgreSQL's advisory lock space)."""
    return int.from_bytes(hashlib.blake2b(owner.encode(), digest_size=8).digest(), "big",
                          signed=True)


def lock_file(folder: Path, owner: str) -> Path:
    return folder / (re.sub(r"[^A-Za-z0-9._-]", "_", owner) + ".lock")


def workers_folder(storage: Storage) -> Path | None:
    """``<database>.workers`` beside a SQLite file; None for other databases."""
    path = sqlite_path(str(storage.engine.url))
    return path.with_name(path.name + ".workers") if path else None


def _try_flock(path: Path) -> int | None:
    """An open descriptor holding an exclusive lock on ``path``, or None if another holds it
    (or the file does not exist: nothing to tell)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


class Liveness:
    """This worker's life lock (``start``/``close``) and the test of other owners (``reap``)."""

    def __init__(self, storage: Storage, owner: str) -> None:
        self.storage = storage
        self.owner = owner
        self.folder = workers_folder(storage)
        self._conn: AsyncConnection | None = None
        self._fd: int | None = None

    async def start(self) -> None:
        """Take this worker's lock; held until ``close`` or the process ends."""
        if self.storage.dialect == "postgresql":
            self._conn = await self.storage.engine.connect()
            await self._conn.execute(text("SELECT pg_advisory_lock(:k)"),
                                     {"k": lock_key(self.owner)})
            await self._conn.commit()  # a session lock outlives the transaction
        elif self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_file(self.folder, self.owner), os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh, unique name: never waits
            self._fd = fd

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):  # a broken connection has lost the lock anyway
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"),
                                   {"k": lock_key(self.owner)})
            await conn.close()
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                os.unlink(lock_file(self.folder, self.owner))  # type: ignore[arg-type]
            os.close(fd)

    async def dead(self, owners: Iterable[str]) -> list[str]:
        """Which of ``owners`` (never this worker) are known to have ended."""
        others = sorted({o for o in owners if o != self.owner})
        if not others:
            return []
        if self.storage.dialect == "postgresql":
            return await self._dead_pg(others)
        if self.folder is None:
            return []
        host = socket.gethostname()[:60]
        return [o for o in others if o.split(":", 1)[0] == host and self._dead_file(o)]

    async def _dead_pg(self, owners: list[str]) -> list[str]:
        dead = []
        async with self.storage.engine.connect() as conn:
            for owner in owners:
                key = {"k": lock_key(owner)}
                if (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), key)).scalar():
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), key)
                    dead.append(owner)
            await conn.commit()
        return dead

    def _dead_file(self, owner: str) -> bool:
        path = lock_file(self.folder, owner)  # type: ignore[arg-type]
        fd = _try_flock(path)
        if fd is None:
            return False
        try:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        finally:
            os.close(fd)
        return True

    async def keep(self) -> None:
        """PostgreSQL: if the lock's connection was lost (a server restart), take the lock again
        on a new one, so others see this worker alive (they may have freed its leases between)."""
        if self._conn is None:
            return
        try:
            await self._conn.execute(text("SELECT 1"))
            await self._conn.commit()
        except Exception as exc:  # any failure: the session (and lock) is gone
            log.warning("lost the worker lock's connection (%s); taking the lock again", exc)
            with contextlib.suppress(Exception):
                await self._conn.invalidate()
            self._conn = None
            await self.start()

    async def reap(self, now: datetime) -> int:
        """Release every lease (destinations, feeds) held by an owner that has ended; how many.
        First makes sure this worker's own lock is still held."""
        await self.keep()
        dead = await self.dead(await self.storage.lease_owners(now))
        if not dead:
            return 0
        released = await self.storage.release_leases_of(dead)
        log.info("released %d lease(s) of %d ended worker(s): %s", released, len(dead),
                 ", ".join(dead))
        return released
