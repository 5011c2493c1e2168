"""SlackSink against a fake Slack Web API on loopback: what lands, and how failures are reported."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from fakes.fake_slack import Failure, FakeSlack, fake_slack
from slack_sdk.models.blocks import Block

from bot.errors import PermanentDeliveryError, TransientDeliveryError, UnknownOutcomeError
from bot.models import Alert, Delivery, Match
from bot.platforms.slack_sink import SlackSink, make_slack_sink, slack_client
from bot.settings import Settings

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def delivery(i: int = 1, channel: str = "C123", title: str = "Nvidia opens a lab") -> Delivery:
    alert = Alert(
        destination=f"slack:{channel}", feed="Test News", url=f"https://news.example.com/{i}",
        title=title, published=NOW, companies=("Nvidia",), topics=("Funding",),
        summary="Nvidia said it would invest in a lab. <!channel> stays inert.",
        evidence=(Match("company", "Nvidia", "Nvidia", "text", 0, 6, "Nvidia said it would."),),
        story=f"story-{i}")
    return Delivery(id=i, destination_id=1, address=f"slack:{channel}", alert=alert)


class FakeTime:
    """Monotonic time that only moves when the sink sleeps (pacing without real waiting)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with fake_slack() as srv:
        yield srv


@pytest.fixture
async def sink(fake: FakeSlack) -> AsyncIterator[SlackSink]:
    s = SlackSink(slack_client("xoxb-test", base_url=fake.api_url), per_channel_interval=0.0)
    yield s
    await s.close()


async def test_send_posts_valid_blocks_with_delivery_metadata_and_returns_the_ts(
        fake: FakeSlack, sink: SlackSink) -> None:
    result = await sink.send(delivery())
    (message,) = fake.posted("C123")
    assert result.message_id == message["ts"] and result.extra == {"channel": "C123"}
    assert message["metadata"] == {"event_type": "newsbot_alert",
                                   "event_payload": {"delivery": "1", "story": "story-1"}}
    blocks = [Block.parse(b) for b in message["blocks"]]
    for block in blocks:
        assert block is not None
        block.validate_json()
    assert [b.type for b in blocks] == ["header", "section", "context", "actions"]
    assert "&lt;!channel&gt;" in message["blocks"][1]["text"]["text"]
    (call,) = fake.calls_to("chat.postMessage")
    assert call.token == "xoxb-test" and call.args["unfurl_links"] is False


@pytest.mark.parametrize("status", [429, 200])
async def test_rate_limit_reports_retry_after_and_holds_only_that_channel(
        fake: FakeSlack, sink: SlackSink, status: int) -> None:
    fake.script("chat.postMessage", Failure(status=status, error="ratelimited", retry_after=7))
    with pytest.raises(TransientDeliveryError) as info:
        await sink.send(delivery(1))
    assert not isinstance(info.value, UnknownOutcomeError)
    assert info.value.retry_after == 7
    # the same channel is not hammered while Slack asked us to wait ...
    with pytest.raises(TransientDeliveryError) as again:
        await sink.send(delivery(2))
    assert 0 < (again.value.retry_after or 0) <= 7
    assert len(fake.calls_to("chat.postMessage")) == 1
    # ... and another channel goes on
    await sink.send(delivery(3, channel="C999"))
    assert len(fake.posted("C999")) == 1 and fake.posted("C123") == []


async def test_429_without_retry_after_still_gets_a_delay(fake: FakeSlack,
                                                          sink: SlackSink) -> None:
    fake.script("chat.postMessage", Failure(status=429))
    with pytest.raises(TransientDeliveryError) as info:
        await sink.send(delivery())
    assert info.value.retry_after and info.value.retry_after > 0


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived",
                                   "invalid_auth", "account_inactive", "token_revoked",
                                   "missing_scope", "msg_too_long", "invalid_blocks"])
async def test_errors_that_need_a_human_are_permanent(fake: FakeSlack, sink: SlackSink,
                                                      error: str) -> None:
    fake.script("chat.postMessage", Failure(error=error))
    with pytest.raises(PermanentDeliveryError, match=error):
        await sink.send(delivery())


async def test_unknown_channel_is_permanent_without_scripting(fake: FakeSlack,
                                                              sink: SlackSink) -> None:
    fake.channels = {"C123"}
    with pytest.raises(PermanentDeliveryError, match="channel_not_found"):
        await sink.send(delivery(channel="CGONE"))


