"""A real App on the test database with a failing feed and pending alerts, served on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from apphelpers import open_app
from feedserver import FeedServer, Item, rss

from bot.app import App
from bot.domain.article import FeedSource
from bot.domain.delivery import Delivery, SendResult
from bot.domain.errors import RateLimitedError
from bot.domain.watchlist import Company, Watchlist
from bot.web.server import WebServer

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> Evil & Co'
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # within max_age (3 days) of the clock


class ThrottledSink:
    """The platform answers every send with a 429: alerts stay pending, nothing is posted."""

    platform = "rec"

    async def send(self, delivery: Delivery) -> SendResult:
        raise RateLimitedError("429 Too Many Requests", retry_after=600)

    async def find_sent(self, delivery: Delivery) -> str | None:
        return None

    async def close(self) -> None:
        return None


async def busy_app(db_url: tuple[str, dict[str, Any]], tmp_path: Path, clock: Any,
                   server: FeedServer) -> App:
    """Two feeds (one answers 500, titled with markup) and one cycle run: two alerts pending."""
    good = server.set("/good.xml", rss([
        Item(f"g{i}", f"Nvidia news {i}", "Nvidia will invest in a plant.", T0 + timedelta(i))
        for i in range(2)]))
    bad = server.set("/broken.xml", b"<h1>" + HOSTILE.encode() + b"</h1>", status=500)
    app = await open_app(db_url, tmp_path, clock, sinks={"rec": ThrottledSink()},
                         feeds=[FeedSource(good, "Good news", backfill=2),
                                FeedSource(bad, HOSTILE)],
                         watchlist=Watchlist(companies=(Company("Nvidia"),)), address="rec:main")
    await app.cycle(all_feeds=True)
    return app


@dataclass
class Served:
    server: WebServer
    session: aiohttp.ClientSession

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.bound_port}"

    async def get(self, path: str, **kw: Any) -> tuple[int, str, Any]:
        async with self.session.get(self.base + path, **kw) as resp:
            return resp.status, await resp.text(), resp.headers


@asynccontextmanager
async def serve(app: App, token: str | None = None, host: str = "127.0.0.1"
                ) -> AsyncIterator[Served]:
    server = WebServer(app, host=host, port=0, token=token)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield Served(server, session)
    finally:
        await server.stop()
