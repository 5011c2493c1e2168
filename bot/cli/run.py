"""`newsbot run` (the scheduler, the chat adapters, signals with a hard deadline), `newsbot demo`
and `newsbot db upgrade`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

from bot.adapters.background import BackgroundAdapter, start_all, stop_all
from bot.app import App, run_summary
from bot.cli.demo import run_demo
from bot.cli.startup_log import masked_database_url, startup_lines
from bot.config.settings import Settings
from bot.domain.errors import ConfigError
from bot.jobs.parse_workers import close_parse_workers
from bot.storage.sql.db import current_revision, make_engine, upgrade

if TYPE_CHECKING:
    from bot.adapters.slack.oauth import Workspaces
    from bot.chat.types import Commands
    from bot.storage import AppStateStorage

log = logging.getLogger("newsbot")


SHUTDOWN_DEADLINE = 4.5  # seconds from SIGTERM/SIGINT to the end of the process, whatever runs


EXIT_DEADLINE = 1  # exit status when the deadline, not the orderly stop, ended the process


def _hard_exit(why: str) -> None:
    log.error("%s; exiting now (unfinished work is safe: its leases expire)", why)
    logging.shutdown()
    os._exit(EXIT_DEADLINE)


def install_signal_handlers(stop: asyncio.Event, deadline: float = SHUTDOWN_DEADLINE
                            ) -> Callable[[], None]:
    """SIGTERM/SIGINT set ``stop``; the process then ends within ``deadline`` seconds.

    A plain ``signal.signal`` handler runs in the main thread even while the event loop is busy;
    it wakes the loop thread-safely and arms a watchdog thread that ends the process when the
    orderly stop overruns (a stuck parse thread, a hung adapter). A second signal ends it at once.
    Returns a function that puts the previous handlers back.
    """
    loop = asyncio.get_running_loop()
    watchdog: list[threading.Timer] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if watchdog:
            _hard_exit(f"second {signal.Signals(signum).name}")
        log.info("%s: stopping (at most %gs)", signal.Signals(signum).name, deadline)
        timer = threading.Timer(deadline, _hard_exit, args=("shutdown deadline passed",))
        timer.daemon = True
        timer.start()
        watchdog.append(timer)
        loop.call_soon_threadsafe(stop.set)

    previous: dict[int, object] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread (tests)
            previous[sig] = signal.signal(sig, on_signal)

    def restore() -> None:
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)  # type: ignore[arg-type]
    return restore


def chat_adapters(settings: Settings, commands: Commands, *,
                  workspaces: Workspaces | None = None,
                  state: AppStateStorage | None = None) -> list[BackgroundAdapter]:
    """Slack and Discord, each started in the background (they are off without their tokens).
    ``workspaces``: Slack for several workspaces; ``state``: where Discord keeps its command
    tree's hash. Their libraries are imported here, when the adapters start, not by
    `run --once`."""
    from discord import LoginFailure

    from bot.adapters.discord.client import start_discord
    from bot.adapters.slack.app import start_slack

    return [
        BackgroundAdapter("Slack",
                          lambda: start_slack(settings, commands, workspaces=workspaces),
                          permanent=(ConfigError,)),
        BackgroundAdapter("Discord", lambda: start_discord(settings, commands, state=state),
                          permanent=(ConfigError, LoginFailure)),
    ]


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    stop = asyncio.Event()
    restore = None if args.once else install_signal_handlers(stop)  # before the slow start
    try:
        return await _run(args, settings, stop)
    finally:
        if restore is not None:
            restore()


async def _run(args: argparse.Namespace, settings: Settings, stop: asyncio.Event) -> int:
    off = "--once" if args.once else "--no-chat-adapters" if args.no_chat_adapters else None
    for line in startup_lines(settings, adapters_off=off):
        log.info("%s", line)
    app = await App.open(settings)
    try:
        if args.once:
            line, status = run_summary(await app.cycle(
                all_feeds=True, since=getattr(args, "started_at", None)))
            print(line, file=sys.stderr)
            return status
        from bot.jobs.scheduler import run_forever
        from bot.web.server import start_web

        adapters = [] if args.no_chat_adapters else start_all(chat_adapters(
            settings, app.commands, workspaces=app.slack_workspaces, state=app.storage))
        stopper = asyncio.create_task(stop_all(adapters, when=stop))  # beside the wind-down
        web = None
        try:
            web = await start_web(app, settings)  # /healthz /readyz /metrics, the status page
            await run_forever(app, stop)  # polling and delivery never wait for the adapters
        finally:
            stop.set()
            await stopper
            if web is not None:
                await web.stop()
        return 0
    finally:
        await app.close()
        close_parse_workers()  # (idle workers would also go at exit; a clean stop is quicker)


async def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    report = await run_demo(settings)
    print(f"demo: {report.polled} seed feed(s), {report.new_articles} article(s), "
          f"{report.delivery.sent} alert(s) printed", file=sys.stderr)
    return 0 if report.delivery.sent else 1


async def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        before = await current_revision(engine)
        await upgrade(engine)
        after = await current_revision(engine)
    finally:
        await engine.dispose()
    where = masked_database_url(settings.database_url)
    if before is None:
        print(f"created the tables of a new database at {where} (schema {after})",
              file=sys.stderr)
    elif before != after:
        print(f"upgraded the database at {where} from schema {before} to {after}",
              file=sys.stderr)
    else:
        print(f"database at {where} is up to date (schema {after})", file=sys.stderr)
    return 0
