"""Scale-out: several newsbot processes on one database share the work, never duplicate it."""

from __future__ import annotations

import asyncio

from apphelpers import open_app
from feedserver import rss
from test_pipeline_e2e import WATCHLIST, RecordingSink, items

from bot.domain.article import FeedSource


async def test_two_workers_poll_each_feed_once_and_post_each_alert_once(
        db_url, tmp_path, clock, feed_server) -> None:
    server = feed_server
    feeds = tuple(FeedSource(server.set(f"/f{i}.xml", rss(items(3, start=10 * i))), f"F{i}")
                  for i in range(6))
    sinks = [RecordingSink(), RecordingSink()]
    workers = [await open_app(db_url, tmp_path, clock, feeds=feeds, watchlist=WATCHLIST,
                              sinks={"rec": sink}, address="rec:main", concurrency=2)
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
