"""Command line: run, demo, feeds check, match, summarize, db upgrade, audit."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from pydantic import ValidationError

from .errors import NewsbotError
from .settings import Settings, package_version, settings_errors

log = logging.getLogger("newsbot")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsbot", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"newsbot {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="poll feeds and post alerts on a schedule")
    run.add_argument("--once", action="store_true",
                     help="poll every followed feed once, deliver, and exit")
    run.add_argument("--config", type=Path, help="config folder (default: ./config)")
    run.add_argument("--db", help="database URL (default: $NEWSBOT_DATABASE_URL)")
    run.add_argument("--no-chat-adapters", action="store_true",
                     help="poll and deliver only: no Slack listener, no Discord gateway "
                          "(extra workers, test doubles); the sinks still post")

    sub.add_parser("demo", help="run the pipeline on the seed feeds with a throwaway database")

    feeds = sub.add_parser("feeds", help="feed tools")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True)
    check = feeds_sub.add_parser("check", help="fetch and parse one feed; print its entries")
    check.add_argument("source", help="URL or local path")

    match = sub.add_parser("match", help="match articles (JSON lines) against a watchlist")
    match.add_argument("--watchlist", required=True, type=Path)
    match.add_argument("--json", action="store_true", help="one JSON object per article")
    match.add_argument("articles", nargs="?", default="-", help="JSONL file, or - for stdin")

    summ = sub.add_parser("summarize", help="summarise articles (JSON lines)")
    summ.add_argument("--sentences", type=int, default=3)
    summ.add_argument("--chars", type=int, default=600, help="character budget")
    summ.add_argument("--json", action="store_true")
    summ.add_argument("articles", nargs="?", default="-")

    from .cli_preview import add_preview_parser

    add_preview_parser(sub)

    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply database migrations")
    up.add_argument("--db", help="database URL")

    audit = sub.add_parser("audit", help="print the audit log of admin changes")
    audit.add_argument("--tenant", help="only this tenant (e.g. slack:T123, discord:456)")
    audit.add_argument("--limit", type=int, default=50)
    audit.add_argument("--db", help="database URL")
    audit.add_argument("--json", action="store_true")
    return parser


def load_settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    update: dict[str, object] = {}
    if getattr(args, "config", None):
        update["config_dir"] = args.config
    if getattr(args, "db", None):
        update["database_url"] = args.db
    return settings.model_copy(update=update) if update else settings


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args)
    except ValidationError as exc:
        for line in settings_errors(exc):
            print(f"newsbot: {line}", file=sys.stderr)
        return 2
    level = logging.DEBUG if args.verbose else settings.log_level_number
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "aiosqlite", "asyncio", "apscheduler.executors"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    from .domain.secrets import protect_logs

    protect_logs()  # every log line masked; slack_sdk never logs response_url
    from . import cli_commands

    try:
        return asyncio.run(cli_commands.dispatch(args, settings))
    except NewsbotError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `newsbot ... | head`: the reader has gone, that is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


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


def print_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
