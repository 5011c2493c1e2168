"""What each CLI command does (bot/cli.py only parses arguments)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from discord import LoginFailure

from .app import App, run_summary
from .cli import install_signal_handlers, print_json
from .cli_io import read_articles
from .cli_preview import cmd_preview
from .commands.types import Commands
from .demo import run_demo
from .errors import ConfigError, NewsbotError
from .pipeline.dedup import to_articles
from .pipeline.fetch import Fetcher
from .pipeline.match import compile_watchlist
from .pipeline.parse import close_parse_workers, parse_feed_async
from .pipeline.summarise import summarise
from .platforms.background import BackgroundAdapter, start_all, stop_all
from .platforms.discord_bot import start_discord
from .platforms.slack_app import start_slack
from .scheduler import run_forever
from .settings import Settings
from .storage import open_storage
from .storage.db import make_engine, upgrade
from .watchlist import load_watchlist
from .web.server import start_web


def chat_adapters(settings: Settings, commands: Commands) -> list[BackgroundAdapter]:
    """Slack and Discord, each started in the background (they are off without their tokens)."""
    return [
        BackgroundAdapter("Slack", lambda: start_slack(settings, commands),
                          permanent=(ConfigError,)),
        BackgroundAdapter("Discord", lambda: start_discord(settings, commands),
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
    app = await App.open(settings)
    try:
        if args.once:
            line, status = run_summary(await app.cycle(all_feeds=True))
            print(line, file=sys.stderr)
            return status
        adapters = [] if args.no_chat_adapters else start_all(chat_adapters(settings,
                                                                             app.commands))
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


def local_source(source: str) -> str:
    if source.lower().startswith(("http://", "https://", "file:")):
        return source
    path = Path(source)
    if not path.exists():
        raise NewsbotError(f"{source}: no such file (give a path or an http(s) URL)")
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


async def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    print("database is up to date", file=sys.stderr)
    return 0


async def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    storage = await open_storage(settings.database_url)
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


async def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    handlers = {
        "run": cmd_run, "demo": cmd_demo, "match": cmd_match, "summarize": cmd_summarize,
        "audit": cmd_audit, "preview": cmd_preview,
    }
    if args.command == "feeds":
        return await cmd_feeds_check(args, settings)
    if args.command == "db":
        return await cmd_db_upgrade(args, settings)
    return await handlers[args.command](args, settings)
