"""Which function runs each CLI command (bot/cli/parser.py parses the arguments)."""

from __future__ import annotations

import argparse

from bot.cli.cluster import cmd_cluster
from bot.cli.opml import cmd_feeds_export, cmd_feeds_import
from bot.cli.preview import cmd_preview
from bot.cli.run import cmd_db_upgrade, cmd_demo, cmd_run
from bot.cli.tenants import cmd_tenant
from bot.cli.tools import cmd_audit, cmd_feeds_check, cmd_match, cmd_summarize
from bot.config.settings import Settings


async def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    handlers = {
        "run": cmd_run, "demo": cmd_demo, "match": cmd_match, "summarize": cmd_summarize,
        "audit": cmd_audit, "preview": cmd_preview, "tenant": cmd_tenant,
        "cluster": cmd_cluster,
    }
    if args.command == "feeds":
        feeds = {"check": cmd_feeds_check, "import": cmd_feeds_import,
                 "export": cmd_feeds_export}
        return await feeds[args.feeds_command](args, settings)
    if args.command == "db":
        return await cmd_db_upgrade(args, settings)
    return await handlers[args.command](args, settings)
