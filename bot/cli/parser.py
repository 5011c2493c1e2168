"""The `newsbot` argument parser and `main`: settings, logging, then one command
(bot/cli/commands.py)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from bot.config.settings import Settings, absolute_sqlite_url, package_version, settings_errors
from bot.domain.errors import NewsbotError

DESCRIPTION = ("Command line: run, demo, feeds check/import/export, match, cluster, summarize, "
               "preview, db upgrade, audit, tenant delete.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsbot", description=DESCRIPTION)
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
    imp = feeds_sub.add_parser("import", help="follow the feeds of an OPML file (nothing is "
                                              "fetched now; refused outlines are listed)")
    imp.add_argument("file", help="OPML file")
    imp.add_argument("--db", help="database URL")
    exp = feeds_sub.add_parser("export", help="print the followed feeds as OPML 2.0")
    exp.add_argument("--db", help="database URL")

    match = sub.add_parser("match", help="match articles (JSON lines) against a watchlist")
    match.add_argument("--watchlist", required=True, type=Path)
    match.add_argument("--json", action="store_true", help="one JSON object per article")
    match.add_argument("articles", nargs="?", default="-", help="JSONL file, or - for stdin")

    summ = sub.add_parser("summarize", help="summarise articles (JSON lines)")
    summ.add_argument("--sentences", type=int, default=3)
    summ.add_argument("--chars", type=int, default=600, help="character budget")
    summ.add_argument("--json", action="store_true")
    summ.add_argument("articles", nargs="?", default="-")

    from bot.cli.preview_args import add_preview_parser

    add_preview_parser(sub)

    add_cluster_parser(sub)

    db = sub.add_parser("db", help="database tools")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply database migrations")
    up.add_argument("--db", help="database URL")

    audit = sub.add_parser("audit", help="print the audit log of admin changes")
    audit.add_argument("--tenant", help="only this tenant (e.g. slack:T123, discord:456)")
    audit.add_argument("--limit", type=int, default=50)
    audit.add_argument("--db", help="database URL")
    audit.add_argument("--json", action="store_true")
    from bot.cli.tenants import add_tenant_parser

    add_tenant_parser(sub)
    allow_verbose_anywhere(sub)
    return parser


def add_cluster_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`cluster`'s arguments (here, not in bot/cli/cluster.py: building the parser for `run`
    must not import the story and JSON-lines tools)."""
    from bot.pipeline.stories import DEFAULT_WINDOW

    cluster = sub.add_parser("cluster", help="group articles (JSON lines) into stories: one "
                                             "JSON line per article, {\"id\", \"story\"}")
    cluster.add_argument("--window", type=float, default=DEFAULT_WINDOW.total_seconds() / 3600,
                         metavar="HOURS", help="how far apart two reports of one story may be "
                                               "published (default 72)")
    cluster.add_argument("--json", action="store_true",
                         help="JSON lines (the only output format; accepted for symmetry)")
    cluster.add_argument("--explain", action="store_true",
                         help="add the article each one joined and why")
    cluster.add_argument("articles", nargs="?", default="-", help="JSONL file, or - for stdin")


def allow_verbose_anywhere(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``-v`` after the subcommand too (``newsbot run -v``), at every level."""
    for parser in sub.choices.values():
        parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                            help="debug logging")
        for action in parser._subparsers._group_actions if parser._subparsers else ():
            if isinstance(action, argparse._SubParsersAction):
                allow_verbose_anywhere(action)


def load_settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    update: dict[str, object] = {}
    if getattr(args, "config", None):
        update["config_dir"] = args.config
    if getattr(args, "db", None):
        update["database_url"] = args.db
    return settings.model_copy(update=update) if update else settings


def resolve_database_path(settings: Settings) -> Settings:
    """A relative SQLite path is relative to the current folder: made absolute, and said
    (a warning unless it is the default ./data/newsbot.db)."""
    url, absolute = absolute_sqlite_url(settings.database_url, Path.cwd())
    if absolute is None:
        return settings
    if settings.database_url != Settings.model_fields["database_url"].default:
        logging.getLogger("newsbot").warning(
            "the SQLite database path is relative to the current folder: using %s", absolute)
    return settings.model_copy(update={"database_url": url})


def main(argv: Sequence[str] | None = None) -> int:
    started = datetime.now(UTC)  # `run --once` polls what nobody polled since this moment
    args = build_parser().parse_args(argv)
    args.started_at = started
    try:
        settings = load_settings(args)
    except ValidationError as exc:
        for line in settings_errors(exc):
            print(f"newsbot: {line}", file=sys.stderr)
        return 2
    level = logging.DEBUG if args.verbose else settings.log_level_number
    from bot.cli.log_format import log_handler

    logging.basicConfig(level=level, handlers=[log_handler(settings.log_format, sys.stderr)])
    for noisy in ("alembic", "aiosqlite", "asyncio", "apscheduler.executors"):  # -v: INFO
        logging.getLogger(noisy).setLevel(logging.INFO if args.verbose
                                          else max(level, logging.WARNING))
    from bot.domain.secrets import protect_logs

    protect_logs()  # every log line masked; slack_sdk never logs response_url
    settings = resolve_database_path(settings)
    from bot.cli.commands import dispatch

    try:
        return asyncio.run(dispatch(args, settings))
    except NewsbotError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `newsbot ... | head`: the reader has gone, that is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
