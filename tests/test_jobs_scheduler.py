"""`newsbot run`: APScheduler drives the cycle; a bad feed or a buggy sink never stops it."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from feedserver import FeedServer, rss, start_feed_server
from test_pipeline_e2e import WATCHLIST, items

from bot.app import App
from bot.config.operator import DestinationSpec, OperatorConfig
from bot.config.settings import Settings
from bot.delivery.jsonl import JsonlSink
from bot.domain.alert import Subscription
from bot.domain.article import FeedSource
from bot.domain.delivery import Delivery, SendResult
from bot.jobs.scheduler import run_forever


class FlakySink:
    """A file sink that sends one alert at a time (as Slack's and Discord's do) and crashes (a
    bug, not a platform error) on its first send, then works."""

    platform = "jsonl"

    def __init__(self, base) -> None:
        self.file = JsonlSink(base)
        self.crashed = False

    async def send(self, delivery: Delivery) -> SendResult:
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("sink bug")
        return await self.file.send(delivery)

    async def find_sent(self, delivery: Delivery) -> str | None:
        return await self.file.find_sent(delivery)

    async def close(self) -> None:
        await self.file.close()


class FlakyBatchSink(JsonlSink):
    """The jsonl sink, whose first batch crashes (a bug) before it writes anything."""

    def __init__(self, base) -> None:
        super().__init__(base)
        self.crashed = False

    async def send_many(self, deliveries: Sequence[Delivery]) -> list[SendResult]:
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("sink bug in a batch")
        return await super().send_many(deliveries)


async def wait_for(predicate, within: float = 20.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


@contextlib.asynccontextmanager
async def scheduled(tmp_path: Path, sink: Any, feeds: dict[str, tuple[bytes, str]]
                    ) -> AsyncIterator[tuple[App, FeedServer, Path]]:
    """``newsbot run``'s scheduler on ``feeds`` (path: body, content type; backfill 3) with
    ``sink`` as the jsonl sink; on leaving, it must stop cleanly."""
    server, runner = await start_feed_server()
    sources = tuple(FeedSource(server.set(path, body, content_type=kind), path, backfill=3)
                    for path, (body, kind) in feeds.items())
    config = OperatorConfig(sources, WATCHLIST, (
        DestinationSpec("jsonl:alerts.jsonl", (Subscription(company="*"),)),), tmp_path)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}",
                        config_dir=tmp_path, tick_seconds=1)
    app = await App.open(settings, config=config, sinks={"jsonl": sink})
    stop = asyncio.Event()
    task = asyncio.create_task(run_forever(app, stop))
    try:
        yield app, server, tmp_path / "alerts.jsonl"
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await app.close()
        await runner.cleanup()
    assert task.done() and task.exception() is None


async def test_the_scheduler_polls_delivers_and_survives_bad_feeds_and_sink_bugs(tmp_path) -> None:
    sink = FlakySink(tmp_path)
    feeds = {"/good.xml": (rss(items(2)), "application/rss+xml"),
             "/bad.xml": (b"<html>not a feed</html>", "text/html")}
    async with scheduled(tmp_path, sink, feeds) as (app, server, out):
        # the crashed delivery is retried after its backoff; the other one goes out at once
        assert await wait_for(lambda: out.exists() and len(out.read_text().splitlines()) >= 1)
        assert sink.crashed
        assert server.hits["/bad.xml"] >= 1
        (bad_row,) = [f for f in await app.storage.feed_follows("local")
                      if f.url.endswith("/bad.xml")]
        assert "ParseError" in (bad_row.last_error or "")
        # a line is written before its delivery is recorded sent: wait for that record too
        pending = await app.storage.delivery_states(status="pending")
        for _ in range(400):
            if len(pending) <= 1:
                break
            await asyncio.sleep(0.05)
            pending = await app.storage.delivery_states(status="pending")
        (retrying,) = pending
        assert "sink bug" in (retrying.last_error or "")
        titles = [json.loads(line)["title"] for line in out.read_text().splitlines()]
        assert len(titles) == 1 and titles[0] != retrying.alert.title


async def test_a_batch_that_crashes_is_sent_one_by_one_and_the_scheduler_goes_on(
        tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    sink = FlakyBatchSink(tmp_path)
    feeds = {"/good.xml": (rss(items(3)), "application/rss+xml")}
    async with scheduled(tmp_path, sink, feeds) as (app, _, out):
        assert await wait_for(lambda: out.exists() and len(out.read_text().splitlines()) >= 3)
        await asyncio.sleep(1.5)  # another tick: nothing more is written
        assert sink.crashed and "sink bug in a batch" in caplog.text
        urls = [json.loads(line)["url"] for line in out.read_text().splitlines()]
        assert len(urls) == 3 and len(set(urls)) == 3  # each alert once
        assert await app.storage.delivery_states(status="pending") == []
