"""Housekeeping, hourly: old article bodies go (their keys stay, so dedup still sees them)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

STORY_DAYS = 7
ARTICLE_TEXT_DAYS = 30  # `preview company` looks back 7 days; `why` a little further


async def housekeeping(app: App) -> None:
    """Keep the database small: old article bodies go (their keys stay for dedup)."""
    try:
        pruned = await app.storage.prune_article_text(
            app.clock() - timedelta(days=ARTICLE_TEXT_DAYS))
        # story signatures outlive their 72 h window a little, for `why` (issue 12)
        await app.storage.prune_stories(app.clock() - timedelta(days=STORY_DAYS))
    except Exception:  # housekeeping must not stop the scheduler
        log.exception("housekeeping failed; it runs again in an hour")
        return
    if pruned:
        log.info("housekeeping: dropped the text of %d old article(s)", pruned)
