"""Fetch feed bytes (I/O): conditional GET over aiohttp, or an operator's local file.

Every failure leaves as a ``bot.domain.errors`` exception, never a raw aiohttp one: FetchError (with
``status`` and, for 429/503, ``retry_after`` read by ``bot.net.retry_after``), FeedTimeout,
FeedTooLarge, UnsafeURL.

- Size cap counted after decompression while streaming; the request is dropped as soon as the cap
  is passed (a gzip bomb costs at most the cap plus one chunk).
- One deadline (``total_timeout``) covers connect, redirects and the body; ``connect_timeout``
  bounds each connection attempt.
- Redirects are followed here (not by aiohttp), at most ``max_redirects``, http(s) only; for
  untrusted URLs every hop goes through the NetGuard syntax check and the connection goes through
  the guard's pinning resolver (see netguard.py). An operator's (trusted) feed may be on a
  private address; but after a hop on a public address, the rest of the chain is untrusted, so a
  public server cannot redirect the bot into a private one.
- At most ``per_host`` requests in flight per host inside one Fetcher.
- ``file://`` URLs and plain paths are read in a worker thread, only when ``untrusted`` is False,
  under the same size cap; they get ETag/Last-Modified from size and mtime, so conditional polls
  of a local feed answer 304 like a server would.
"""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.utils import formatdate
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import aiohttp

from bot import __version__
from bot.domain.article import FetchResult
from bot.domain.errors import FeedTimeout, FeedTooLarge, FetchError, UnsafeURL
from bot.net.netguard import NetGuard
from bot.net.retry_after import retry_after

USER_AGENT = f"newsbot/{__version__} (+https://github.com/newsbot)"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, "
          "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024
RETRY_AFTER_MAX = 86400.0  # a feed asking for more than a day is polled again after a day


def is_local(url: str) -> bool:
    """True for ``file:`` URLs and plain paths (no scheme, or a Windows drive letter)."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:  # e.g. an unbalanced "[": not a path either; the HTTP side reports it
        return False
    return scheme in ("", "file") or len(scheme) == 1


def local_path(url: str) -> Path:
    """The filesystem path of a ``file:`` URL or plain path; FetchError for ``file://host/...``."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme.lower() != "file":
        return Path(text).expanduser()
    if parts.netloc not in ("", "localhost"):
        raise FetchError(f"file URL names another host ({parts.netloc}); use file:///path",
                         url=text)
    return Path(unquote(parts.path))


def _read_local(path: Path, max_bytes: int, etag: str | None,
                last_modified: str | None, url: str) -> FetchResult:
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # never open a FIFO, device or directory
            raise FetchError(f"{path} is not a regular file", url=url)
        new_etag = f'"{info.st_size:x}-{info.st_mtime_ns:x}"'
        new_modified = formatdate(info.st_mtime, usegmt=True)
        if etag == new_etag or (etag is None and last_modified == new_modified):
            return FetchResult(url=url, status=304, etag=new_etag, last_modified=new_modified)
        if info.st_size > max_bytes:
            raise FeedTooLarge(f"{path} is larger than {max_bytes} bytes", url=url)
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}", url=url) from None
    if len(body) > max_bytes:
        raise FeedTooLarge(f"{path} is larger than {max_bytes} bytes", url=url)
    return FetchResult(url=url, status=200, body=body, etag=new_etag, last_modified=new_modified)


