"""DiscordSink and DiscordWebhookSink against the fake Discord REST API on loopback."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from fakes.fake_discord import TOKEN, FakeDiscord, start_fake_discord

from bot.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UnknownOutcomeError,
)
from bot.models import Alert, Delivery, Match
from bot.platforms.discord_sink import (
    DiscordSink,
    DiscordWebhookSink,
    Pacer,
    delivery_nonce,
    make_discord_sinks,
    parse_webhook_url,
)
from bot.settings import Settings

WEBHOOK_ID, WEBHOOK_TOKEN = "5550001", "s3cr3t-webhook-token"


class FakeTime:
    """A monotonic clock the pacer reads and a sleep that only moves it (no real waiting)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def alert(title: str = "Nvidia invests in a new plant", story: str = "s1") -> Alert:
    sentence = "Nvidia said it would invest $2bn, @everyone <@123> should read it."
    return Alert(
        destination="discord:123", feed="Test News @here", url="https://news.example.com/a",
        title=title, published=datetime(2026, 11, 29, 9, 0, tzinfo=UTC), companies=("Nvidia",),
        topics=("Funding",), summary=sentence,
        evidence=(Match("company", "Nvidia", "Nvidia", "text", 0, 6, sentence),), story=story)


def delivery(id: int = 1, address: str = "discord:123", **kw: str) -> Delivery:
    return Delivery(id=id, destination_id=1, address=address, alert=alert(**kw))


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    server, runner = await start_fake_discord()
    server.webhooks[WEBHOOK_ID] = WEBHOOK_TOKEN
    yield server
    await runner.cleanup()


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def sink(fake: FakeDiscord, time_: FakeTime) -> AsyncIterator[DiscordSink]:
    s = DiscordSink(api_base=fake.base, token=TOKEN,
                    pacer=Pacer(monotonic=time_, sleep=time_.sleep))
    yield s
    await s.close()


@pytest.fixture
async def webhook(fake: FakeDiscord, time_: FakeTime) -> AsyncIterator[DiscordWebhookSink]:
    s = DiscordWebhookSink(api_base=fake.base, pacer=Pacer(monotonic=time_, sleep=time_.sleep))
    yield s
    await s.close()


WEBHOOK_ADDRESS = f"discord-webhook:https://discord.com/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}"


# --- channel messages -----------------------------------------------------------------------------
async def test_a_channel_message_carries_the_embed_no_mentions_and_a_nonce(sink, fake) -> None:
    result = await sink.send(delivery())
    (msg,) = fake.channel_messages("123")
    assert result.message_id == msg.id
    body = msg.body
    assert body["allowed_mentions"] == {"parse": []}
    assert body["enforce_nonce"] is True and body["nonce"] == delivery_nonce(delivery())
    assert 0 < len(body["nonce"]) <= 25
    (embed,) = body["embeds"]
    assert embed["title"] == "Nvidia invests in a new plant"
    assert embed["url"] == "https://news.example.com/a"
    assert "@everyone" not in embed["description"] and "<@123>" not in embed["description"]


async def test_a_resent_delivery_returns_the_first_message_instead_of_posting_twice(
        sink, fake) -> None:
    first = await sink.send(delivery(7))
    again = await sink.send(delivery(7))
    other = await sink.send(delivery(8, story="s2"))
    assert first.message_id == again.message_id != other.message_id
    assert len(fake.channel_messages("123")) == 2


def test_nonces_are_stable_per_delivery_and_differ_between_deliveries() -> None:
    assert delivery_nonce(delivery(1)) == delivery_nonce(delivery(1))
    nonces = {delivery_nonce(delivery(i)) for i in range(1000)}
    assert len(nonces) == 1000 and all(len(n) <= 25 for n in nonces)
    assert delivery_nonce(delivery(1, "discord:123")) != delivery_nonce(delivery(1, "discord:9"))


