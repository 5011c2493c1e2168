"""One process: APScheduler's AsyncIOScheduler fires the cycle; all state lives in the database.

The units (poll one feed, deliver one delivery) know nothing about this module; a restart picks up
due times, leases and outbox rows from storage, so nothing is polled or posted twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from .app import App

log = logging.getLogger(__name__)


async def safe_cycle(app: App) -> None:
    """One tick; an unexpected error is logged, never allowed to stop the scheduler."""
    try:
        report = await app.cycle()
    except Exception:  # the scheduler must outlive any bug in one cycle
        log.exception("cycle failed; the next tick will try again")
        return
    if report.polled or report.delivery.sent:
        log.info("cycle: %d feed(s) polled (%d failed), %d alert(s) queued, %d sent, %d retrying",
                 report.polled, report.failed, report.alerts, report.delivery.sent,
                 report.delivery.retried)


ARTICLE_TEXT_DAYS = 30  # `preview company` looks back 7 days; `why` a little further


async def housekeeping(app: App) -> None:
    """Keep the database small: old article bodies go (their keys stay for dedup)."""
    try:
        pruned = await app.storage.prune_article_text(
            app.clock() - timedelta(days=ARTICLE_TEXT_DAYS))
    except Exception:  # noqa: BLE001 - housekeeping must not stop the scheduler
        log.exception("housekeeping failed; it runs again in an hour")
        return
    if pruned:
        log.info("housekeeping: dropped the text of %d old article(s)", pruned)


def build_scheduler(app: App) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(safe_cycle, "interval", args=[app], seconds=app.settings.tick_seconds,
                      id="cycle", max_instances=1, coalesce=True, next_run_time=app.clock())
    scheduler.add_job(housekeeping, "interval", args=[app], hours=1, id="housekeeping",
                      max_instances=1, coalesce=True)
    return scheduler


async def run_forever(app: App, stop: asyncio.Event) -> None:
    """Run the scheduler until ``stop`` is set (signals, or the tests)."""
    scheduler = build_scheduler(app)
    scheduler.start()
    log.info("newsbot running: %d feed(s), tick every %ss", len(app.config.feeds),
             app.settings.tick_seconds)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
