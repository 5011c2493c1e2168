"""One translation of transport failures: never sent, maybe landed, or a bad API URL."""

from __future__ import annotations

import aiohttp
import pytest

from bot.delivery.transport import transport_errors
from bot.domain.errors import NotSentError, PermanentDeliveryError, UnknownOutcomeError


@pytest.mark.parametrize(("failure", "outcome"), [
    (aiohttp.ConnectionTimeoutError("connect timed out"), NotSentError),
    (aiohttp.ServerDisconnectedError(), UnknownOutcomeError),
    (aiohttp.SocketTimeoutError("read timed out"), UnknownOutcomeError),
    (TimeoutError(), UnknownOutcomeError),
    (aiohttp.ClientOSError(104, "Connection reset by peer"), UnknownOutcomeError),
])
def test_each_failure_gets_its_outcome(failure, outcome) -> None:
    with pytest.raises(outcome) as caught, transport_errors("Slack", "channel C1"):
        raise failure
    assert "channel C1" in str(caught.value) and caught.value.__cause__ is failure


async def test_a_refused_connection_is_not_sent_and_says_why() -> None:
    from fakes.net import closed_url

    async with aiohttp.ClientSession() as session:
        with pytest.raises(NotSentError, match="nothing was sent"), \
                transport_errors("Discord", "channel 1"):
            await session.get(closed_url())


async def test_an_api_url_that_is_not_http_stops_rather_than_retrying_for_ever() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(PermanentDeliveryError, match="API URL"), \
                transport_errors("Slack", "channel C1"):
            await session.get("slack.example/api/chat.postMessage")


def test_other_errors_pass_through_untouched() -> None:
    with pytest.raises(KeyError), transport_errors("Slack", "x"):
        raise KeyError("a bug is not a transport failure")
