"""The poller's story step (issue 12): sign a batch's alerted new articles, ask storage for the
window's candidates once, and place each article in a story (bot/pipeline/stories.py).

An article that joins a story takes the story key of the story's first article, so its alerts
meet the first alert's outbox row (unique per destination and story) and become follow-ups
instead of second alerts (bot/storage/sql/stories.py)."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from datetime import datetime

from bot.domain.article import Article
from bot.domain.story import StoryFeatures, StoryPlacement
from bot.pipeline.stories import DEFAULT_WINDOW, lookup_keys, place_articles
from bot.pipeline.story_features import story_features
from bot.storage import PollerStorage

_LOCKS: weakref.WeakKeyDictionary[object, asyncio.Lock] = weakref.WeakKeyDictionary()


def story_lock(storage: object) -> asyncio.Lock:
    """One lock per storage (per process), held by a poll from placing its articles to storing.

    Two feeds polled at once that carry one story then make one story. (Several workers on
    PostgreSQL can still race there: two first alerts of one story, never a lost one.)
    """
    lock = _LOCKS.get(storage)
    if lock is None:
        lock = _LOCKS[storage] = asyncio.Lock()
    return lock


def _sign(articles: Sequence[Article]) -> list[StoryFeatures]:
    return [story_features(a.title, a.text) for a in articles]


async def place_stories(storage: PollerStorage, articles: Sequence[Article], now: datetime
                        ) -> tuple[list[Article], tuple[StoryPlacement, ...]]:
    """``articles`` with their story keys (joined stories' where they join one), and where
    each was placed and why (stored with the poll)."""
    if not articles:
        return [], ()
    features = await asyncio.to_thread(_sign, articles)
    keys = sorted({k for f in features for k in lookup_keys(f)})
    since = min(a.published or now for a in articles) - DEFAULT_WINDOW
    lookup = await storage.story_candidates(keys, since)
    placed, placements = await asyncio.to_thread(place_articles, articles, features, lookup, now)
    return list(placed), placements

