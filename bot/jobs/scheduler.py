"""One process: APScheduler's AsyncIOScheduler fires the cycle; all state lives in the database.

The units (poll one feed, deliver one delivery) know nothing about this module; a restart picks up
due times, leases and outbox rows from storage, so nothing is polled or posted twice.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

if TYPE_CHECKING:  # the composition root calls this module, never the other way round
    from bot.app import App

from bot.jobs.housekeeping import housekeeping

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


FINISH_GRACE = 1.5  # seconds a cycle in progress gets to finish on its own after a stop
UNWIND_GRACE = 1.0  # then it is cancelled, and gets this long to unwind

Job = Callable[["App"], Awaitable[None]]


def tracked(job: Job, running: set[asyncio.Task[object]]) -> Job:
    """``job`` that registers its task in ``running`` while it runs, so a stop can cancel it."""
    @functools.wraps(job)
    async def run(app: App) -> None:
        task = asyncio.current_task()
        if task is not None:
            running.add(task)
        try:
            await job(app)
        except asyncio.CancelledError:  # the stop: the job ends here, quietly (nothing awaits it)
            log.info("%s cancelled by the stop", job.__name__)
        finally:
            running.discard(task)
    return run


def build_scheduler(app: App, running: set[asyncio.Task[object]] | None = None
                    ) -> AsyncIOScheduler:
    running = set() if running is None else running
    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(tracked(safe_cycle, running), "interval", args=[app],
                      seconds=app.settings.tick_seconds, id="cycle", max_instances=1,
                      coalesce=True, next_run_time=app.clock())
    scheduler.add_job(tracked(housekeeping, running), "interval", args=[app], hours=1,
                      id="housekeeping", max_instances=1, coalesce=True)
    return scheduler


async def wind_down(scheduler: AsyncIOScheduler, running: set[asyncio.Task[object]], *,
                    finish: float = FINISH_GRACE, unwind: float = UNWIND_GRACE) -> None:
    """Start nothing new; let the cycle in progress finish for ``finish`` seconds, then cancel it.

    Most cycles end on their own (cancelling one in the middle of a database call can leave the
    SQLite driver hanging on close). One stuck on a feed or a platform is abandoned, which is safe:
    a feed caught mid-poll keeps its lease until it expires, and the outbox decides what a delivery
    caught mid-send becomes. A cycle stuck in a thread (a long parse) does not hold the stop up:
    the process's shutdown deadline ends it.
    """
    scheduler.pause()
    tasks = [t for t in running if not t.done()]
    pending: set[asyncio.Task[object]] = set()
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=finish)
    scheduler.shutdown(wait=False)
    for task in pending:
        task.cancel()
    if pending:
        _, stuck = await asyncio.wait(pending, timeout=unwind)
        if stuck:
            log.warning("%d cycle(s) did not stop within %.0fs; abandoned", len(stuck),
                        finish + unwind)


async def run_forever(app: App, stop: asyncio.Event) -> None:
    """Run the scheduler until ``stop`` is set (signals, or the tests); then wind down."""
    running: set[asyncio.Task[object]] = set()
    scheduler = build_scheduler(app, running)
    scheduler.start()
    app.loop_lag.start()
    log.info("newsbot running: %d feed(s), tick every %ss", len(app.config.feeds),
             app.settings.tick_seconds)
    try:
        await stop.wait()
    finally:
        await app.loop_lag.stop()
        await wind_down(scheduler, running)
