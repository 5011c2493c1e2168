"""A cycle polls feeds in batches (issue 16): what a user notices is that every feed's new
items become alerts exactly once, a 304 changes nothing but the feed's state, `run --once`
skips what another worker polled after it started, and config sync at start rewrites
nothing that did not change."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from apphelpers import open_app
from feedserver import FeedServer, Item, rss
from sqlalchemy import select

import bot.app as app_module
from bot.app import App
from bot.config.apply import sync_operator_config
from bot.delivery.jsonl import JsonlSink
from bot.domain.article import FeedSource
from bot.domain.watchlist import Company, Watchlist
from bot.storage.sql.tables import feeds, tenants

WATCHLIST = Watchlist(companies=(Company("Nvidia"),))


def items(feed: int, n: int, start: int = 0) -> list[Item]:
    return [Item(guid=f"f{feed}-{i}", title=f"Feed {feed} item {i}" + (" Nvidia" if i % 2 else ""),
                 text="Nvidia said it would build a plant." if i % 2 else "Weather is fine.")
            for i in range(start, start + n)]


def alerts(tmp_path: Path) -> list[dict]:
    path = tmp_path / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
async def app(db_url, tmp_path: Path, clock, feed_server: FeedServer):
    urls = [feed_server.set(f"/f{i}.xml", rss(items(i, 4))) for i in range(5)]
    built = await open_app(db_url, tmp_path, clock, feeds=[FeedSource(u) for u in urls],
                           watchlist=WATCHLIST, sinks={"jsonl": JsonlSink(tmp_path)},
                           address="jsonl:alerts.jsonl")
    yield built
    await built.close()


async def test_a_batch_of_feeds_alerts_each_new_item_once_and_304s_change_nothing(
        app: App, feed_server: FeedServer, tmp_path: Path, clock) -> None:
    first = await app.cycle(all_feeds=True)
    assert (first.polled, first.new_articles, first.alerts) == (5, 20, 0)
    for i in (1, 3):  # two feeds get two new items each, one of them about Nvidia
        feed_server.set(f"/f{i}.xml", rss(items(i, 6)))
    clock.advance(minutes=1)
    report = await app.cycle(all_feeds=True)
    assert (report.polled, report.failed, report.new_articles, report.alerts) == (5, 0, 4, 2)
    assert sorted(a["title"] for a in alerts(tmp_path)) == ["Feed 1 item 5 Nvidia",
                                                            "Feed 3 item 5 Nvidia"]
    assert sum(feed_server.conditional_hits.values()) == 3  # the unchanged feeds: 304
    clock.advance(minutes=1)
    again = await app.cycle(all_feeds=True)
    assert (again.polled, again.new_articles, again.alerts) == (5, 0, 0)
    assert len(alerts(tmp_path)) == 2


async def test_run_once_skips_feeds_another_worker_polled_after_it_started(
        app: App, feed_server: FeedServer, clock) -> None:
    await app.cycle(all_feeds=True)
    started = clock.advance(minutes=5)  # this run starts; another worker polls two feeds
    clock.advance(seconds=2)
    other = await app.storage.claim_due_feeds(clock(), 2, timedelta(minutes=1), "other",
                                              not_polled_since=started)
    assert len(other) == 2
    await app.poller.poll_many(other, clock())
    hits = dict(feed_server.hits)
    report = await app.cycle(all_feeds=True, since=started)
    assert report.polled == 3
    fetched = {p for p, n in feed_server.hits.items() if n > hits.get(p, 0)}
    assert len(fetched) == 3 and not {f.url.rsplit("/", 1)[1] for f in other} & {
        p.lstrip("/") for p in fetched}


async def test_run_once_makes_no_feed_due_for_the_long_running_workers(app: App, clock) -> None:
    await app.cycle(all_feeds=True)
    clock.advance(minutes=1)
    other = await app.storage.claim_due_feeds(clock(), 1, timedelta(minutes=1), "other",
                                              not_polled_since=clock())
    assert other  # leased by another worker: this run leaves it alone
    await app.cycle(all_feeds=True)
    async with app.storage.tx() as conn:
        due = (await conn.execute(select(feeds.c.id).where(
            feeds.c.next_poll_at <= clock()))).scalars().all()
    assert list(due) == []  # nothing made due; the leased feed keeps its own schedule


async def test_a_restart_with_the_same_config_rewrites_nothing(app: App, clock) -> None:
    async with app.storage.tx() as conn:
        before = (await conn.execute(select(tenants.c.watch_revision))).scalars().all()
    await app.cycle(all_feeds=True)
    clock.advance(minutes=1)
    await sync_operator_config(app.storage, app.config, clock())  # a second start
    async with app.storage.tx() as conn:
        after = (await conn.execute(select(tenants.c.watch_revision))).scalars().all()
        not_due = (await conn.execute(select(feeds.c.id).where(
            feeds.c.next_poll_at > clock()))).scalars().all()
    assert after == before  # the watchlist kept its revision: every matcher stays cached
    assert len(not_due) == 5  # and no polled feed was made due again


async def test_a_worker_stopped_mid_cycle_leaves_the_batch_it_claimed_ahead_to_others(
        db_url, tmp_path: Path, clock, feed_server: FeedServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "POLL_BATCH", 2)  # six feeds are three batches
    sources = [FeedSource(feed_server.set(f"/s{i}.xml", rss(items(10 + i, 2)))) for i in range(6)]
    workers = [await open_app(db_url, tmp_path, clock, feeds=sources, watchlist=WATCHLIST,
                              sinks={"jsonl": JsonlSink(tmp_path)}, address="jsonl:alerts.jsonl")
               for _ in range(2)]
    stopped, other = workers

    async def leased_by(worker: App) -> int:
        async with worker.storage.tx() as conn:
            return len((await conn.execute(select(feeds.c.id).where(
                feeds.c.lease_owner == worker.owner, feeds.c.lease_until > clock()))).all())

    try:
        await stopped.cycle()  # first polls: from now on every feed answers 304
        clock.advance(minutes=20)
        for route in feed_server.routes.values():
            route.delay = 2.0  # the next fetches are still running when the worker stops
        cycle = asyncio.create_task(stopped.cycle())
        async with asyncio.timeout(30):
            while True:  # until a batch is being fetched and the next one is claimed ahead
                if await leased_by(stopped) == 4:
                    break
                await asyncio.sleep(0.01)
        cycle.cancel()  # the stop (wind_down cancels a cycle that does not finish in time)
        with contextlib.suppress(asyncio.CancelledError):
            await cycle
        for route in feed_server.routes.values():
            route.delay = 0.0
        hits = dict(feed_server.hits)
        report = await other.cycle()
        # the batch caught mid-fetch keeps its lease until it expires; the batch claimed ahead
        # and the rest are polled by the other worker now
        assert (report.polled, report.failed) == (4, 0)
        assert sum(n - hits[p] for p, n in feed_server.hits.items()) == 4
        assert await leased_by(stopped) == 2
    finally:
        for w in workers:
            await w.close()
