"""Which function runs each CLI command (bot/cli/parser.py parses the arguments).

Each command's module is imported when that command runs (`run --once` from cron does not pay
for what `preview` or `feeds import` need, nor `match` for the database)."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable

from bot.config.settings import Settings

Handler = Callable[[argparse.Namespace, Settings], Awaitable[int]]


def handler(args: argparse.Namespace) -> Handler:
    command = args.command
    if command in ("run", "demo", "db"):
        from bot.cli import run

        return {"run": run.cmd_run, "demo": run.cmd_demo, "db": run.cmd_db_upgrade}[command]
    if command == "preview":
        from bot.cli.preview import cmd_preview

        return cmd_preview
    if command == "cluster":
        from bot.cli.cluster import cmd_cluster

        return cmd_cluster
    if command == "tenant":
        from bot.cli.tenants import cmd_tenant

        return cmd_tenant
    if command == "feeds" and args.feeds_command in ("import", "export"):
        from bot.cli import opml

        return opml.cmd_feeds_import if args.feeds_command == "import" else opml.cmd_feeds_export
    from bot.cli import tools

    if command == "feeds":
        return tools.cmd_feeds_check
    return {"match": tools.cmd_match, "summarize": tools.cmd_summarize,
            "audit": tools.cmd_audit}[command]


async def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    return await handler(args)(args, settings)
