"""Worker liveness: a lease whose owner is still running is kept; one whose owner was killed
(a real process, SIGKILL) is freed at once, on SQLite (a file lock) and PostgreSQL (an advisory
lock). Its never-attempted deliveries go out on the next round, without waiting out the lease;
the one in flight is still checked with the platform first."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from test_delivery_faults import TinySink, make, queue

from bot.app import App
from bot.domain.article import FeedSource
from bot.jobs.liveness import Liveness, lock_key
from bot.storage import Storage, open_storage

LEASE = timedelta(seconds=45)
REPO = Path(__file__).resolve().parents[1]
CHILD = """
import asyncio, json, sys
from bot.jobs.heartbeat import worker_id
from bot.jobs.liveness import Liveness
from bot.storage import open_storage

async def main():
    storage = await open_storage(sys.argv[1], migrate=False,
                                 connect_args=json.loads(sys.argv[2]))
    owner = worker_id()
    liveness = Liveness(storage, owner)
    await liveness.start()
    print(owner, flush=True)
    await asyncio.sleep(3600)
    await liveness.close()

asyncio.run(main())
"""


async def start_worker(db_url: tuple[str, dict[str, Any]]) -> tuple[asyncio.subprocess.Process,
                                                                     str]:
    """A real process that takes its liveness lock and waits; returns it and its owner id."""
    url, connect_args = db_url
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, url, json.dumps(connect_args),
        cwd=str(REPO), stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    owner = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()
    assert owner, "the worker process did not start"
    return proc, owner


async def kill(proc: asyncio.subprocess.Process) -> None:
    proc.kill()
    await proc.wait()


async def claim_one(storage: Storage, clock: Any, owner: str) -> int:
    [batch] = await storage.claim_destinations(clock(), owner=owner, lease=LEASE,
                                               platforms=["rec"], limit=1)
    return batch.destination_id


async def test_a_live_workers_leases_are_kept_and_a_killed_ones_are_freed_at_once(
        db_url, tmp_path, clock) -> None:
    sink = TinySink()
    app = await make(db_url, tmp_path, clock, {"rec": sink}, "rec:a", "rec:b")
    live = Liveness(app.storage, "live-worker-on-this-host")
    proc, gone = await start_worker(db_url)
    try:
        await live.start()
        a = await queue(app.storage, clock, "rec:a", 2)
        b = await queue(app.storage, clock, "rec:b", 3)
        await claim_one(app.storage, clock, live.owner)  # rec:a: a worker that is running
        await claim_one(app.storage, clock, gone)  # rec:b: the process about to be killed
        await app.storage.begin_attempt(b[0], clock())  # in flight when it dies; it landed
        sink.landed[b[0]] = "m-before-kill"
        assert (await app.deliver_due()).sent == 0  # both owners are alive: nothing is taken
        await kill(proc)
        report = await app.deliver_due()  # same moment: the killed worker's lease has 45 s left
        assert report.sent == 3
        assert sink.checked == [b[0]]  # only the in-flight one is asked about
        assert Counter(d.id for d in sink.sent) == Counter(b[1:])  # nothing twice
        states = {s.id: s for s in await app.storage.delivery_states()}
        assert states[b[0]].message_id == "m-before-kill"
        assert [states[i].status for i in a] == ["pending", "pending"]  # still the live one's
        assert await app.storage.lease_owners(clock()) == {live.owner}
    finally:
        if proc.returncode is None:
            await kill(proc)
        await live.close()
        await app.close()


async def test_a_new_start_frees_a_killed_workers_destinations_and_feeds(
        db_url, tmp_path, clock) -> None:
    url, connect_args = db_url
    storage = await open_storage(url, connect_args=connect_args)
    proc, gone = await start_worker(db_url)
    try:
        await queue(storage, clock, "rec:a", 2)
        await claim_one(storage, clock, gone)
        feed = await storage.ensure_feed(FeedSource("https://other.example.com/feed", "F"),
                                         clock())
        await storage.follow("local", feed, title="F", backfill=0, source="config", now=clock())
        await storage.make_due(clock())
        assert await storage.claim_due_feeds(clock(), 50, LEASE, gone)
        assert await storage.lease_owners(clock()) == {gone}
    finally:
        await kill(proc)
        await storage.dispose()
    sink = TinySink()
    app: App = await make(db_url, tmp_path, clock, {"rec": sink}, "rec:a")
    try:
        assert await app.storage.lease_owners(clock()) == set()  # freed by the start itself
        assert (await app.deliver_due()).sent == 2
    finally:
        await app.close()


async def test_a_worker_that_closes_lets_go_of_its_lock(db_url, tmp_path, clock) -> None:
    app = await make(db_url, tmp_path, clock, {"rec": TinySink()}, "rec:a")
    other = await make(db_url, tmp_path, clock, {"rec": TinySink()}, "rec:a")
    owner = app.owner
    try:
        assert await other.liveness.dead([owner, other.owner]) == []  # alive; never itself
    finally:
        await app.close()
    try:
        if other.storage.dialect == "postgresql":  # the key is free again
            assert await other.liveness.dead([owner]) == [owner]
        else:  # its lock file is gone with it
            assert not any(other.liveness.folder.glob(f"*{owner.rsplit(':', 1)[1]}.lock"))
    finally:
        await other.close()


async def test_a_worker_whose_lock_connection_dropped_takes_its_lock_again(
        db_url, tmp_path, clock) -> None:
    if db_url[0].startswith("sqlite"):
        pytest.skip("a PostgreSQL session lock; a file lock cannot be lost while the file is open")
    app = await make(db_url, tmp_path, clock, {"rec": TinySink()}, "rec:a")
    other = await make(db_url, tmp_path, clock, {"rec": TinySink()}, "rec:a")
    try:
        async with other.storage.engine.connect() as conn:  # e.g. a server restart
            await conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_locks "
                                    "WHERE locktype = 'advisory' AND objid = :low"),
                               {"low": lock_key(app.owner) & 0xFFFFFFFF})
            await conn.commit()
            # pg_terminate_backend only signals the backend: wait until it is gone with its lock
            for _ in range(100):
                held = (await conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = "
                                                "'advisory' AND objid = :low"),
                                           {"low": lock_key(app.owner) & 0xFFFFFFFF})).scalar()
                await conn.commit()
                if not held:
                    break
                await asyncio.sleep(0.05)
        assert await other.liveness.dead([app.owner]) == [app.owner]
        await app.deliver_due()  # each round first checks its own lock
        assert await other.liveness.dead([app.owner]) == []
    finally:
        await other.close()
        await app.close()
