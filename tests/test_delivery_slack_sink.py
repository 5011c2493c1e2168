"""SlackSink against a fake Slack Web API on loopback: what lands, and how failures are reported."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from fakes.clock import FakeTime
from fakes.fake_slack import Failure, FakeSlack
from fakes.net import closed_url
from slack_sdk.models.blocks import Block

from bot.config.settings import Settings
from bot.delivery.slack_sink import SlackSink, make_slack_sink, slack_client
from bot.domain.alert import Alert, Match
from bot.domain.delivery import Delivery
from bot.domain.errors import (
    NotSentError,
    PermanentDeliveryError,
    RateLimitedError,
    TransientDeliveryError,
    UnknownOutcomeError,
)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def delivery(i: int = 1, channel: str = "C123", title: str = "Nvidia opens a lab") -> Delivery:
    alert = Alert(
        destination=f"slack:{channel}", feed="Test News", url=f"https://news.example.com/{i}",
        title=title, published=NOW, companies=("Nvidia",), topics=("Funding",),
        summary="Nvidia said it would invest in a lab. <!channel> stays inert.",
        evidence=(Match("company", "Nvidia", "Nvidia", "text", 0, 6, "Nvidia said it would."),),
        story=f"story-{i}")
    return Delivery(id=i, destination_id=1, address=f"slack:{channel}", alert=alert)


def in_doubt(d: Delivery, attempted: datetime = NOW - timedelta(minutes=1)) -> Delivery:
    """The same delivery after an attempt whose outcome is unknown (a timeout, a crash)."""
    return dataclasses.replace(d, uncertain=True, last_attempt_at=attempted)


@pytest.fixture
async def sink(slack: FakeSlack) -> AsyncIterator[SlackSink]:
    s = SlackSink(slack_client("xoxb-test", base_url=slack.api_url), per_channel_interval=0.0)
    yield s
    await s.close()


async def test_send_posts_valid_blocks_with_delivery_metadata_and_returns_the_ts(
        slack: FakeSlack, sink: SlackSink) -> None:
    result = await sink.send(delivery())
    (message,) = slack.posted("C123")
    assert result.message_id == message["ts"] and result.extra == {"channel": "C123"}
    assert message["metadata"] == {"event_type": "newsbot_alert",
                                   "event_payload": {"delivery": "1", "story": "story-1"}}
    blocks = [Block.parse(b) for b in message["blocks"]]
    for block in blocks:
        assert block is not None
        block.validate_json()
    assert [b.type for b in blocks] == ["header", "section", "context", "actions"]
    assert "&lt;!channel&gt;" in message["blocks"][1]["text"]["text"]
    (call,) = slack.calls_to("chat.postMessage")
    assert call.token == "xoxb-test" and call.args["unfurl_links"] is False


@pytest.mark.parametrize("status", [429, 200])
async def test_rate_limit_reports_retry_after_and_holds_only_that_channel(
        slack: FakeSlack, sink: SlackSink, status: int) -> None:
    slack.script("chat.postMessage", Failure(status=status, error="ratelimited", retry_after=7))
    with pytest.raises(RateLimitedError) as info:
        await sink.send(delivery(1))
    assert info.value.retry_after == 7
    # the same channel is not hammered while Slack asked us to wait ...
    with pytest.raises(RateLimitedError) as again:
        await sink.send(delivery(2))
    assert 0 < (again.value.retry_after or 0) <= 7
    assert len(slack.calls_to("chat.postMessage")) == 1
    # ... and another channel goes on
    await sink.send(delivery(3, channel="C999"))
    assert len(slack.posted("C999")) == 1 and slack.posted("C123") == []


async def test_429_without_retry_after_still_gets_a_delay(slack: FakeSlack,
                                                          sink: SlackSink) -> None:
    slack.script("chat.postMessage", Failure(status=429))
    with pytest.raises(RateLimitedError) as info:
        await sink.send(delivery())
    assert info.value.retry_after and info.value.retry_after > 0


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "is_archived",
                                   "invalid_auth", "account_inactive", "token_revoked",
                                   "missing_scope", "msg_too_long", "invalid_blocks"])
async def test_errors_that_need_a_human_are_permanent(slack: FakeSlack, sink: SlackSink,
                                                      error: str) -> None:
    slack.script("chat.postMessage", Failure(error=error))
    with pytest.raises(PermanentDeliveryError, match=error):
        await sink.send(delivery())


async def test_unknown_channel_is_permanent_without_scripting(slack: FakeSlack,
                                                              sink: SlackSink) -> None:
    slack.channels = {"C123"}
    with pytest.raises(PermanentDeliveryError, match="channel_not_found"):
        await sink.send(delivery(channel="CGONE"))


@pytest.mark.parametrize("failure", [Failure(status=503), Failure(status=500),
                                     Failure(error="internal_error")])
async def test_server_trouble_is_transient_and_certain(slack: FakeSlack, sink: SlackSink,
                                                       failure: Failure) -> None:
    slack.script("chat.postMessage", failure)
    with pytest.raises(TransientDeliveryError) as info:
        await sink.send(delivery())
    assert not isinstance(info.value, UnknownOutcomeError)
    assert len(slack.calls_to("chat.postMessage")) == 1  # slack_sdk did not retry on its own


async def test_a_refused_connection_is_not_sent() -> None:
    sink = SlackSink(slack_client("xoxb-test", base_url=closed_url("/api/")))
    try:
        with pytest.raises(NotSentError, match="nothing was sent"):
            await sink.send(delivery())
    finally:
        await sink.close()


async def test_a_slow_answer_is_an_unknown_outcome_and_find_sent_then_finds_the_message(
        slack: FakeSlack) -> None:
    sink = SlackSink(slack_client("xoxb-test", base_url=slack.api_url), timeout=0.3)
    try:
        slack.script("chat.postMessage", Failure(delay=1.0))  # answers late, but it lands
        with pytest.raises(UnknownOutcomeError):
            await sink.send(delivery(5))
        await slack.wait_for(lambda: bool(slack.posted("C123")))  # the slow call finishes
        (landed,) = slack.posted("C123")
        assert await sink.find_sent(in_doubt(delivery(5), attempted=datetime.now(UTC)
                                             - timedelta(seconds=1))) == landed["ts"]
        assert await sink.find_sent(delivery(6)) is None
    finally:
        await sink.close()


async def test_find_sent_reads_metadata_across_pages_and_ignores_other_apps(
        slack: FakeSlack, sink: SlackSink) -> None:
    ts = (await sink.send(delivery(7))).message_id
    # another newsbot (other database) used the same delivery id for another story
    slack.add_message("C123", text="x", metadata={
        "event_type": "newsbot_alert", "event_payload": {"delivery": "8", "story": "elsewhere"}})
    for n in range(450):  # people kept talking after our message
        slack.add_message("C123", text=f"chat {n}")
    assert await sink.find_sent(in_doubt(delivery(7))) == ts
    assert await sink.find_sent(in_doubt(delivery(8))) is None
    history = slack.calls_to("conversations.history")
    assert str(history[0].args["include_all_metadata"]) in ("1", "true")
    assert len(history) == 3  # one pass over the pages answered both


async def test_find_sent_without_history_access_says_not_found(slack: FakeSlack,
                                                               sink: SlackSink) -> None:
    slack.script("conversations.history", Failure(error="not_in_channel"))
    assert await sink.find_sent(delivery()) is None


async def test_find_sent_rate_limited_is_retried_later(slack: FakeSlack, sink: SlackSink) -> None:
    slack.script("conversations.history", Failure(status=429, retry_after=3))
    with pytest.raises(RateLimitedError):
        await sink.find_sent(delivery())
    assert slack.posted() == []


async def test_pacing_is_per_channel(slack: FakeSlack) -> None:
    t = FakeTime()
    sink = SlackSink(slack_client("xoxb-test", base_url=slack.api_url), clock=lambda: NOW,
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
        assert [len(slack.posted(c)) for c in ("CA", "CB")] == [3, 1]
    finally:
        await sink.close()


async def test_a_short_429_pause_is_waited_out_and_a_long_one_is_not_sent(slack: FakeSlack) -> None:
    t = FakeTime()
    sink = SlackSink(slack_client("xoxb-test", base_url=slack.api_url), clock=lambda: NOW,
                     monotonic=t, sleep=t.sleep)
    try:
        slack.script("chat.postMessage", Failure(status=429, retry_after=2))
        with pytest.raises(RateLimitedError):
            await sink.send(delivery(1))
        await sink.send(delivery(1))  # waits the 2 s inside the send, then posts
        assert t.sleeps == [2.0] and len(slack.posted("C123")) == 1
        slack.script("chat.postMessage", Failure(status=429, retry_after=60))
        with pytest.raises(RateLimitedError):
            await sink.send(delivery(2))
        calls = len(slack.calls_to("chat.postMessage"))
        for _ in range(3):  # paused: refused in-process, Slack is not called again
            with pytest.raises(RateLimitedError) as info:
                await sink.send(delivery(2))
            assert 55 < (info.value.retry_after or 0) <= 60
        assert len(slack.calls_to("chat.postMessage")) == calls
        t.now += 60
        await sink.send(delivery(2))
        assert len(slack.posted("C123")) == 2
    finally:
        await sink.close()


async def test_a_429_storm_loses_nothing_and_doubles_nothing(slack: FakeSlack) -> None:
    """Every 2nd call answers 429; the deliveries are retried the way the outbox does."""
    t = FakeTime()
    slack.rate_limit_every, slack.rate_limit_retry_after = 2, 1
    sink = SlackSink(slack_client("xoxb-test", base_url=slack.api_url), clock=lambda: NOW,
                     monotonic=t, sleep=t.sleep)
    limited = 0
    try:
        for i in range(1, 25):
            while True:
                try:
                    await sink.send(delivery(i))
                    break
                except RateLimitedError as exc:
                    limited += 1
                    assert exc.retry_after == 1
        posted = [m["metadata"]["event_payload"]["delivery"] for m in slack.posted("C123")]
        assert sorted(map(int, posted)) == list(range(1, 25))  # 0 lost, 0 doubled
        assert limited == 23 and len(slack.calls_to("chat.postMessage")) == 47
    finally:
        await sink.close()


async def test_five_in_doubt_deliveries_of_a_channel_cost_one_history_read(
        slack: FakeSlack) -> None:
    sink = SlackSink(slack_client("xoxb-test", base_url=slack.api_url), clock=lambda: NOW,
                     per_channel_interval=0.0)
    try:
        landed = {i: (await sink.send(delivery(i))).message_id for i in (1, 3, 5)}
        found = [await sink.find_sent(in_doubt(delivery(i))) for i in range(1, 6)]
        assert found == [landed[1], None, landed[3], None, landed[5]]
        assert len(slack.calls_to("conversations.history")) == 1
        # another channel is read on its own
        assert await sink.find_sent(in_doubt(delivery(9, channel="C999"))) is None
        assert len(slack.calls_to("conversations.history")) == 2
    finally:
        await sink.close()


async def test_a_delivery_attempted_after_the_read_is_checked_again(slack: FakeSlack) -> None:
    now = [NOW]
    sink = SlackSink(slack_client("xoxb-test", base_url=slack.api_url), clock=lambda: now[0],
                     per_channel_interval=0.0)
    try:
        assert await sink.find_sent(in_doubt(delivery(1))) is None
        now[0] = NOW + timedelta(seconds=5)
        ts = (await sink.send(delivery(2))).message_id  # its answer was lost: in doubt
        assert await sink.find_sent(in_doubt(delivery(2), attempted=NOW + timedelta(seconds=4))
                                    ) == ts
        assert len(slack.calls_to("conversations.history")) == 2
    finally:
        await sink.close()


async def test_without_history_access_every_in_doubt_delivery_is_resent_after_one_try(
        slack: FakeSlack, sink: SlackSink) -> None:
    slack.script("conversations.history", Failure(error="missing_scope"))
    assert [await sink.find_sent(in_doubt(delivery(i))) for i in range(3)] == [None] * 3
    assert len(slack.calls_to("conversations.history")) == 1


async def test_every_call_goes_to_the_configured_api_url(slack: FakeSlack,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-gov")
    sink = make_slack_sink(Settings(slack_api_url=slack.api_url))
    assert sink is not None
    try:
        ts = (await sink.send(delivery(1))).message_id
        assert await sink.find_sent(in_doubt(delivery(1), attempted=datetime.now(UTC)
                                             - timedelta(seconds=1))) == ts
        assert {c.method for c in slack.calls} == {"chat.postMessage", "conversations.history"}
        assert {c.token for c in slack.calls} == {"xoxb-gov"}
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


async def test_a_naive_attempt_time_from_the_database_is_read_as_utc(slack: FakeSlack,
                                                                     sink: SlackSink) -> None:
    naive = in_doubt(delivery(1), attempted=datetime(2026, 11, 29, 11, 0))
    assert await sink.find_sent(naive) is None
    assert await sink.find_sent(naive) is None  # answered from the same read
    assert len(slack.calls_to("conversations.history")) == 1
