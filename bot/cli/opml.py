"""`newsbot feeds import FILE.opml` and `newsbot feeds export`: the local tenant's feed list in
OPML (bot/config/opml.py reads and writes it). Imported follows are the operator's (source
"opml"): trusted like feeds.yaml, and kept when `newsbot run` syncs config/ at start."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.cli.tools import open_existing_storage
from bot.config.operator import LOCAL_TENANT
from bot.config.opml import parse_opml, render_opml
from bot.config.settings import Settings
from bot.domain.errors import ConfigError, NewsbotError
from bot.storage import open_storage

MAX_OPML_BYTES = 10 * 1024 * 1024


def read_opml_file(name: str) -> bytes:
    path = Path(name)
    try:
        if not path.is_file():
            raise NewsbotError(f"{name}: not a file")
        if path.stat().st_size > MAX_OPML_BYTES:
            raise NewsbotError(f"{name}: larger than {MAX_OPML_BYTES // 1024 // 1024} MiB")
        return path.read_bytes()
    except OSError as exc:
        raise NewsbotError(f"{name}: cannot read: {exc.strerror}") from None


async def cmd_feeds_import(args: argparse.Namespace, settings: Settings) -> int:
    data = read_opml_file(args.file)
    storage = await open_storage(settings.database_url)
    try:
        now = datetime.now(UTC)
        known = [f.url for f in await storage.feed_follows(LOCAL_TENANT)]
        try:
            result = parse_opml(data, known)
        except ConfigError as exc:
            raise NewsbotError(f"{args.file}: {exc}") from None
        await storage.ensure_tenant(LOCAL_TENANT, now, name="operator")
        for source in result.feeds:  # nothing is fetched: the scheduler polls them
            feed_id = await storage.ensure_feed(source, now)
            await storage.follow(LOCAL_TENANT, feed_id, title=source.title, backfill=0,
                                 source="opml", now=now)
    finally:
        await storage.dispose()
    for problem in result.problems:
        print(f"newsbot: {args.file}: {problem}", file=sys.stderr)
    print(f"imported {len(result.feeds)} feed(s), refused {len(result.problems)}",
          file=sys.stderr)
    return 1 if result.problems else 0


async def cmd_feeds_export(args: argparse.Namespace, settings: Settings) -> int:
    storage = await open_existing_storage(settings.database_url)
    try:
        follows = await storage.feed_follows(LOCAL_TENANT)
    finally:
        await storage.dispose()
    sys.stdout.write(render_opml([(f.url, f.title) for f in follows], datetime.now(UTC)))
    return 0