@pytest.mark.parametrize("failure", [Failure(status=503), Failure(status=500),
                                     Failure(error="internal_error")])
async def test_server_trouble_is_transient_and_certain(fake: FakeSlack, sink: SlackSink,
                                                       failure: Failure) -> None:
    fake.script("chat.postMessage", failure)
    with pytest.raises(TransientDeliveryError) as info:
        await sink.send(delivery())
    assert not isinstance(info.value, UnknownOutcomeError)
    assert len(fake.calls_to("chat.postMessage")) == 1  # slack_sdk did not retry on its own


async def test_a_refused_connection_is_transient_not_unknown() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = SlackSink(slack_client("xoxb-test", base_url=f"http://127.0.0.1:{port}/api/"))
    try:
        with pytest.raises(TransientDeliveryError) as info:
            await sink.send(delivery())
        assert not isinstance(info.value, UnknownOutcomeError)
    finally:
        await sink.close()


async def test_a_slow_answer_is_an_unknown_outcome_and_find_sent_then_finds_the_message(
        fake: FakeSlack) -> None:
    sink = SlackSink(slack_client("xoxb-test", base_url=fake.api_url), timeout=0.3)
    try:
        fake.script("chat.postMessage", Failure(delay=1.0))  # answers late, but it lands
        with pytest.raises(UnknownOutcomeError):
            await sink.send(delivery(5))
        await fake.wait_for(lambda: bool(fake.posted("C123")))  # the slow call finishes
        (landed,) = fake.posted("C123")
        assert await sink.find_sent(delivery(5)) == landed["ts"]
        assert await sink.find_sent(delivery(6)) is None
    finally:
        await sink.close()


async def test_find_sent_reads_metadata_across_pages_and_ignores_other_apps(
        fake: FakeSlack, sink: SlackSink) -> None:
    ts = (await sink.send(delivery(7))).message_id
    # another newsbot (other database) used the same delivery id for another story
    fake.add_message("C123", text="x", metadata={
        "event_type": "newsbot_alert", "event_payload": {"delivery": "8", "story": "elsewhere"}})
    for n in range(450):  # people kept talking after our message
        fake.add_message("C123", text=f"chat {n}")
    assert await sink.find_sent(delivery(7)) == ts
    assert await sink.find_sent(delivery(8)) is None
    history = fake.calls_to("conversations.history")
    assert str(history[0].args["include_all_metadata"]) in ("1", "true")
    assert len(history) >= 3


async def test_find_sent_without_history_access_says_not_found(fake: FakeSlack,
                                                               sink: SlackSink) -> None:
    fake.script("conversations.history", Failure(error="not_in_channel"))
    assert await sink.find_sent(delivery()) is None


async def test_find_sent_rate_limited_is_retried_later(fake: FakeSlack, sink: SlackSink) -> None:
    fake.script("conversations.history", Failure(status=429, retry_after=3))
    with pytest.raises(TransientDeliveryError):
        await sink.find_sent(delivery())


async def test_pacing_is_per_channel(fake: FakeSlack) -> None:
    t = FakeTime()
    sink = SlackSink(slack_client("xoxb-test", base_url=fake.api_url), clock=lambda: NOW,
                     per_channel_interval=1.0, monotonic=t, sleep=t.sleep)
    try:
        await sink.send(delivery(1, channel="CA"))
        await sink.send(delivery(2, channel="CB"))  # another channel: no wait
        assert t.sleeps == []
        await sink.send(delivery(3, channel="CA"))  # same channel right away: about 1 s
        assert t.sleeps == [1.0]
        t.now += 5
        await sink.send(delivery(4, channel="CA"))  # long after: no wait
        assert t.sleeps == [1.0]
        assert [len(fake.posted(c)) for c in ("CA", "CB")] == [3, 1]
    finally:
        await sink.close()


def test_make_slack_sink_needs_a_bot_token(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "NEWSBOT_SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert make_slack_sink(Settings()) is None
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    settings = Settings()
    sink = make_slack_sink(settings, base_url="http://127.0.0.1:9/api")
    assert sink is not None and sink.platform == "slack"
    assert sink.client.retry_handlers == []  # no hidden resends
    assert "xoxb-1" not in repr(settings) and "xoxb-1" not in repr(sink.__dict__)
