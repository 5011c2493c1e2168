"""DiscordSink and DiscordWebhookSink against the fake Discord REST API on loopback."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from fakes.clock import FakeTime
from fakes.fake_discord import TOKEN, FakeDiscord
from fakes.net import closed_url

from bot.config.settings import Settings
from bot.delivery.discord_sink import (
    DiscordSink,
    DiscordWebhookSink,
    delivery_nonce,
    make_discord_sinks,
    nonce_ref,
    parse_webhook_url,
)
from bot.delivery.pacer import Pacer
from bot.domain.alert import Alert, Match
from bot.domain.delivery import Delivery
from bot.domain.errors import (
    DeliveryError,
    NotSentError,
    PermanentDeliveryError,
    RateLimitedError,
    TransientDeliveryError,
    UnknownOutcomeError,
)

WEBHOOK_ID, WEBHOOK_TOKEN = "5550001", "s3cr3t-webhook-token"


def alert(title: str = "Nvidia invests in a new plant", story: str = "s1") -> Alert:
    sentence = "Nvidia said it would invest $2bn, @everyone <@123> should read it."
    return Alert(
        destination="discord:123", feed="Test News @here", url="https://news.example.com/a",
        title=title, published=datetime(2026, 11, 29, 9, 0, tzinfo=UTC), companies=("Nvidia",),
        topics=("Funding",), summary=sentence,
        evidence=(Match("company", "Nvidia", "Nvidia", "text", 0, 6, sentence),), story=story)


def delivery(id: int = 1, address: str = "discord:123", **kw: str) -> Delivery:
    return Delivery(id=id, destination_id=1, address=address, alert=alert(**kw))


NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def in_doubt(d: Delivery, ago: timedelta) -> Delivery:
    """The same delivery after an attempt, ``ago`` before NOW, whose outcome is unknown."""
    return dataclasses.replace(d, uncertain=True, last_attempt_at=NOW - ago)


@pytest.fixture
def fake(discord: FakeDiscord) -> FakeDiscord:
    discord.webhooks[WEBHOOK_ID] = WEBHOOK_TOKEN
    return discord


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@pytest.fixture
async def sink(fake: FakeDiscord, time_: FakeTime) -> AsyncIterator[DiscordSink]:
    s = DiscordSink(api_base=fake.base, token=TOKEN,
                    pacer=Pacer(monotonic=time_, sleep=time_.sleep), clock=lambda: NOW)
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
    with pytest.raises(RateLimitedError) as caught:
        await sink.send(delivery(1))
    assert caught.value.retry_after == 2.5
    await sink.send(delivery(2, address="discord:456"))  # another channel is not held up
    assert time_.sleeps == []
    await sink.send(delivery(1))  # the same channel waits out the rest of the pause first
    assert time_.sleeps == [2.5]
    assert len(fake.channel_messages("123")) == 1


async def test_429_without_a_json_body_uses_the_retry_after_header(sink, fake) -> None:
    fake.script("channel:123", 429, headers={"Retry-After": "7"})
    fake._scripts["channel:123"][0].body = None
    with pytest.raises(RateLimitedError) as caught:
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
    impatient = DiscordSink(api_base=fake.base, token=TOKEN, timeout=0.5, clock=lambda: NOW)
    fake.hang_after_store, fake.hang_seconds = 1, 5.0
    try:
        with pytest.raises(UnknownOutcomeError):
            await impatient.send(delivery(3))
        # inside the nonce window: no check, the nonce makes resending safe
        assert await impatient.find_sent(in_doubt(delivery(3), timedelta(seconds=1))) is None
        assert ("GET", "/api/v10/channels/123/messages") not in fake.requests
        resent = await impatient.send(delivery(3))
        (msg,) = fake.channel_messages("123")
        assert resent.message_id == msg.id
    finally:
        await impatient.close()


async def test_nothing_listening_is_not_sent() -> None:
    closed = DiscordSink(api_base=closed_url("/api/v10"), token=TOKEN)
    try:
        with pytest.raises(NotSentError, match="nothing was sent"):
            await closed.send(delivery())
    finally:
        await closed.close()


# --- did it land? ---------------------------------------------------------------------------------
def posts(fake: FakeDiscord) -> int:
    return sum(1 for method, path in fake.requests
               if method == "POST" and path.endswith("/channels/123/messages"))


def reads(fake: FakeDiscord) -> int:
    return fake.requests.count(("GET", "/api/v10/channels/123/messages"))


async def test_a_message_carries_its_delivery_marker_in_the_footer(sink, fake) -> None:
    await sink.send(delivery(4))
    (msg,) = fake.channel_messages("123")
    footer = msg.body["embeds"][0]["footer"]["text"]
    assert footer.startswith("Test News") and footer.endswith(
        "ref " + nonce_ref(delivery_nonce(delivery(4))))


@pytest.mark.parametrize("nonces_shown", [True, False])
async def test_outside_the_nonce_window_a_landed_message_is_found_and_not_posted_again(
        sink, fake, nonces_shown) -> None:
    first = await sink.send(delivery(5))
    fake.forget_nonces()  # minutes later: Discord would post the same nonce again
    fake.history_nonces = nonces_shown  # and a fetched message may no longer show its nonce
    late = in_doubt(delivery(5), timedelta(minutes=10))
    assert await sink.find_sent(late) == first.message_id
    assert reads(fake) == 1 and posts(fake) == 1


async def test_outside_the_window_a_message_that_never_landed_is_sent_once(sink, fake) -> None:
    late = in_doubt(delivery(6), timedelta(minutes=10))
    assert await sink.find_sent(late) is None
    await sink.send(late)
    assert reads(fake) == 1 and len(fake.channel_messages("123")) == 1


async def test_inside_the_window_the_resend_reuses_the_nonce_without_reading(sink, fake) -> None:
    first = await sink.send(delivery(7))
    soon = in_doubt(delivery(7), timedelta(minutes=2))
    assert await sink.find_sent(soon) is None
    again = await sink.send(soon)
    assert again.message_id == first.message_id and reads(fake) == 0
    assert len(fake.channel_messages("123")) == 1


async def test_many_late_in_doubt_deliveries_of_a_channel_cost_one_read(sink, fake) -> None:
    landed = {i: (await sink.send(delivery(i, story=f"s{i}"))).message_id for i in (1, 2, 3)}
    found = [await sink.find_sent(in_doubt(delivery(i, story=f"s{i}"), timedelta(minutes=9)))
             for i in range(1, 6)]
    assert found == [landed[1], landed[2], landed[3], None, None] and reads(fake) == 1


async def test_without_read_access_the_check_gives_up_and_the_resend_goes_out(sink, fake) -> None:
    fake.script("read:123", 403, code=50001)
    assert await sink.find_sent(in_doubt(delivery(8), timedelta(minutes=10))) is None


async def test_a_rate_limited_read_is_not_an_attempt(sink, fake) -> None:
    fake.script("read:123", 429, retry_after=30)
    with pytest.raises(RateLimitedError):
        await sink.find_sent(in_doubt(delivery(8), timedelta(minutes=10)))
    assert posts(fake) == 0


async def test_a_429_storm_loses_nothing_and_doubles_nothing(sink, fake, time_) -> None:
    fake.rate_limit_every, fake.rate_limit_retry_after = 2, 1.0
    limited = 0
    for i in range(1, 21):
        while True:
            try:
                await sink.send(delivery(i, story=f"s{i}"))
                break
            except RateLimitedError:
                limited += 1
    nonces = [m.body["nonce"] for m in fake.channel_messages("123")]
    assert len(nonces) == len(set(nonces)) == 20 and limited == 19


async def test_a_long_pause_refuses_sends_in_process_without_calling_discord(sink, fake) -> None:
    fake.script("channel:123", 429, retry_after=60)
    with pytest.raises(RateLimitedError):
        await sink.send(delivery(1))
    for _ in range(3):
        with pytest.raises(RateLimitedError) as caught:
            await sink.send(delivery(2, story="s2"))
        assert 0 < (caught.value.retry_after or 0) <= 60
    assert posts(fake) == 1


async def test_every_call_goes_to_the_configured_api_url(fake, monkeypatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", TOKEN)
    sinks = make_discord_sinks(Settings(discord_api_url=fake.base))
    channel, webhook = sinks["discord"], sinks["discord-webhook"]
    try:
        await channel.send(delivery(1))
        await channel.find_sent(dataclasses.replace(delivery(1), uncertain=True))
        await webhook.send(delivery(2, address=WEBHOOK_ADDRESS))
        assert [m for m, _ in fake.requests] == ["POST", "GET", "POST"]
    finally:
        for s in sinks.values():
            await s.close()


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
    assert parse_webhook_url("https://Discord.com/API/Webhooks/42/tok") == ("42", "tok")


# --- construction ---------------------------------------------------------------------------------
def test_the_channel_sink_exists_only_with_a_token(monkeypatch) -> None:
    for name in ("DISCORD_TOKEN", "NEWSBOT_DISCORD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert set(make_discord_sinks(Settings())) == {"discord-webhook"}
    monkeypatch.setenv("DISCORD_TOKEN", "x")
    sinks = make_discord_sinks(Settings(), api_base="http://h/api")
    assert set(sinks) == {"discord", "discord-webhook"}
    assert {s.platform for s in sinks.values()} == {"discord", "discord-webhook"}
