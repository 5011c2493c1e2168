"""A loopback HTTP server that serves feeds the test can change, with ETag support."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web


@dataclass
class Item:
    guid: str
    title: str
    text: str
    published: datetime | None = None
    link: str | None = None


def rss(items: list[Item], title: str = "Test News") -> bytes:
    parts = [f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
             f"<title>{escape(title)}</title><link>https://news.example.com/</link>"]
    for it in items:
        date = f"<pubDate>{format_datetime(it.published)}</pubDate>" if it.published else ""
        link = it.link or f"https://news.example.com/{it.guid}"
        parts.append(f"<item><guid>{escape(it.guid)}</guid><title>{escape(it.title)}</title>"
                     f"<link>{escape(link)}</link>{date}"
                     f"<description>{escape(it.text)}</description></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml"
    delay: float = 0.0


@dataclass
class FeedServer:
    routes: dict[str, Route] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    conditional_hits: dict[str, int] = field(default_factory=dict)
    base: str = ""

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def set(self, path: str, body: bytes, **kw: object) -> str:
        self.routes[path] = Route(body=body, **kw)  # type: ignore[arg-type]
        return self.url(path)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        route = self.routes.get(path)
        if route is None:
            return web.Response(status=404, text="not found")
        if route.delay:
            await asyncio.sleep(route.delay)
        if route.status != 200:
            return web.Response(status=route.status, body=route.body)
        etag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            self.conditional_hits[path] = self.conditional_hits.get(path, 0) + 1
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=route.body, headers={"ETag": etag},
                            content_type=route.content_type)


async def start_feed_server() -> tuple[FeedServer, web.AppRunner]:
    server = FeedServer()
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    server.base = f"http://127.0.0.1:{port}"
    return server, runner
