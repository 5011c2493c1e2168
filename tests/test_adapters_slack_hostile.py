"""Hostile Slack requests through the real bolt app and the real HTTP handler: replays are
refused, signed bodies that are not Slack payloads get 400 (never a 500 or a traceback), and a
Slack Connect user who is an admin elsewhere is not an admin here."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import aiohttp
import pytest
from fakes.fake_slack import TEAM, FakeSlack
from slack_sdk.web.async_client import AsyncWebClient
from test_adapters_slack_app import (  # noqa: F401 - fixtures
    SECRET,
    ScriptedCommands,
    client,
    command_body,
    dispatch,
    settings,
    sign,
)
from test_domain_secrets import quiet_slack_levels  # noqa: F401 - fixture

from bot.adapters.slack.app import AdminCheck, build_slack_app, start_slack
from bot.chat.types import Reply
from bot.config.settings import Settings
from bot.domain.secrets import CHATTY_LOGGERS

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def signed(body: bytes | str, content_type: str) -> dict[str, str]:
    raw = body.encode() if isinstance(body, str) else body
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + raw, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}",
            "content-type": content_type}


def interaction(payload: object) -> str:
    return urlencode({"payload": json.dumps(payload)})


# signed bodies bolt can read but that are not Slack payloads (async_dispatch and HTTP)
NOT_SLACK: dict[str, tuple[str, str]] = {
    "empty JSON object": ("{}", JSON),
    "type is a number": ('{"type": 5}', JSON),
    "garbage form": ("garbage", FORM),
    "event is text": ('{"type": "event_callback", "event": "x"}', JSON),
    "event is a list": ('{"type": "event_callback", "event": [1]}', JSON),
    "actions is a number": (interaction({"type": "block_actions", "actions": 5}), FORM),
    "actions hold numbers": (interaction({"type": "block_actions", "actions": [1]}), FORM),
    "user is a list": (interaction({"type": "block_actions", "user": [1], "actions": []}), FORM),
    "team id is a number": ('{"type": "event_callback", "team_id": 5, "event": {}}', JSON),
}
# signed bodies bolt cannot even read (only the HTTP handler sees these)
UNREADABLE: dict[str, tuple[bytes, str]] = {
    "JSON array": (b"[1, 2]", JSON),
    "JSON string": (b'"text"', JSON),
    "JSON nested 100,000 deep": (b"[" * 100_000 + b"]" * 100_000, JSON),
    "object nested 100,000 deep": (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, JSON),
    "payload is an array": (interaction([1]).encode(), FORM),
    "payload nested deeply": (b"payload=" + b"%5B" * 100_000, FORM),
    "view_submission with a number view": (
        interaction({"type": "view_submission", "view": 5, "team": 3}).encode(), FORM),
    "broken JSON": (b"{not json", JSON),
    "not UTF-8": (b"\xff\xfe garbage", FORM),
}


def no_trace(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


# --- replays --------------------------------------------------------------------------------------
async def test_a_replayed_signed_command_is_refused_through_bolt(
        settings: Settings, client: AsyncWebClient) -> None:
    commands = ScriptedCommands()
    app = build_slack_app(settings, commands, client=client)
    body = command_body("watch add company Evil")
    headers = sign(body)
    assert (await dispatch(app, body, headers)).status == 200
    for _ in range(3):
        again = await dispatch(app, body, dict(headers))
        assert again.status == 401 and "replayed" in again.body
    assert len(commands.invocations) == 1
    other = command_body("watch add company Evil")  # a new request (its own trigger_id) runs
    assert (await dispatch(app, other, sign(other))).status == 200
    assert len(commands.invocations) == 2


@pytest.fixture
async def http_url(settings: Settings, client: AsyncWebClient) -> AsyncIterator[
        tuple[str, ScriptedCommands]]:
    commands = ScriptedCommands()
    runtime = await start_slack(settings.model_copy(update={"slack_mode": "http",
                                                            "slack_port": 0}),
                                commands, client=client, host="127.0.0.1")
    assert runtime is not None and runtime.port
    try:
        yield f"http://127.0.0.1:{runtime.port}/slack/events", commands
    finally:
        await runtime.stop()


async def test_a_replayed_request_over_http_runs_once(
        http_url: tuple[str, ScriptedCommands]) -> None:
    url, commands = http_url
    body = command_body("subscribe company Nvidia")
    headers = sign(body)
    async with aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(3):
            async with http.post(url, data=body, headers=headers) as resp:
                statuses.append(resp.status)
    assert statuses == [200, 401, 401]
    assert [i.text for i in commands.invocations] == ["subscribe company Nvidia"]


# --- not a Slack payload: 400 ---------------------------------------------------------------------
@pytest.mark.parametrize("case", list(NOT_SLACK))
async def test_a_signed_non_slack_body_is_400_through_bolt(
        settings: Settings, client: AsyncWebClient, caplog: pytest.LogCaptureFixture,
        case: str) -> None:
    commands = ScriptedCommands()
    app = build_slack_app(settings, commands, client=client)
    body, content_type = NOT_SLACK[case]
    resp = await dispatch(app, body, signed(body, content_type))
    assert resp.status == 400 and commands.invocations == []
    no_trace(caplog)


async def test_every_hostile_body_over_http_is_400_never_500(
        http_url: tuple[str, ScriptedCommands], caplog: pytest.LogCaptureFixture) -> None:
    url, commands = http_url
    cases = {**{k: (v[0].encode(), v[1]) for k, v in NOT_SLACK.items()}, **UNREADABLE}
    async with aiohttp.ClientSession() as http:
        for case, (body, content_type) in cases.items():
            async with http.post(url, data=body, headers=signed(body, content_type)) as resp:
                assert resp.status == 400, case
                assert "Traceback" not in await resp.text()
        body_ok = command_body("help")  # the server still answers real commands
        async with http.post(url, data=body_ok, headers=sign(body_ok)) as resp:
            assert resp.status == 200
    assert [i.text for i in commands.invocations] == ["help"]
    no_trace(caplog)


# --- Slack Connect: admins of another workspace ---------------------------------------------------
async def test_an_admin_of_another_workspace_is_not_an_admin_here(
        settings: Settings, client: AsyncWebClient, slack: FakeSlack) -> None:
    slack.add_user("UHOME", is_admin=True)
    slack.users["UEXT"] = {"id": "UEXT", "team_id": "TOTHER", "is_admin": True, "is_owner": True,
                          "is_primary_owner": True}
    slack.users["UORG"] = {"id": "UORG", "team_id": "TSISTER", "is_admin": False,
                          "enterprise_user": {"enterprise_id": "E1", "is_admin": True}}
    slack.users["UORGX"] = {"id": "UORGX", "team_id": "TX", "is_admin": True,
                           "enterprise_user": {"enterprise_id": "E2", "is_admin": True}}
    commands = ScriptedCommands()
    app = build_slack_app(settings, commands, client=client)
    for user in ("UHOME", "UEXT", "UORG", "UORGX"):
        body = command_body("watch remove company Nvidia", user=user, enterprise_id="E1")
        assert (await dispatch(app, body, sign(body))).status == 200
    assert [(i.user, i.is_admin) for i in commands.invocations] == [
        ("UHOME", True), ("UEXT", False), ("UORG", True), ("UORGX", False)]


async def test_enterprise_admin_flags_count_only_inside_the_same_enterprise(
        client: AsyncWebClient, slack: FakeSlack) -> None:
    slack.users["UORG"] = {"id": "UORG", "team_id": "TSISTER",
                          "enterprise_user": {"enterprise_id": "E1", "is_owner": True}}
    check = AdminCheck("")
    assert not await check.is_admin(client, TEAM, "UORG")  # not a Grid workspace
    assert not await check.is_admin(client, "T2", "UORG", enterprise="E9")
    assert await check.is_admin(client, "T3", "UORG", enterprise="E1")


# --- response_url stays out of the logs -----------------------------------------------------------
async def test_response_url_and_token_are_not_logged_even_at_debug(
        settings: Settings, client: AsyncWebClient, slack: FakeSlack,
        caplog: pytest.LogCaptureFixture, quiet_slack_levels: None) -> None:
    caplog.set_level(logging.DEBUG)
    for name in CHATTY_LOGGERS:  # as `newsbot -v` would leave them before the app is built
        logging.getLogger(name).setLevel(logging.DEBUG)
    commands = ScriptedCommands(Reply("Feeds: 3"))
    commands.gate = asyncio.Event()
    app = build_slack_app(settings, commands, client=client, fast_reply=0.01)
    response_url = slack.response_url("secret-path-T0-123-AbCdEf")
    body = command_body("feeds list", response_url=response_url)
    assert (await dispatch(app, body, sign(body))).status == 200
    commands.gate.set()
    await slack.wait_for(lambda: bool(slack.responses))
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")
    assert "secret-path" not in logged and "xoxb-test" not in logged
