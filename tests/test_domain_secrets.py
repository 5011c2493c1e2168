"""One masking function for every message: webhook tokens never reach output, logs, the audit
log or the outbox, whatever fails."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apphelpers import open_app
from fakes.fake_discord import FakeDiscord
from feedserver import FeedServer, Item, rss
from sqlalchemy import select
from test_delivery_discord_sink import WEBHOOK_ID, WEBHOOK_TOKEN, FakeTime, fake  # noqa: F401 - fixture

from bot.adapters.slack.verify import ReplayCache
from bot.delivery.discord_sink import DiscordWebhookSink, Pacer
from bot.domain.alert import display_address
from bot.domain.article import FeedSource
from bot.domain.errors import FetchError, PermanentDeliveryError
from bot.domain.secrets import CHATTY_LOGGERS, mask_secrets, protect_logs
from bot.domain.watchlist import Company, Watchlist
from bot.storage.sql.tables import audit_log, deliveries

TOKEN = WEBHOOK_TOKEN
HOOK = f"https://discord.com/api/webhooks/{WEBHOOK_ID}/{TOKEN}"


@pytest.mark.parametrize(("text", "kept"), [
    (f"discord-webhook:{HOOK}", f"discord-webhook:https://discord.com/api/webhooks/{WEBHOOK_ID}/"),
    (f"https://DISCORD.com/API/Webhooks/{WEBHOOK_ID}/{TOKEN}?wait=true", "?wait=true"),
    (f"http://127.0.0.1:8080/api/v10/webhooks/{WEBHOOK_ID}/{TOKEN}/messages/@original",
     "/messages/@original"),
    (f"https%3A%2F%2Fdiscord.com%2Fapi%2Fwebhooks%2F{WEBHOOK_ID}%2F{TOKEN}&x=1", "&x=1"),
    (f"https://hooks.slack.com/services/T0/B0/{TOKEN} failed", " failed"),
    (f"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1%2F39%2F{TOKEN}&trigger_id=1",
     "&trigger_id=1"),
    (f"token xoxb-{TOKEN} and XAPP-1-{TOKEN} and xoxp-{TOKEN}", "token xoxb-"),
    (f"https://feeds.example.com/rss?a=1&token={TOKEN}&Api_Key={TOKEN}#top", "#top"),
    (f"https://user:{TOKEN}@feeds.example.com/rss", "@feeds.example.com/rss"),
])
def test_every_secret_shape_is_masked_case_insensitively(text: str, kept: str) -> None:
    masked = mask_secrets(text)
    assert TOKEN not in masked and kept in masked and "***" in masked


@pytest.mark.parametrize("text", ["console", "slack:C0123", "discord:112233",
                                  "jsonl:data/alerts.jsonl", "https://news.example.com/a?id=3"])
def test_ordinary_addresses_are_left_alone(text: str) -> None:
    assert mask_secrets(text) == text == display_address(text)


def test_error_messages_are_masked_at_the_source() -> None:
    error = FetchError(f"POST {HOOK} failed", url=HOOK)
    assert TOKEN not in str(error) and TOKEN not in repr(error)


@pytest.fixture
def quiet_slack_levels() -> Iterator[None]:
    saved = {name: logging.getLogger(name).level for name in CHATTY_LOGGERS}
    yield
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def test_log_records_and_tracebacks_are_masked(quiet_slack_levels: None) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("newsbot.test_secrets")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    protect_logs(handler)
    try:
        logger.warning("posting to %s", HOOK)
        try:
            raise ValueError(f"bad url {HOOK}")  # a third-party error, not ours
        except ValueError:
            logger.exception("send failed")
        logging.getLogger("slack_sdk.webhook").debug("response_url %s", HOOK)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert TOKEN not in text
    assert f"posting to https://discord.com/api/webhooks/{WEBHOOK_ID}/***" in text
    assert "ValueError: bad url" in text
    assert "response_url" not in text  # slack_sdk DEBUG stays off, even with -v
    assert all(logging.getLogger(n).getEffectiveLevel() >= logging.WARNING
               for n in CHATTY_LOGGERS)


def test_the_replay_cache_forgets_pairs_once_their_window_has_passed() -> None:
    cache = ReplayCache(window=300)
    assert cache.first_time("1000", "v0=a", now=1000)
    assert not cache.first_time("1000", "v0=a", now=1200)
    assert cache.first_time("1000", "v0=b", now=1200)
    assert cache.first_time("1250", "v0=a", now=1250)
    assert len(cache) == 3
    assert cache.first_time("1400", "v0=c", now=1400)  # 1000's entries have expired
    assert len(cache) == 2


# --- end to end: a webhook destination that fails in every way ------------------------------------
def items(n: int) -> list[Item]:
    t0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # within max_age of the clock
    return [Item(guid=f"g{i}", title=f"Nvidia news {i}", text=f"Nvidia said {i} things.",
                 published=t0 + timedelta(days=i)) for i in range(n)]


async def test_a_failing_webhook_leaks_its_token_nowhere(
        db_url, tmp_path: Path, clock, fake: FakeDiscord, feed_server: FeedServer,
        caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.INFO)  # what the bot logs by default, with no masking filter
    time_ = FakeTime()
    sink = DiscordWebhookSink(api_base=fake.base, pacer=Pacer(monotonic=time_, sleep=time_.sleep))
    url = feed_server.set("/feed.xml", rss(items(1)))
    app = await open_app(db_url, tmp_path, clock, feeds=[FeedSource(url, "Test News")],
                         watchlist=Watchlist(companies=(Company("Nvidia"),)),
                         sinks={"discord-webhook": sink}, address=f"discord-webhook:{HOOK}")
    try:
        await app.cycle(all_feeds=True)
        fake.script(f"webhook:{WEBHOOK_ID}", 429, retry_after=2.0)
        fake.script(f"webhook:{WEBHOOK_ID}", 500)
        for n in (2, 3):  # a rate limit, then a server error: both retried
            feed_server.set("/feed.xml", rss(items(n)))
            clock.advance(minutes=20)
            assert (await app.cycle()).delivery.retried >= 1
        fake.webhooks.clear()  # the webhook was deleted: the destination stops for good
        clock.advance(minutes=20)
        assert (await app.cycle()).delivery.stopped == 1
        async with app.storage.tx() as conn:
            rows = [dict(r) for r in (await conn.execute(select(deliveries))).mappings()]
            audit = [dict(r) for r in (await conn.execute(select(audit_log))).mappings()]
    finally:
        await app.close()
        await sink.close()
    assert rows and audit
    for row in rows:
        assert TOKEN not in str(row), row
        assert f"webhooks/{WEBHOOK_ID}/***" in str(row["alert"])  # the display form, for people
    assert TOKEN not in str(audit)
    out, err = capsys.readouterr()
    ours = "\n".join(r.getMessage() for r in caplog.records
                     if r.name != "aiohttp.access")  # the fake Discord server's access log
    assert TOKEN not in out + err + ours
    assert f"discord-webhook:https://discord.com/api/webhooks/{WEBHOOK_ID}/***" in ours


async def test_the_webhook_sink_still_gets_the_real_address(
        fake: FakeDiscord) -> None:
    from sample_alert import make_alert

    from bot.domain.delivery import Delivery

    sink = DiscordWebhookSink(api_base=fake.base)
    alert = make_alert(display_address(f"discord-webhook:{HOOK}"))
    try:
        await sink.send(Delivery(1, 1, f"discord-webhook:{HOOK}", alert))
        fake.webhooks.clear()
        with pytest.raises(PermanentDeliveryError) as caught:
            await sink.send(Delivery(2, 1, f"discord-webhook:{HOOK}", alert))
    finally:
        await sink.close()
    assert [m.via for m in fake.messages] == ["webhook"]
    assert TOKEN not in str(caught.value)
