"""Parsing off the event loop: ``parse_feed`` (pure, bot/pipeline/parse.py) in a worker process
with a hard time and memory limit; past either the worker is killed and replaced.

The workers are spawned with the parse module preloaded (feedparser imported once per worker);
the parent process never imports it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from bot.domain.article import Article, ParsedFeed
from bot.domain.errors import ParseError
from bot.jobs.process_pool import ProcessPool
from bot.pipeline.keys import to_articles

T = TypeVar("T")

PARSE_MODULE = "bot.pipeline.parse"  # feedparser and friends: loaded in the workers only
PARSE_TIME_LIMIT = 20.0  # seconds per document in the worker; 10 MB of real feed takes ~3 s here
PARSE_MEMORY_LIMIT = 1 << 30  # bytes of address space per worker; a 10 MB feed peaks at ~250 MB


def pool_size(environ: Mapping[str, str] = os.environ) -> int:
    """Parse worker processes: ``NEWSBOT_PARSE_WORKERS`` (1-16), else one per core up to 2.
    Several newsbot processes on one machine each start their own workers: with one each,
    two processes on 2 cores parse on 2 workers, not 4 competing for the cores."""
    try:
        wanted = int(environ.get("NEWSBOT_PARSE_WORKERS", "0"))
    except ValueError:
        wanted = 0
    return min(wanted, 16) if wanted > 0 else max(1, min(2, os.cpu_count() or 1))


_WORKERS = ProcessPool(size=pool_size(), time_limit=PARSE_TIME_LIMIT,
                       memory_limit=PARSE_MEMORY_LIMIT, preload=(PARSE_MODULE, __name__))


async def parse_feed_async(body: bytes, *, url: str = "", content_type: str | None = None,
                           workers: ProcessPool | None = None) -> ParsedFeed:
    """``parse_feed`` in a worker process (``workers``, else the shared parse workers), so no
    document can stall the event loop: one that runs past the pool's time limit or memory limit
    has its worker killed and raises ParseError naming the limit; the next parse gets a fresh
    worker. The caller's failure path (backoff) then applies to that feed alone."""
    return await _in_worker(workers or _WORKERS, url, _parse_in_worker, bytes(body), url,
                            content_type)


async def parse_articles_async(body: bytes, *, feed_url: str, url: str = "",
                               content_type: str | None = None
                               ) -> tuple[str, tuple[Article, ...]]:
    """``parse_feed_async`` and ``to_articles`` in one worker call: (the feed's own title, its
    keyed articles), with no second hand-off to a thread. Same limits and errors."""
    return await _in_worker(_WORKERS, url, _articles_in_worker, bytes(body), url, content_type,
                            feed_url)


async def _in_worker(pool: ProcessPool, url: str, fn: Callable[..., T], *args: Any) -> T:
    try:
        return await pool.run(fn, *args)
    except TimeoutError:
        raise ParseError(f"refused: parsing took longer than the time limit of "
                         f"{pool.time_limit:g} s and was stopped", url=url) from None
    except MemoryError:
        limit = f"{pool.memory_limit >> 20} MB" if pool.memory_limit else "the memory available"
        raise ParseError(f"refused: parsing needed more memory than the limit of {limit}",
                         url=url) from None
    except ChildProcessError as exc:
        raise ParseError(f"unreadable feed: the parser process died ({exc})", url=url) from None
    except ParseError as exc:  # the url does not survive the trip between processes
        raise ParseError(str(exc), url=url) from None


def _parse_in_worker(body: bytes, url: str, content_type: str | None) -> ParsedFeed:
    from bot.pipeline.parse import parse_feed  # (preloaded in the worker)

    return parse_feed(body, url=url, content_type=content_type)


def _articles_in_worker(body: bytes, url: str, content_type: str | None, feed_url: str
                        ) -> tuple[str, tuple[Article, ...]]:
    parsed = _parse_in_worker(body, url, content_type)
    return parsed.title, to_articles(feed_url, parsed.entries)


def close_parse_workers() -> None:
    """Stop the idle parse workers (at shutdown; a busy one is killed when its call is
    cancelled)."""
    _WORKERS.close()
