"""Download a file a chat user attached (an OPML upload) through the address guard, size-capped.

The URL comes from the platform (Discord's CDN, Slack's file host) but travels with a user's
command, so it is treated like a chat-added feed URL: http(s) only, syntax checked, connected
through the guard's pinning resolver (public addresses only, unless the operator allowed a
network). Redirects are not followed: a redirect could carry the request (and, for Slack, the
bot token in ``Authorization``) somewhere else. The body is read in chunks and dropped past
``max_bytes``; one deadline covers connect and body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import aiohttp

from bot.domain.errors import FeedTimeout, FeedTooLarge, FetchError, UnsafeURL
from bot.net.fetcher import CHUNK, USER_AGENT
from bot.net.netguard import NetGuard


class GuardedDownload:
    """``await download(url, max_bytes, headers)`` -> the bytes, or a FetchError subclass."""

    def __init__(self, guard: NetGuard | None = None, *, timeout: float = 30.0) -> None:
        self.guard = guard if guard is not None else NetGuard()
        self.timeout = timeout

    async def __call__(self, url: str, max_bytes: int,
                       headers: Sequence[tuple[str, str]] = ()) -> bytes:
        checked = self.guard.check_syntax(url)
        sent = {"User-Agent": USER_AGENT, **dict(headers)}
        try:
            async with asyncio.timeout(self.timeout), aiohttp.ClientSession(
                    connector=self.guard.connector(limit_per_host=1),
                    cookie_jar=aiohttp.DummyCookieJar(), trust_env=False) as session, \
                    session.get(checked, headers=sent, allow_redirects=False) as resp:
                if resp.status != 200:
                    raise FetchError(f"the file's server answered HTTP {resp.status}",
                                     url=url, status=resp.status)
                return await _capped(resp, max_bytes, url)
        except TimeoutError:
            raise FeedTimeout(f"the file did not arrive within {self.timeout:g} s",
                              url=url) from None
        except UnsafeURL as exc:
            raise UnsafeURL(str(exc), url=url) from None
        except aiohttp.ClientError as exc:
            raise FetchError(f"the file could not be downloaded ({exc.__class__.__name__})",
                             url=url) from None


async def _capped(resp: aiohttp.ClientResponse, max_bytes: int, url: str) -> bytes:
    too_large = f"the file is larger than {max_bytes:,} bytes"
    if resp.content_length is not None and resp.content_length > max_bytes:
        raise FeedTooLarge(too_large, url=url)
    body = bytearray()
    async for chunk in resp.content.iter_chunked(CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise FeedTooLarge(too_large, url=url)
    return bytes(body)
