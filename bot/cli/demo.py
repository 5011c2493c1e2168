"""`newsbot demo`: the whole pipeline on the seed feeds, a temporary database, the console."""

from __future__ import annotations

import tempfile
from pathlib import Path

from bot.app import App, CycleReport
from bot.config.operator import DestinationSpec, OperatorConfig, load_config
from bot.config.settings import Settings, default_seeds_dir
from bot.domain.alert import Subscription
from bot.domain.article import FeedSource

SEED_SUFFIXES = (".rss", ".atom", ".xml", ".json")


def seeds_dir() -> Path:
    return default_seeds_dir()


def demo_config(settings: Settings, seeds: Path) -> OperatorConfig:
    """The operator's watchlist, every seed feed with full backfill, one console destination."""
    base = load_config(settings.config_dir)
    feeds = tuple(
        FeedSource(url=p.resolve().as_uri(), interval_minutes=15, backfill=1000)
        for p in sorted(seeds.iterdir()) if p.suffix in SEED_SUFFIXES)
    console = next((d for d in base.destinations if d.address == "console"), None)
    subs = console.subscriptions if console else (Subscription(company="*"),)
    return OperatorConfig(feeds=feeds, watchlist=base.watchlist,
                          destinations=(DestinationSpec("console", subs),),
                          directory=base.directory)


async def run_demo(settings: Settings) -> CycleReport:
    with tempfile.TemporaryDirectory(prefix="newsbot-demo-") as tmp:
        settings = settings.model_copy(
            update={"database_url": f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}"})
        app = await App.open(settings, config=demo_config(settings, seeds_dir()))
        try:
            return await app.cycle(all_feeds=True)
        finally:
            await app.close()
