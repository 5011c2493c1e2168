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
from collections.abc import Sequence
from pathlib import Path

from .errors import NewsbotError
from .settings import Settings

log = logging.getLogger("newsbot")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsbot", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="poll feeds and post alerts on a schedule")
    run.add_argument("--once", action="store_true",
                     help="poll every followed feed once, deliver, and exit")
    run.add_argument("--config", type=Path, help="config folder (default: ./config)")
    run.add_argument("--db", help="database URL (default: $NEWSBOT_DATABASE_URL)")

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
    except ValueError as exc:  # pydantic's ValidationError
        print(f"newsbot: invalid settings: {exc}", file=sys.stderr)
        return 2
    level = logging.DEBUG if args.verbose else getattr(logging, settings.log_level.upper(),
                                                       logging.INFO)
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "aiosqlite", "asyncio", "apscheduler.executors"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
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


def install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not main thread / OS
            loop.add_signal_handler(sig, stop.set)


def print_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False))


if __name__ == "__main__":
    sys.exit(main())
