"""Building a real App for end-to-end tests: real storage, real fetcher, the test's sinks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.app import App
from bot.config.operator import DestinationSpec, OperatorConfig
from bot.config.settings import Settings
from bot.delivery.sinks import Sink
from bot.domain.alert import Subscription
from bot.domain.article import FeedSource
from bot.domain.watchlist import Watchlist
from bot.storage import open_storage

ANY_COMPANY = (Subscription(company="*"),)


async def open_app(db_url: tuple[str, dict[str, Any]], config_dir: Path, clock: Any, *,
                   feeds: Sequence[FeedSource], watchlist: Watchlist,
                   sinks: Mapping[str, Sink], address: str = "",
                   subs: tuple[Subscription, ...] = ANY_COMPANY,
                   destinations: Sequence[DestinationSpec] = (), **settings: Any) -> App:
    """An App on the test database whose operator config has these feeds and destinations
    (``address`` + ``subs`` is the one-destination shorthand)."""
    url, connect_args = db_url
    dests = tuple(destinations) or (DestinationSpec(address, subs),)
    config = OperatorConfig(tuple(feeds), watchlist, dests, config_dir)
    return await App.open(Settings(database_url=url, config_dir=config_dir, **settings),
                          config=config, sinks=sinks, clock=clock,
                          storage=await open_storage(url, connect_args=connect_args))
