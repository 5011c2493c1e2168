"""The watchlist compiled off the event loop: a cached matcher at once, else the pure
``compile_watchlist`` (bot/pipeline/match.py) in a worker thread."""

from __future__ import annotations

import asyncio

from bot.domain.watchlist import Watchlist
from bot.pipeline.match import Matcher, cached_matcher, compile_watchlist


async def compile_off_loop(watchlist: Watchlist) -> Matcher:
    """``compile_watchlist`` for async code: a cached matcher at once, else compiled (and the
    watchlist hashed) in a worker thread, so a 100,000-company watchlist never stalls the loop."""
    hit = cached_matcher(watchlist)
    if hit is not None:
        return hit
    return await asyncio.to_thread(compile_watchlist, watchlist)
