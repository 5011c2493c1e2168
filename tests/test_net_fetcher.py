"""Fetcher against a loopback aiohttp server (127.0.0.1 only) and local files."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from bot.domain.errors import FeedTimeout, FeedTooLarge, FetchError, ParseError, UnsafeURL
from bot.net.fetcher import Fetcher
from bot.net.netguard import NetGuard
from bot.net.retry_after import parse_retry_after
from bot.pipeline.parse import parse_feed

FEED = (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Loop</title>'
        b"<item><title>Contoso news</title><guid>loop-1</guid></item></channel></rss>")
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 01 May 2024 10:00:00 GMT"
MB = 1024 * 1024


def gzip_bomb(megabytes: int) -> bytes:
    """``megabytes`` MB of zeros, gzip-compressed a chunk at a time (never held inflated)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MB)
    parts = [packer.compress(zeros) for _ in range(megabytes)]
    return b"".join(parts) + packer.flush()


@dataclass
class Loopback:
    server: TestServer
    release: asyncio.Event
    seen: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    in_flight: int = 0
    peak: int = 0
    two_in_flight: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.server.port}{path}"


def build_app(state: dict[str, Any]) -> web.Application:
    routes = web.RouteTableDef()

    def lb() -> Loopback:
        return state["lb"]

    @routes.get("/feed")
    async def feed(request: web.Request) -> web.StreamResponse:
        validators = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED}
        if (request.headers.get("If-None-Match") == ETAG
                or request.headers.get("If-Modified-Since") == LAST_MODIFIED):
            return web.Response(status=304, headers=validators)
        return web.Response(body=FEED, headers={**validators,
                                                "Content-Type": "application/rss+xml"})

    @routes.get("/slow")
    async def slow(request: web.Request) -> web.StreamResponse:
        await lb().release.wait()
        return web.Response(body=FEED)

    @routes.get("/trickle")
    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        await response.write(FEED[:20])
        await lb().release.wait()
        return response

    @routes.get("/huge")
    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # chunked: no Content-Length to warn the client
        await response.prepare(request)
        try:
            for _ in range(64):
                await response.write(bytes(256 * 1024))
        except (ConnectionError, RuntimeError):
            pass  # the client hung up, as it should
        return response

    @routes.get("/declared-huge")
    async def declared_huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(50 * MB)})
        await response.prepare(request)
        try:
            await response.write(b"<rss")
            await lb().release.wait()
        except (ConnectionError, RuntimeError):
            pass
        return response

    @routes.get("/bomb")
    async def bomb(request: web.Request) -> web.StreamResponse:
        return web.Response(body=state["bomb"], headers={
            "Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})

    @routes.get("/status/{code}")
    async def status(request: web.Request) -> web.StreamResponse:
        code = int(request.match_info["code"])
        headers = {}
        if "retry" in request.query:
            headers["Retry-After"] = request.query["retry"]
            headers["Date"] = "Wed, 01 May 2024 10:00:00 GMT"
        return web.Response(status=code, text="nope", headers=headers)

    @routes.get("/html")
    async def html_page(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<!doctype html><html><body>Moved</body></html>",
                            content_type="text/html")

    @routes.get("/redirect/{n}")
    async def redirect(request: web.Request) -> web.StreamResponse:
        n = int(request.match_info["n"])
        target = "/feed" if n <= 1 else f"/redirect/{n - 1}"
        raise web.HTTPFound(target)

    @routes.get("/go")
    async def go(request: web.Request) -> web.StreamResponse:
        raise web.HTTPTemporaryRedirect(request.query["to"])

    @routes.get("/hold")
    async def hold(request: web.Request) -> web.StreamResponse:
        state_ = lb()
        state_.in_flight += 1
        state_.peak = max(state_.peak, state_.in_flight)
        if state_.in_flight >= 2:
            state_.two_in_flight.set()
        try:
            await state_.release.wait()
        finally:
            state_.in_flight -= 1
        return web.Response(body=FEED)

    @web.middleware
    async def record(request: web.Request, handler: web.Handler) -> web.StreamResponse:
        lb().seen.append(request.path)
        lb().headers.append(dict(request.headers))
        return await handler(request)

    app = web.Application(middlewares=[record])
    app.add_routes(routes)
    return app


@pytest.fixture(scope="module")
def bomb_bytes() -> bytes:
    return gzip_bomb(200)


@asynccontextmanager
async def serve(bomb_bytes: bytes, host: str = "127.0.0.1") -> AsyncIterator[Loopback]:
    state: dict[str, Any] = {"bomb": bomb_bytes}
    server = TestServer(build_app(state), host=host)
    await server.start_server()
    lb = Loopback(server=server, release=asyncio.Event())
    state["lb"] = lb
    try:
        yield lb
    finally:
        lb.release.set()
        await server.close()


@pytest.fixture
async def loop_server(bomb_bytes: bytes) -> AsyncIterator[Loopback]:
    async with serve(bomb_bytes) as lb:
        yield lb


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with await Fetcher.create(total_timeout=20.0) as made:
        yield made


# --- success and conditional GET -------------------------------------------------------------
async def test_200_with_validators_and_user_agent(loop_server: Loopback, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(loop_server.url("/feed"))
    assert (result.status, result.body, result.etag, result.last_modified) == (
        200, FEED, ETAG, LAST_MODIFIED)
    assert result.content_type == "application/rss+xml"
    assert loop_server.headers[0]["User-Agent"].startswith("newsbot/")
    assert parse_feed(result.body, url=result.url).entries[0].guid == "loop-1"


async def test_304_with_etag(loop_server: Loopback, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(loop_server.url("/feed"), etag=ETAG)
    assert result.not_modified and result.body == b"" and result.etag == ETAG
    assert loop_server.headers[0]["If-None-Match"] == ETAG


async def test_304_with_last_modified(loop_server: Loopback, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(loop_server.url("/feed"), last_modified=LAST_MODIFIED)
    assert result.status == 304 and result.last_modified == LAST_MODIFIED


# --- slow, huge, bombs --------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/slow", "/trickle"])
async def test_slow_server_times_out(loop_server: Loopback, path: str) -> None:
    async with await Fetcher.create(total_timeout=0.5) as quick:
        with pytest.raises(FeedTimeout):
            await quick.fetch(loop_server.url(path))


async def test_huge_body_is_cut_off(loop_server: Loopback) -> None:
    async with await Fetcher.create(max_bytes=2 * MB) as small:
        with pytest.raises(FeedTooLarge):
            await small.fetch(loop_server.url("/huge"))


async def test_declared_huge_body_is_refused_before_reading(loop_server: Loopback,
                                                            fetcher: Fetcher) -> None:
    with pytest.raises(FeedTooLarge, match="Content-Length"):
        await fetcher.fetch(loop_server.url("/declared-huge"))


async def test_gzip_bomb_stops_at_the_cap_without_inflating_it(loop_server: Loopback,
                                                               fetcher: Fetcher) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(FeedTooLarge, match="after decompression"):
            await fetcher.fetch(loop_server.url("/bomb"))  # default cap: 10 MB
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * MB, f"peak {peak / MB:.0f} MB for a 200 MB bomb"


# --- HTTP errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("code", [404, 410, 500, 502])
async def test_http_errors_carry_status(loop_server: Loopback, fetcher: Fetcher,
                                        code: int) -> None:
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(loop_server.url(f"/status/{code}"))
    assert caught.value.status == code and caught.value.retry_after is None
    assert str(code) in str(caught.value)


async def test_429_retry_after_seconds(loop_server: Loopback, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(loop_server.url("/status/429?retry=120"))
    assert (caught.value.status, caught.value.retry_after) == (429, 120.0)


async def test_503_retry_after_http_date(loop_server: Loopback, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(loop_server.url("/status/503?retry=Wed, 01 May 2024 10:05:00 GMT"))
    assert (caught.value.status, caught.value.retry_after) == (503, 300.0)


def test_parse_retry_after_garbage() -> None:
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 01 May 2024 09:00:00 GMT", "Wed, 01 May 2024 10:00:00 GMT") == 0


async def test_not_xml_fetches_then_fails_to_parse(loop_server: Loopback,
                                                   fetcher: Fetcher) -> None:
    result = await fetcher.fetch(loop_server.url("/html"))
    with pytest.raises(ParseError, match="HTML"):
        parse_feed(result.body, url=result.url, content_type=result.content_type)


async def test_connection_refused_is_a_fetch_error(fetcher: Fetcher) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(f"http://127.0.0.1:{port}/feed")
    assert caught.value.status is None


@pytest.mark.parametrize("url", ["http://", "http://[::1/feed", "gopher://127.0.0.1/"])
async def test_bad_urls_are_fetch_errors(fetcher: Fetcher, url: str) -> None:
    with pytest.raises(FetchError):
        await fetcher.fetch(url)


# --- redirects --------------------------------------------------------------------------------
async def test_redirects_are_followed_to_the_final_url(loop_server: Loopback,
                                                       fetcher: Fetcher) -> None:
    result = await fetcher.fetch(loop_server.url("/redirect/5"))
    assert result.status == 200 and result.url == loop_server.url("/feed")


async def test_too_many_redirects(loop_server: Loopback, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="redirects"):
        await fetcher.fetch(loop_server.url("/redirect/6"))


async def test_redirect_to_a_file_url_is_refused(loop_server: Loopback, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="scheme"):
        await fetcher.fetch(loop_server.url("/go?to=file:///etc/passwd"))


# --- politeness -------------------------------------------------------------------------------
async def test_at_most_two_requests_per_host(loop_server: Loopback, fetcher: Fetcher) -> None:
    tasks = [asyncio.create_task(fetcher.fetch(loop_server.url("/hold"))) for _ in range(6)]
    await loop_server.two_in_flight.wait()
    for _ in range(20):  # give any third request every chance to arrive
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    assert loop_server.in_flight == 2
    loop_server.release.set()
    results = await asyncio.gather(*tasks)
    assert [r.status for r in results] == [200] * 6
    assert loop_server.peak == 2


# --- untrusted URLs: the guard ----------------------------------------------------------------
class FakeDNS(AbstractResolver):
    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: dict[str, int] = {}

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if host not in self.answers:
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        n = self.calls[host] = self.calls.get(host, 0) + 1
        rounds = self.answers[host]
        return [ResolveResult(hostname=host, host=ip, port=port, family=socket.AF_INET,
                              proto=0, flags=0) for ip in rounds[min(n, len(rounds)) - 1]]

    async def close(self) -> None:
        return None


LOOPBACK_ONLY = (ipaddress.ip_network("127.0.0.1/32"),)


def guarded(dns: FakeDNS, *, allow_loopback: bool = True) -> NetGuard:
    """A guard whose operator allow-list admits 127.0.0.1 only, to stand in for 'the internet'."""
    return NetGuard(resolver=dns, allow_networks=LOOPBACK_ONLY if allow_loopback else ())


async def test_loopback_refused_when_untrusted_allowed_when_trusted(loop_server: Loopback,
                                                                     fetcher: Fetcher) -> None:
    with pytest.raises(UnsafeURL):
        await fetcher.fetch(loop_server.url("/feed"), untrusted=True)
    with pytest.raises(UnsafeURL):
        await fetcher.fetch(loop_server.url("/feed", host="localhost"), untrusted=True)
    assert loop_server.seen == []
    assert (await fetcher.fetch(loop_server.url("/feed"))).status == 200


async def test_name_resolving_to_loopback_is_refused(loop_server: Loopback) -> None:
    dns = FakeDNS({"feeds.example": [["127.0.0.1"]]})
    async with await Fetcher.create(guard=guarded(dns, allow_loopback=False)) as f:
        with pytest.raises(UnsafeURL, match="loopback"):
            await f.fetch(loop_server.url("/feed", host="feeds.example"), untrusted=True)
    assert loop_server.seen == []


async def test_untrusted_fetch_connects_to_the_vetted_address(loop_server: Loopback) -> None:
    dns = FakeDNS({"feeds.example": [["127.0.0.1"]]})
    async with await Fetcher.create(guard=guarded(dns)) as f:
        result = await f.fetch(loop_server.url("/feed", host="feeds.example"), untrusted=True)
    assert result.status == 200 and result.body == FEED
    assert loop_server.headers[0]["Host"] == f"feeds.example:{loop_server.server.port}"


async def test_redirect_from_allowed_host_to_private_address_is_refused(
        loop_server: Loopback) -> None:
    dns = FakeDNS({"feeds.example": [["127.0.0.1"]], "intranet.example": [["10.0.0.7"]]})
    async with await Fetcher.create(guard=guarded(dns)) as f:
        for target in (f"http://intranet.example:{loop_server.server.port}/feed",
                       f"http://127.0.0.2:{loop_server.server.port}/feed",
                       f"http://localhost:{loop_server.server.port}/feed",
                       "http://[::ffff:10.0.0.1]/feed", "file:///etc/passwd"):
            with pytest.raises(UnsafeURL):
                await f.fetch(loop_server.url(f"/go?to={target}", host="feeds.example"),
                              untrusted=True)
    assert loop_server.seen == ["/go"] * 5  # the redirect was asked for; its target never was
    # the same redirect is followed for an operator's (trusted) feed
    async with await Fetcher.create() as f:
        result = await f.fetch(loop_server.url(f"/go?to={loop_server.url('/feed')}"))
        assert result.status == 200


async def test_name_with_public_and_private_answers_is_refused(loop_server: Loopback) -> None:
    dns = FakeDNS({"mixed.example": [["127.0.0.1", "192.168.1.5"]]})
    async with await Fetcher.create(guard=guarded(dns)) as f:
        with pytest.raises(UnsafeURL, match="private"):
            await f.fetch(loop_server.url("/feed", host="mixed.example"), untrusted=True)
    assert loop_server.seen == []


async def test_dns_rebinding_after_the_check_is_caught_at_connect(loop_server: Loopback) -> None:
    # first answer (the chat command's check) is fine, the second (at connect) is not
    dns = FakeDNS({"rebind.example": [["127.0.0.1"], ["169.254.169.254"]]})
    guard = guarded(dns)
    url = loop_server.url("/feed", host="rebind.example")
    assert await guard.vet(url) == url
    async with await Fetcher.create(guard=guard) as f:
        with pytest.raises(UnsafeURL, match="metadata"):
            await f.fetch(url, untrusted=True)
    assert loop_server.seen == []


async def test_untrusted_numeric_tricks_never_connect(loop_server: Loopback,
                                                      fetcher: Fetcher) -> None:
    port = loop_server.server.port
    for host in ("2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]", "0177.0.0.1"):
        with pytest.raises(UnsafeURL):
            await fetcher.fetch(f"http://{host}:{port}/feed", untrusted=True)
    assert loop_server.seen == []


# --- operator feeds: a public server may not redirect inside ------------------------------------
@pytest.fixture
async def public_server(bomb_bytes: bytes) -> AsyncIterator[Loopback]:
    """The same app on 127.0.0.2, which the guards below count as public (allow_networks)."""
    async with serve(bomb_bytes, host="127.0.0.2") as lb:
        yield lb


PUBLIC_127_0_0_2 = NetGuard(allow_networks=(ipaddress.ip_network("127.0.0.2/32"),))


async def test_an_operator_feed_on_a_public_host_cannot_redirect_into_a_private_one(
        loop_server: Loopback, public_server: Loopback) -> None:
    port = loop_server.server.port
    private_targets = (loop_server.url("/feed"), loop_server.url("/feed", host="localhost"),
                       f"http://[::1]:{port}/feed", "http://10.0.0.1/feed",
                       f"http://2130706433:{port}/feed")
    async with await Fetcher.create(guard=PUBLIC_127_0_0_2, total_timeout=20.0) as f:
        for target in private_targets:
            with pytest.raises(UnsafeURL, match="redirect from a public address"):
                await f.fetch(public_server.url(f"/go?to={target}", host="127.0.0.2"))
        # public -> public is followed; private -> public -> private is refused at the last hop
        via_public = public_server.url("/feed", host="127.0.0.2")
        ok = await f.fetch(public_server.url(f"/go?to={via_public}", host="127.0.0.2"))
        assert ok.status == 200 and ok.url == via_public
        bounce = public_server.url(f"/go?to={loop_server.url('/feed')}", host="127.0.0.2")
        with pytest.raises(UnsafeURL):
            await f.fetch(loop_server.url(f"/go?to={quote(bounce, safe='')}"))
        # an operator feed that starts (and stays) on a private address follows its redirects
        inside = await f.fetch(loop_server.url(f"/go?to={loop_server.url('/feed')}"))
        assert inside.status == 200 and inside.body == FEED
    assert loop_server.seen == ["/go", "/go", "/feed"]  # the private /feed only from inside
    assert public_server.seen == ["/go"] * 5 + ["/go", "/feed", "/go"]


# --- local files ------------------------------------------------------------------------------
async def test_local_file_and_plain_path(tmp_path: Path, fetcher: Fetcher) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(FEED)
    by_url = await fetcher.fetch(path.as_uri())
    by_path = await fetcher.fetch(str(path))
    assert by_url.body == by_path.body == FEED and by_url.status == 200
    again = await fetcher.fetch(path.as_uri(), etag=by_url.etag)
    assert again.status == 304
    again = await fetcher.fetch(path.as_uri(), last_modified=by_url.last_modified)
    assert again.status == 304
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    assert (await fetcher.fetch(path.as_uri(), etag=by_url.etag)).status == 200


async def test_local_file_refused_when_untrusted(tmp_path: Path, fetcher: Fetcher) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(FEED)
    for url in (path.as_uri(), str(path)):
        with pytest.raises(UnsafeURL):
            await fetcher.fetch(url, untrusted=True)


async def test_local_file_problems(tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    big.write_bytes(bytes(2 * MB))
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    async with await Fetcher.create(max_bytes=MB) as f:
        with pytest.raises(FeedTooLarge):
            await f.fetch(big.as_uri())
        for url in ((tmp_path / "missing.xml").as_uri(), str(tmp_path), fifo.as_uri(),
                    "file://otherhost/etc/hosts"):
            with pytest.raises(FetchError) as caught:
                await f.fetch(url)
            assert not isinstance(caught.value, FeedTooLarge)
