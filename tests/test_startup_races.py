"""Starting several processes at once: migrations take turns, config syncs both succeed, and a
second start does not disturb the first one's schedule."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import sys
import uuid
import warnings
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import postgres_url
from runhelpers import clean_env, write_config

from bot.cli import main
from bot.config.apply import sync_operator_config
from bot.config.operator import DestinationSpec, OperatorConfig
from bot.domain.alert import Subscription
from bot.domain.article import FeedSource
from bot.domain.watchlist import Company, Topic, Watchlist
from bot.storage import Storage, open_storage

PG_TRIALS = int(os.environ.get("NEWSBOT_STARTUP_TRIALS", "20"))


def config_for(round_: int, base: Path) -> OperatorConfig:
    """A config that changes every round: entries come, go and move."""
    shift = round_ % 3
    companies = tuple(Company(f"Company {i}") for i in range(shift, shift + 6))
    topics = (Topic("Funding", ("funding round",)), Topic(f"Topic {shift}", ("word",)))
    subs = tuple(Subscription(company=c.name) for c in companies[:3]) + (
        Subscription(company=companies[0].name, topic="Funding"), Subscription(topic="Funding"))
    return OperatorConfig(
        feeds=tuple(FeedSource(f"https://news.example.com/{i}.xml", f"Feed {i}")
                    for i in range(shift, shift + 4)),
        watchlist=Watchlist(companies, topics),
        destinations=(DestinationSpec("jsonl:a.jsonl", subs),
                      DestinationSpec(f"jsonl:{shift}.jsonl", subs[:1])),
        directory=base)


async def stored(storage: Storage) -> tuple[object, ...]:
    dests = await storage.destinations("local")
    return (await storage.watchlist("local"),
            sorted(f.url for f in await storage.feed_follows("local")),
            sorted((d.address, sorted(map(repr, d.subscriptions))) for d in dests))


def expected(config: OperatorConfig) -> tuple[object, ...]:
    return (config.watchlist, sorted(f.url for f in config.feeds),
            sorted((d.address, sorted(map(repr, d.subscriptions))) for d in config.destinations))


async def test_two_starts_at_once_migrate_and_sync_the_same_config(db_url, clock,
                                                                   tmp_path) -> None:
    url, connect_args = db_url
    first, second = await asyncio.gather(open_storage(url, connect_args=connect_args),
                                         open_storage(url, connect_args=connect_args))
    try:
        for round_ in range(8):
            config = config_for(round_, tmp_path)
            clock.advance(minutes=1)
            await asyncio.gather(sync_operator_config(first, config, clock()),
                                 sync_operator_config(second, config, clock()))
            assert await stored(first) == expected(config)
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_second_start_does_not_make_a_polled_feed_due(storage, clock, tmp_path) -> None:
    config = config_for(0, tmp_path)
    await sync_operator_config(storage, config, clock())
    claimed = await storage.claim_due_feeds(clock(), 50, timedelta(minutes=10))
    assert len(claimed) == len(config.feeds)  # new feeds are due at once
    for feed in claimed:  # polled (here: failed), next poll in 15 minutes
        await storage.record_failure(feed.id, clock(), "offline",
                                     clock() + timedelta(minutes=15))
    clock.advance(minutes=1)
    await sync_operator_config(storage, config, clock())  # another process starts
    assert await storage.claim_due_feeds(clock(), 50, timedelta(minutes=10)) == []
    clock.advance(minutes=15)
    assert len(await storage.claim_due_feeds(clock(), 50, timedelta(minutes=10))) == 4


# --- real processes -------------------------------------------------------------------------------
async def start_pair(base: Path, db: str) -> list[tuple[int, str]]:
    """Two `newsbot run --once` processes started together on ``db``: (exit status, stderr)."""
    config = base / "config"
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", "--once", "--config", str(config), "--db", db,
        cwd=base, env=clean_env(), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE) for _ in range(2)]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 120)
    return [(proc.returncode or 0, err.decode(errors="replace"))
            for proc, (_, err) in zip(procs, outputs, strict=True)]


def assert_both_came_up(results: list[tuple[int, str]], base: Path, trial: int) -> None:
    for code, err in results:
        assert code == 0, f"trial {trial}: {err[-3000:]}"
        assert "Traceback" not in err and "Unclosed" not in err, f"trial {trial}: {err[-3000:]}"
    alerts = (base / "out" / "alerts.jsonl").read_text().splitlines()
    assert len(alerts) == 3, f"trial {trial}: {len(alerts)} alert lines"  # none lost or doubled


async def test_two_processes_start_together_on_fresh_sqlite(tmp_path) -> None:
    for trial in range(2):
        base = tmp_path / f"t{trial}"
        base.mkdir()
        write_config(base, [])
        results = await start_pair(base, f"sqlite+aiosqlite:///{base / 'db.sqlite'}")
        assert_both_came_up(results, base, trial)


def _forked_main(argv: list[str], base: Path) -> None:
    """A forked child: a fresh process running `newsbot ...` with its own stderr file."""
    os.chdir(base)
    os.environ.clear()
    os.environ.update(clean_env())
    err = open(base / f"stderr-{os.getpid()}.log", "w", buffering=1)  # noqa: SIM115
    os.dup2(err.fileno(), 2)
    sys.stdout, sys.stderr = open(os.devnull, "w"), err  # noqa: SIM115
    logging.root.handlers.clear()  # pytest's capture handlers came along with the fork
    warnings.resetwarnings()
    sys.exit(main(argv))


def start_pair_forked(base: Path, db: str) -> list[tuple[int, str]]:
    """Like ``start_pair``, but the two processes are forked from this one (already imported),
    so a trial costs the start-up race itself, not two interpreters' imports."""
    argv = ["run", "--once", "--config", str(base / "config"), "--db", db]
    fork = multiprocessing.get_context("fork")
    procs = [fork.Process(target=_forked_main, args=(argv, base)) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    return [(proc.exitcode if proc.exitcode is not None else -1,
             (base / f"stderr-{proc.pid}.log").read_text(errors="replace")) for proc in procs]


@pytest.mark.postgres
def test_two_processes_start_together_on_a_fresh_postgres_database(tmp_path) -> None:
    url = postgres_url()
    if url is None:
        if os.environ.get("NEWSBOT_REQUIRE_POSTGRES") == "1":
            pytest.fail("no PostgreSQL server but NEWSBOT_REQUIRE_POSTGRES=1")
        pytest.skip("no PostgreSQL server at NEWSBOT_TEST_POSTGRES_URL")
    for trial in range(PG_TRIALS):
        name = f"nb_race_{uuid.uuid4().hex[:12]}"
        asyncio.run(admin(url, f'CREATE DATABASE "{name}"'))
        try:
            base = tmp_path / f"t{trial}"
            base.mkdir()
            write_config(base, [])
            results = start_pair_forked(base, url.rsplit("/", 1)[0] + "/" + name)
        finally:
            asyncio.run(admin(url, f'DROP DATABASE "{name}" WITH (FORCE)'))
        assert_both_came_up(results, base, trial)


async def admin(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