async def test_429_is_transient_with_the_servers_retry_after_and_pauses_only_that_channel(
        sink, fake, time_) -> None:
    fake.script("channel:123", 429, retry_after=2.5)
    with pytest.raises(TransientDeliveryError) as caught:
        await sink.send(delivery(1))
    assert caught.value.retry_after == 2.5 and not isinstance(caught.value, UnknownOutcomeError)
    await sink.send(delivery(2, address="discord:456"))  # another channel is not held up
    assert time_.slept == []
    await sink.send(delivery(1))  # the same channel waits out the rest of the pause first
    assert time_.slept == [2.5]
    assert len(fake.channel_messages("123")) == 1


async def test_429_without_a_json_body_uses_the_retry_after_header(sink, fake) -> None:
    fake.script("channel:123", 429, headers={"Retry-After": "7"})
    fake._scripts["channel:123"][0].body = None
    with pytest.raises(TransientDeliveryError) as caught:
        await sink.send(delivery())
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(("status", "code", "words"), [
    (403, 50001, "no access to channel 123"),
    (404, 10003, "does not exist"),
])
async def test_missing_access_and_unknown_channel_stop_the_destination(
        sink, fake, status, code, words) -> None:
    fake.script("channel:123", status, code=code)
    with pytest.raises(PermanentDeliveryError, match=words) as caught:
        await sink.send(delivery())
    assert str(code) in str(caught.value)


async def test_a_deleted_channel_is_permanent(sink, fake) -> None:
    fake.missing_channels.add("123")
    with pytest.raises(PermanentDeliveryError, match="Unknown Channel"):
        await sink.send(delivery())


async def test_a_wrong_token_is_permanent_and_never_shown(fake) -> None:
    bad = DiscordSink(api_base=fake.base, token="wrong-token-value")
    try:
        with pytest.raises(PermanentDeliveryError, match="DISCORD_TOKEN") as caught:
            await bad.send(delivery())
        assert "wrong-token-value" not in str(caught.value)
    finally:
        await bad.close()


async def test_server_errors_are_transient(sink, fake) -> None:
    fake.script("channel:123", 502)
    with pytest.raises(TransientDeliveryError, match="server error"):
        await sink.send(delivery())
    assert (await sink.send(delivery())).message_id


async def test_a_refused_body_is_neither_transient_nor_permanent(sink, fake) -> None:
    fake.script("channel:123", 400, code=50035, message="Invalid Form Body")
    with pytest.raises(DeliveryError) as caught:
        await sink.send(delivery())
    assert not isinstance(caught.value, TransientDeliveryError | PermanentDeliveryError)


async def test_a_channel_address_that_is_not_an_id_is_permanent(sink) -> None:
    with pytest.raises(PermanentDeliveryError, match="not a channel id"):
        await sink.send(delivery(address="discord:#general"))


async def test_a_reply_lost_after_sending_is_unknown_and_the_resend_is_deduplicated(fake) -> None:
    impatient = DiscordSink(api_base=fake.base, token=TOKEN, timeout=0.5)
    fake.hang_after_store, fake.hang_seconds = 1, 5.0
    try:
        with pytest.raises(UnknownOutcomeError):
            await impatient.send(delivery(3))
        assert await impatient.find_sent(delivery(3)) is None  # the nonce makes resending safe
        resent = await impatient.send(delivery(3))
        (msg,) = fake.channel_messages("123")
        assert resent.message_id == msg.id
    finally:
        await impatient.close()


async def test_nothing_listening_is_transient_not_unknown() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the send: connection refused
    closed = DiscordSink(api_base=f"http://127.0.0.1:{port}/api/v10", token=TOKEN)
    try:
        with pytest.raises(TransientDeliveryError) as caught:
            await closed.send(delivery())
        assert not isinstance(caught.value, UnknownOutcomeError)
    finally:
        await closed.close()