class Fetcher:
    """Fetches feeds for the poller. Build with a session (``Fetcher(session)``) or ``create()``."""

    def __init__(self, session: aiohttp.ClientSession, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 connect_timeout: float = 10.0, total_timeout: float = 30.0,
                 max_redirects: int = 5, per_host: int = 2, user_agent: str = USER_AGENT,
                 guard: NetGuard | None = None, owns_session: bool = False) -> None:
        self.session = session
        self.max_bytes = max_bytes
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.max_redirects = max_redirects
        self.per_host = per_host
        self.user_agent = user_agent
        self.guard = guard if guard is not None else NetGuard()
        self._owns_session = owns_session
        self._guarded: aiohttp.ClientSession | None = None
        self._slots: dict[str, asyncio.Semaphore] = {}

    @classmethod
    async def create(cls, *, trust_env: bool = False, **options: Any) -> Fetcher:
        """A Fetcher with its own session (closed by ``close()``); options as for ``__init__``."""
        per_host = int(options.get("per_host", 2))
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=100, limit_per_host=per_host),
            cookie_jar=aiohttp.DummyCookieJar(), trust_env=trust_env)
        return cls(session, owns_session=True, **options)

    async def close(self) -> None:
        if self._guarded is not None:
            await self._guarded.close()
            self._guarded = None
        if self._owns_session:
            await self.session.close()

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    # --- public -------------------------------------------------------------------------------
    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    untrusted: bool = False) -> FetchResult:
        """GET ``url`` (conditionally when validators are given); 304 -> ``status=304``, no body."""
        target = url.strip()
        if is_local(target):
            if untrusted:
                raise UnsafeURL("Only http:// and https:// feed URLs can be added.", url=target)
            path = local_path(target)
            return await asyncio.to_thread(_read_local, path, self.max_bytes, etag,
                                           last_modified, target)
        try:
            async with asyncio.timeout(self.total_timeout):
                return await self._follow(target, etag, last_modified, untrusted)
        except TimeoutError:
            raise FeedTimeout(f"no complete answer within {self.total_timeout:g} s",
                              url=target) from None

    # --- HTTP ---------------------------------------------------------------------------------
    async def _follow(self, url: str, etag: str | None, last_modified: str | None,
                      untrusted: bool) -> FetchResult:
        current, guarded = url, untrusted
        for _hop in range(self.max_redirects + 1):
            try:
                current = self._check(current, guarded)
                outcome = await self._request(current, etag, last_modified, guarded)
            except UnsafeURL as exc:
                if untrusted:
                    raise
                raise UnsafeURL(f"refused a redirect from a public address to {current}: {exc}",
                                url=url) from None
            if isinstance(outcome, FetchResult):
                return outcome
            if not guarded:  # an operator's feed: a public server may not lead inside
                guarded = await self.guard.is_public(current)
            current = outcome
        raise FetchError(f"more than {self.max_redirects} redirects", url=url)

    def _check(self, url: str, untrusted: bool) -> str:
        if untrusted:
            return self.guard.check_syntax(url)
        try:
            parts = urlsplit(url)
        except ValueError as exc:
            raise FetchError(f"invalid URL {url[:200]!r}: {exc}", url=url) from None
        if parts.scheme.lower() not in ("http", "https"):
            raise FetchError(f"unsupported URL scheme in {url[:200]!r}", url=url)
        return url

    def _session(self, untrusted: bool) -> aiohttp.ClientSession:
        if not untrusted:
            return self.session
        if self._guarded is None:  # no await in between: no race between two first callers
            self._guarded = aiohttp.ClientSession(
                connector=self.guard.connector(limit_per_host=self.per_host),
                cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)
        return self._guarded

    @asynccontextmanager
    async def _slot(self, url: str) -> AsyncIterator[None]:
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            host = ""
        slot = self._slots.setdefault(host, asyncio.Semaphore(self.per_host))
        async with slot:
            yield

    def _headers(self, etag: str | None, last_modified: str | None) -> dict[str, str]:
        headers = {"User-Agent": self.user_agent, "Accept": ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return headers

    async def _request(self, url: str, etag: str | None, last_modified: str | None,
                       untrusted: bool) -> FetchResult | str:
        """One hop: a FetchResult, or the next URL to follow."""
        timeout = aiohttp.ClientTimeout(total=None, connect=self.connect_timeout,
                                        sock_connect=self.connect_timeout)
        try:
            async with self._slot(url), self._session(untrusted).get(
                    url, headers=self._headers(etag, last_modified), allow_redirects=False,
                    timeout=timeout) as resp:
                return await self._response(url, resp, etag, last_modified)
        except UnsafeURL as exc:  # from the guard's resolver: name the URL, not just the host
            raise UnsafeURL(str(exc), url=url) from None
        except TimeoutError:
            raise
        except aiohttp.ClientConnectorDNSError as exc:
            raise FetchError(f"cannot resolve host: {exc.os_error}", url=url) from None
        except (aiohttp.ClientSSLError, aiohttp.ClientConnectorCertificateError) as exc:
            raise FetchError(f"TLS error: {exc}", url=url) from None
        except (aiohttp.ClientError, ValueError) as exc:
            raise FetchError(f"{exc.__class__.__name__}: {exc}", url=url) from None

    async def _response(self, url: str, resp: aiohttp.ClientResponse, etag: str | None,
                        last_modified: str | None) -> FetchResult | str:
        headers = resp.headers
        if resp.status in REDIRECT_STATUSES and headers.get("Location"):
            return urljoin(str(resp.url), headers["Location"].strip())
        if resp.status == 304:
            return FetchResult(url=url, status=304, etag=headers.get("ETag") or etag,
                               last_modified=headers.get("Last-Modified") or last_modified)
        if not 200 <= resp.status < 300:
            retry = (retry_after(headers, maximum=RETRY_AFTER_MAX)
                     if resp.status in (429, 503) else None)
            raise FetchError(f"HTTP {resp.status} {resp.reason or ''}".rstrip(), url=url,
                             status=resp.status, retry_after=retry)
        body = await self._read_capped(url, resp)
        return FetchResult(url=url, status=resp.status, body=body, etag=headers.get("ETag"),
                           last_modified=headers.get("Last-Modified"),
                           content_type=headers.get("Content-Type"))

    async def _read_capped(self, url: str, resp: aiohttp.ClientResponse) -> bytes:
        too_large = f"the feed is larger than {self.max_bytes} bytes"
        declared = resp.content_length
        if declared is not None and declared > self.max_bytes and not resp.headers.get(
                "Content-Encoding"):
            raise FeedTooLarge(too_large + f" (Content-Length {declared})", url=url,
                               status=resp.status)
        body = bytearray()
        async for chunk in resp.content.iter_chunked(CHUNK):
            body += chunk
            if len(body) > self.max_bytes:
                raise FeedTooLarge(too_large + " (after decompression)", url=url,
                                   status=resp.status)
        return bytes(body)
