"""A channel in digest mode end to end: real App cycles with a fake clock, a feed on loopback, a
recording sink: its alerts arrive as ONE digest at the local time, once, across a restart."""

from __future__ import annotations

from datetime import UTC, datetime

from apphelpers import ANY_COMPANY, open_app
from feedserver import FeedServer, Item, rss
from test_pipeline_e2e import WATCHLIST, RecordingSink

from bot.config.operator import DestinationSpec
from bot.domain.article import FeedSource
from bot.domain.controls import ChannelControls, Schedule


def items(n: int, when: datetime) -> list[Item]:
    return [Item(f"g{i}", f"Nvidia news number {i}", f"Nvidia said {i}.", published=when)
            for i in range(n)]


async def test_digest_mode_end_to_end_once_across_a_restart(feed_server: FeedServer, db_url,
                                                            tmp_path, clock) -> None:
    clock.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 10:00 in Paris
    url = feed_server.set("/feed.xml", rss([]))
    digest = ChannelControls(digest=Schedule.parse("daily 08:00"), timezone="Europe/Paris")
    dest = DestinationSpec("rec:main", ANY_COMPANY, digest)
    sink = RecordingSink()

    async def app():
        return await open_app(db_url, tmp_path, clock, feeds=[FeedSource(url, "Test News")],
                              watchlist=WATCHLIST, sinks={"rec": sink}, destinations=[dest])

    first = await app()
    try:
        await first.cycle(all_feeds=True)  # primes the feed
        feed_server.set("/feed.xml", rss(items(3, clock.now)))
        clock.advance(minutes=20)
        report = await first.cycle(all_feeds=True)
        assert report.alerts == 3 and sink.sent == []  # held for the digest
        clock.now = datetime(2026, 12, 2, 6, 59, tzinfo=UTC)  # 07:59 in Paris
        await first.cycle()
        assert sink.sent == []
        clock.advance(minutes=1)  # 08:00 in Paris
        await first.cycle()
        (sent,) = sink.sent
        assert sent.alert.is_digest and sent.alert.title == "News digest: 3 stories"
    finally:
        await first.close()
    clock.advance(minutes=5)
    again = await app()  # a restart: nothing is posted twice
    try:
        await again.cycle()
        assert len(sink.sent) == 1
    finally:
        await again.close()
