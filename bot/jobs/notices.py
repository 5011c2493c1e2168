"""Admin notices in chat: a feed failing for hours, a destination stopped, a watchlist rejected.

Each is posted once (the notice's key names the event: the feed and the start of its failure,
the destination and the time it stopped) through the outbox to the tenant's admin channel set
with ``/news admin-channel``; every notice is recorded and listed by ``/news status``, admin
channel or not.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from bot.domain.alert import NOTICE_PREFIX, Alert, display_address
from bot.storage import NoticeStorage
from bot.text.truncate import truncate

log = logging.getLogger(__name__)

FEED_FAILING_HOURS = 6
WATCHLIST_ERROR = "WatchlistError"  # a poll that failed because the watchlist would not compile


def notice(key: str, title: str, detail: str, now: datetime) -> Alert:
    return Alert(destination="admin", feed="newsbot admin notice", url=None,
                 title=truncate(title, 240), published=now, companies=(), topics=(),
                 summary=truncate(detail, 1000), story=f"{NOTICE_PREFIX}{key}")


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M")


class Notices:
    def __init__(self, storage: NoticeStorage, *,
                 feed_failing: timedelta = timedelta(hours=FEED_FAILING_HOURS)) -> None:
        self.storage = storage
        self.feed_failing = feed_failing
        self._done: set[tuple[str, str]] = set()  # (tenant, key) noticed: no write each cycle

    async def run(self, now: datetime) -> int:
        """Notice every feed failing for longer than ``feed_failing``, and at once a poll that
        failed on the tenant's watchlist (once per failure)."""
        posted = 0
        for f in await self.storage.failing_follows(now):
            hours = int((now - f.since).total_seconds() // 3600)
            if WATCHLIST_ERROR in f.last_error:
                item = notice(f"watchlist-rejected:{f.feed_id}:{_stamp(f.since)}",
                              "The watchlist was rejected while matching a feed",
                              f"{f.url}: {f.last_error}", now)
            elif now - f.since >= self.feed_failing:
                item = notice(f"feed-failing:{f.feed_id}:{_stamp(f.since)}",
                              f"Feed failing for {hours} h: {f.url}",
                              f"{f.error_count} failed poll(s) in a row; last error: "
                              f"{f.last_error}. /news feeds list shows its health.", now)
            else:
                continue
            if (f.tenant, item.story) in self._done:
                continue
            posted += await self.storage.post_notice(f.tenant, item, now)
            if len(self._done) > 10_000:
                self._done.clear()
            self._done.add((f.tenant, item.story))
        return posted

    async def destination_stopped(self, destination_id: int, address: str, reason: str,
                                  now: datetime) -> bool:
        tenant = await self.storage.destination_tenant(destination_id)
        where = display_address(address)
        return await self.storage.post_notice(tenant, notice(
            f"destination-stopped:{destination_id}:{_stamp(now)}",
            f"Alerts to {where} are stopped",
            f"{reason}. Its alerts are kept: fix the cause, then /news resume in that channel.",
            now), now)
