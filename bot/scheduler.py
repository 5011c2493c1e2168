"""One process: APScheduler's AsyncIOScheduler fires the cycle; all state lives in the database.

The units (poll one feed, deliver one delivery) know nothing about this module; a restart picks up
due times, leases and outbox rows from storage, so nothing is polled or posted twice.
"""

from __future__ import annotations

import asyncio
import logging

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


def build_scheduler(app: App) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(safe_cycle, "interval", args=[app], seconds=app.settings.tick_seconds,
                      id="cycle", max_instances=1, coalesce=True, next_run_time=app.clock())
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
