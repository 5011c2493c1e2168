"""Scale-out: several newsbot processes on one database share the work, never duplicate it."""

from __future__ import annotations

import asyncio

from feedserver import rss, start_feed_server
from test_pipeline_e2e import WATCHLIST, RecordingSink, items

from bot.app import App
from bot.config import DestinationSpec, OperatorConfig
from bot.models import FeedSource, Subscription
from bot.settings import Settings
from bot.storage import open_storage


async def test_two_workers_poll_each_feed_once_and_post_each_alert_once(db_url, tmp_path,
                                                                        clock) -> None:
    server, runner = await start_feed_server()
    feeds = tuple(FeedSource(server.set(f"/f{i}.xml", rss(items(3, start=10 * i))), f"F{i}")
                  for i in range(6))
    config = OperatorConfig(feeds, WATCHLIST,
                            (DestinationSpec("rec:main", (Subscription(company="*"),)),), tmp_path)
    url, connect_args = db_url
    sinks = [RecordingSink(), RecordingSink()]
    workers = [await App.open(Settings(database_url=url, config_dir=tmp_path, concurrency=2),
                              config=config, sinks={"rec": sink}, clock=clock,
                              storage=await open_storage(url, connect_args=connect_args))
               for sink in sinks]
    try:
        await asyncio.gather(*(w.cycle() for w in workers))  # first polls: nothing posted
        assert all(server.hits[f"/f{i}.xml"] == 1 for i in range(6))
        for i in range(6):
            server.set(f"/f{i}.xml", rss(items(5, start=10 * i)))
        clock.advance(minutes=20)
        reports = await asyncio.gather(*(w.cycle() for w in workers))
        assert all(server.hits[f"/f{i}.xml"] == 2 for i in range(6))
        assert sum(r.polled for r in reports) == 6
        titles = [d.alert.title for s in sinks for d in s.sent]
        assert len(titles) == 12 and len(set(titles)) == 12  # 2 new items x 6 feeds, once each
    finally:
        for w in workers:
            await w.close()
        await runner.cleanup()
