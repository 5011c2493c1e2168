"""The operator's tools: `newsbot feeds check`, `match`, `summarize` and `audit` (JSON lines or
text on stdout)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from bot.cli.jsonl_input import read_articles
from bot.config.settings import Settings, sqlite_path
from bot.config.watchlist import load_watchlist
from bot.domain.errors import NewsbotError
from bot.jobs.parse_workers import parse_feed_async
from bot.net.fetcher import Fetcher
from bot.pipeline.keys import to_articles
from bot.pipeline.match import compile_watchlist
from bot.pipeline.summarise import summarise
from bot.storage import Storage, open_storage

log = logging.getLogger("newsbot")


def print_json(obj: object) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def local_source(source: str) -> str:
    if source.lower().startswith(("http://", "https://", "file:")):
        return source
    if not source.strip():
        raise NewsbotError("feeds check needs a feed: give an http(s) URL or a file path")
    path = Path(source)
    if not path.exists():
        raise NewsbotError(f"{source}: no such file (give a path or an http(s) URL)")
    if not path.is_file():
        raise NewsbotError(f"{source}: not a file (give a feed file or an http(s) URL)")
    return path.resolve().as_uri()


async def cmd_feeds_check(args: argparse.Namespace, settings: Settings) -> int:
    url = local_source(args.source)
    fetcher = await Fetcher.create(max_bytes=settings.max_feed_bytes,
                                   total_timeout=settings.fetch_timeout)
    try:
        fetched = await fetcher.fetch(url)
        parsed = await parse_feed_async(fetched.body, url=fetched.url,
                                        content_type=fetched.content_type)
    except NewsbotError as exc:
        print(f"{args.source}: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        await fetcher.close()
    articles = to_articles(fetched.url, parsed.entries)
    print(f"{parsed.title or '(untitled feed)'}: {len(articles)} entries"
          + (f" (parsed despite: {parsed.bozo})" if parsed.bozo else ""))
    for a in articles:
        when = a.published.isoformat(timespec="minutes") if a.published else "undated"
        print(f"- {when}  {a.title or '(no title)'}\n    {a.url or '(no link)'}  [{a.key[:60]}]")
    return 0


def report_input_errors(errors: list[str]) -> int:
    for error in errors:
        print(f"newsbot: {error}", file=sys.stderr)
    return 1 if errors else 0


async def cmd_match(args: argparse.Namespace, settings: Settings) -> int:
    matcher = compile_watchlist(load_watchlist(args.watchlist))
    errors: list[str] = []
    for art in read_articles(args.articles, errors):
        result = matcher.match(art.title, art.text)
        if args.json:
            print_json({"id": art.id, "companies": list(result.companies),
                        "topics": list(result.topics),
                        "matches": [m.to_dict() for m in result.matches]})
            continue
        tags = ", ".join([*result.companies, *result.topics]) or "no match"
        print(f"{art.id}: {tags}")
        for m in result.matches:
            print(f"    {m.kind} {m.name} via {m.alias!r} in {m.field}[{m.start}:{m.end}]: "
                  f"{m.sentence}")
    return report_input_errors(errors)


async def cmd_summarize(args: argparse.Namespace, settings: Settings) -> int:
    if args.sentences < 1 or args.chars < 20:
        raise NewsbotError("--sentences must be >= 1 and --chars >= 20")
    errors: list[str] = []
    for art in read_articles(args.articles, errors):
        summary = summarise(art.title, art.text, max_sentences=args.sentences,
                            max_chars=args.chars, lang=art.lang)
        if args.json:
            print_json({"id": art.id, "sentences": list(summary.sentences)})
        else:
            print(f"{art.id}: {summary.text}")
    return report_input_errors(errors)


async def open_existing_storage(url: str) -> Storage:
    """Storage on a database that must exist already: read-only commands never create one."""
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        raise NewsbotError(f"no database at {path} (give --db, or run `newsbot db upgrade` "
                           "or `newsbot run` first)")
    return await open_storage(url, migrate=False)



async def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    storage = await open_existing_storage(settings.database_url)
    try:
        entries = await storage.audit_entries(args.tenant, args.limit)
    finally:
        await storage.dispose()
    for e in entries:
        if args.json:
            print_json({"tenant": e.tenant, "actor": e.actor, "action": e.action,
                        "target": e.target, "before": e.before, "after": e.after,
                        "at": e.at.isoformat()})
        else:
            print(f"{e.at.isoformat(timespec='seconds')} {e.tenant} {e.actor}: {e.action} "
                  f"{e.target}\n    before: {e.before}\n    after:  {e.after}")
    return 0