# --- webhooks -------------------------------------------------------------------------------------
async def test_a_webhook_is_executed_with_wait_and_its_message_id_kept(webhook, fake) -> None:
    result = await webhook.send(delivery(address=WEBHOOK_ADDRESS))
    (msg,) = [m for m in fake.messages if m.via == "webhook"]
    assert result.message_id == msg.id
    assert msg.body["allowed_mentions"] == {"parse": []} and msg.body["embeds"]
    assert ("POST", f"/api/v10/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}") in fake.requests


async def test_an_unknown_webhook_stops_the_destination_without_leaking_its_token(
        webhook, fake) -> None:
    fake.webhooks.clear()
    with pytest.raises(PermanentDeliveryError, match="10015") as caught:
        await webhook.send(delivery(address=WEBHOOK_ADDRESS))
    assert WEBHOOK_TOKEN not in str(caught.value)


async def test_a_rate_limited_webhook_is_transient(webhook, fake) -> None:
    fake.script(f"webhook:{WEBHOOK_ID}", 429, retry_after=1.25)
    with pytest.raises(TransientDeliveryError) as caught:
        await webhook.send(delivery(address=WEBHOOK_ADDRESS))
    assert caught.value.retry_after == 1.25


@pytest.mark.parametrize("url", [
    "http://discord.com/api/webhooks/1/t",  # not https
    "https://evil.example/api/webhooks/1/t",  # not Discord
    "https://discord.com/api/webhooks/abc/t",  # id not a number
    "https://discord.com/api/channels/1/messages",
])
def test_only_discord_webhook_urls_are_accepted(url) -> None:
    with pytest.raises(PermanentDeliveryError, match="webhook URL"):
        parse_webhook_url(url)


def test_webhook_urls_of_every_discord_host_parse() -> None:
    for host in ("discord.com", "discordapp.com", "canary.discord.com", "ptb.discord.com"):
        assert parse_webhook_url(f"https://{host}/api/v10/webhooks/42/tok") == ("42", "tok")


# --- pacing ---------------------------------------------------------------------------------------
async def test_five_messages_per_five_seconds_per_channel(time_) -> None:
    pacer = Pacer(monotonic=time_, sleep=time_.sleep)
    for _ in range(5):
        await pacer.acquire("channel:1")
    await pacer.acquire("channel:2")
    assert time_.slept == []
    await pacer.acquire("channel:1")
    assert time_.slept == [5.0]


async def test_a_long_wait_becomes_a_transient_error_instead_of_a_sleep(time_) -> None:
    pacer = Pacer(max_wait=1.0, monotonic=time_, sleep=time_.sleep)
    pacer.block("channel:1", 30.0)
    with pytest.raises(TransientDeliveryError) as caught:
        await pacer.acquire("channel:1")
    assert caught.value.retry_after == pytest.approx(30.0) and time_.slept == []


async def test_an_exhausted_bucket_pauses_the_channel_until_it_resets(time_) -> None:
    pacer = Pacer(monotonic=time_, sleep=time_.sleep)
    pacer.observe("channel:1", {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "1.5"})
    pacer.observe("channel:2", {"X-RateLimit-Remaining": "3", "X-RateLimit-Reset-After": "9"})
    await pacer.acquire("channel:2")
    await pacer.acquire("channel:1")
    assert time_.slept == [1.5]


async def test_a_global_rate_limit_pauses_every_channel(time_) -> None:
    pacer = Pacer(monotonic=time_, sleep=time_.sleep)
    pacer.block("channel:1", 2.0, everywhere=True)
    await pacer.acquire("channel:2")
    assert time_.slept == [2.0]


# --- construction ---------------------------------------------------------------------------------
def test_the_channel_sink_exists_only_with_a_token(monkeypatch) -> None:
    for name in ("DISCORD_TOKEN", "NEWSBOT_DISCORD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert set(make_discord_sinks(Settings())) == {"discord-webhook"}
    monkeypatch.setenv("DISCORD_TOKEN", "x")
    sinks = make_discord_sinks(Settings(), api_base="http://h/api")
    assert set(sinks) == {"discord", "discord-webhook"}
    assert {s.platform for s in sinks.values()} == {"discord", "discord-webhook"}
