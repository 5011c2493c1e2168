"""The Slack adapter through the real bolt app: signed requests in, acks and responses out.

Slack's side is the fake Slack Web API on loopback (auth.test, users.info, response_url). The
command layer here is a small scripted stand-in for the adapter's own behaviour (what it passes,
how it renders); test_adapters_slack_commands.py runs the real CommandService through the same
path.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest
import yaml
from fakes.fake_slack import TEAM, FakeSlack
from pydantic import ValidationError
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.app import (
    WORKING,
    AdminCheck,
    build_slack_app,
    start_slack,
)
from bot.adapters.slack.reply import render_reply
from bot.adapters.slack.verify import verify_request
from bot.chat.types import Invocation, Reply
from bot.config.settings import Settings
from bot.domain.alert import Alert

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


class ScriptedCommands:
    """Records invocations and answers with a scripted reply (optionally waiting or failing)."""

    def __init__(self, reply: Reply | None = None) -> None:
        self.reply = reply or Reply("Here is the help. <!channel> & <@U1> stay *inert*")
        self.invocations: list[Invocation] = []
        self.gate: asyncio.Event | None = None
        self.fail = False

    async def handle(self, invocation: Invocation) -> Reply:
        self.invocations.append(invocation)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("boom")
        return self.reply

    async def complete(self, tenant: str, kind: Literal["company", "topic"], prefix: str,
                       limit: int = 25) -> list[str]:
        return []


_TRIGGERS = itertools.count(1)


def command_body(text: str, user: str = "U1", response_url: str = "", channel: str = "C123",
                 **extra: str) -> str:
    """A slash command as Slack sends it; each has its own trigger_id, like Slack's."""
    return urlencode({"token": "legacy", "team_id": TEAM, "team_domain": "test",
                      "channel_id": channel, "channel_name": "news", "user_id": user,
                      "user_name": user.lower(), "command": "/news", "text": text,
                      "api_app_id": "A1", "response_url": response_url,
                      "trigger_id": f"1.2.{next(_TRIGGERS)}", **extra})


def sign(body: str, *, timestamp: str | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = timestamp if timestamp is not None else str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}",
            "content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    return Settings(slack_admin_users="UCONF")


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=slack.api_url)


async def dispatch(app, body: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))


# --- commands through bolt ------------------------------------------------------------------------
async def test_a_quick_command_answers_in_the_ack_escaped_and_ephemeral(
        settings: Settings, client: AsyncWebClient, slack: FakeSlack) -> None:
    commands = ScriptedCommands()
    app = build_slack_app(settings, commands, client=client)
    body = command_body('subscribe company "Mistral AI"')
    resp = await dispatch(app, body, sign(body))
    assert resp.status == 200
    answer = json.loads(resp.body)
    assert answer["response_type"] == "ephemeral"
    shown = answer["blocks"][0]["text"]["text"]
    assert "&lt;!channel&gt;" in shown and "&lt;@U1&gt;" in shown and "&amp;" in shown
    (inv,) = commands.invocations
    assert inv == Invocation(tenant=f"slack:{TEAM}", platform="slack", channel="C123",
                             user="U1", text='subscribe company "Mistral AI"', is_admin=False,
                             user_name="u1")
    assert slack.responses == []


async def test_a_reply_that_changes_subscriptions_is_posted_in_channel(
        settings: Settings, client: AsyncWebClient) -> None:
    app = build_slack_app(settings, ScriptedCommands(Reply("Subscribed.", ephemeral=False)),
                          client=client)
    body = command_body("subscribe topic Funding")
    answer = json.loads((await dispatch(app, body, sign(body))).body)
    assert answer["response_type"] == "in_channel" and answer["text"] == "Subscribed."


async def test_a_slow_command_is_acked_at_once_and_answered_through_response_url(
        settings: Settings, client: AsyncWebClient, slack: FakeSlack) -> None:
    commands = ScriptedCommands(Reply("Feeds: 3", ephemeral=True))
    commands.gate = asyncio.Event()
    app = build_slack_app(settings, commands, client=client, fast_reply=0.05)
    body = command_body("feeds list", response_url=slack.response_url())
    resp = await dispatch(app, body, sign(body))
    assert json.loads(resp.body) == {"text": WORKING, "response_type": "ephemeral"}
    commands.gate.set()
    await slack.wait_for(lambda: bool(slack.responses))
    (posted,) = slack.responses
    assert posted["text"] == "Feeds: 3" and posted["response_type"] == "ephemeral"
    assert posted["replace_original"] is False


async def test_a_failing_command_gets_a_short_apology_not_a_trace(
        settings: Settings, client: AsyncWebClient, caplog: pytest.LogCaptureFixture) -> None:
    commands = ScriptedCommands()
    commands.fail = True
    app = build_slack_app(settings, commands, client=client)
    body = command_body("list")
    answer = json.loads((await dispatch(app, body, sign(body))).body)
    assert answer["text"].startswith("Sorry") and "boom" not in answer["text"]
    assert "boom" in caplog.text


async def test_admin_rights_are_decided_server_side(settings: Settings, client: AsyncWebClient,
                                                    slack: FakeSlack) -> None:
    slack.add_user("UADMIN", is_admin=True)
    slack.add_user("UOWNER", is_owner=True)
    slack.add_user("UPLAIN", is_admin=False)
    commands = ScriptedCommands()
    app = build_slack_app(settings, commands, client=client)
    for user in ("UCONF", "UADMIN", "UOWNER", "UPLAIN", "UNKNOWN", "UADMIN"):
        body = command_body("watch list", user=user)
        assert (await dispatch(app, body, sign(body))).status == 200
    assert [i.is_admin for i in commands.invocations] == [True, True, True, False, False, True]
    looked_up = [c.args["user"] for c in slack.calls_to("users.info")]
    assert looked_up == ["UADMIN", "UOWNER", "UPLAIN", "UNKNOWN"]  # configured: no call; cached


async def test_admin_cache_expires(slack: FakeSlack, client: AsyncWebClient) -> None:
    now = [0.0]
    check = AdminCheck("", ttl=60, monotonic=lambda: now[0])
    slack.add_user("U2", is_admin=True)
    assert await check.is_admin(client, TEAM, "U2")
    slack.add_user("U2", is_admin=False)  # demoted
    assert await check.is_admin(client, TEAM, "U2")  # still cached
    now[0] = 61
    assert not await check.is_admin(client, TEAM, "U2")


async def test_the_article_button_is_acknowledged(settings: Settings,
                                                  client: AsyncWebClient) -> None:
    app = build_slack_app(settings, ScriptedCommands(), client=client)
    payload = {"type": "block_actions", "team": {"id": TEAM}, "user": {"id": "U1"},
               "api_app_id": "A1", "token": "legacy", "trigger_id": "1.2",
               "channel": {"id": "C123"}, "container": {"type": "message"},
               "actions": [{"action_id": "open_article", "block_id": "article",
                            "type": "button", "action_ts": "1"}]}
    body = urlencode({"payload": json.dumps(payload)})
    assert (await dispatch(app, body, sign(body))).status == 200


# --- request verification -------------------------------------------------------------------------
def bad_requests(body: str) -> dict[str, dict[str, str]]:
    stale = str(int(time.time()) - 301)
    forged = sign(body, secret="not-the-secret")
    return {
        "forged signature": forged,
        "stale timestamp": sign(body, timestamp=stale),
        "future timestamp": sign(body, timestamp=str(int(time.time()) + 301)),
        "non-numeric timestamp": sign(body, timestamp="now"),
        "non-ASCII digits": sign(body, timestamp="١٧٠٠٠٠٠٠٠٠"),
        "empty timestamp": sign(body, timestamp=""),
        "no signature": {k: v for k, v in sign(body).items() if k != "x-slack-signature"},
        "body changed": sign(body + "&x=1"),
    }


async def test_every_bad_signature_or_timestamp_is_401_through_bolt(
        settings: Settings, client: AsyncWebClient) -> None:
    commands = ScriptedCommands()
    app = build_slack_app(settings, commands, client=client)
    body = command_body("help")
    for reason, headers in bad_requests(body).items():
        resp = await dispatch(app, body, headers)
        assert resp.status == 401, reason
    assert commands.invocations == []


async def test_http_mode_on_loopback_verifies_before_bolt(settings: Settings,
                                                          client: AsyncWebClient) -> None:
    settings = settings.model_copy(update={"slack_mode": "http", "slack_port": 0})
    commands = ScriptedCommands()
    runtime = await start_slack(settings, commands, client=client, host="127.0.0.1")
    assert runtime is not None and runtime.mode == "http" and runtime.port
    url = f"http://127.0.0.1:{runtime.port}/slack/events"
    body = command_body("help")
    try:
        async with aiohttp.ClientSession() as http:
            for reason, headers in bad_requests(body).items():
                async with http.post(url, data=body, headers=headers) as resp:
                    assert resp.status == 401, reason
            assert commands.invocations == []
            async with http.post(url, data=body, headers=sign(body)) as resp:
                assert resp.status == 200
                assert (await resp.json())["response_type"] == "ephemeral"
            junk = b"\xff\xfe not utf-8"
            ts = str(int(time.time()))
            digest = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + junk,
                              hashlib.sha256).hexdigest()
            headers = {"x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}"}
            async with http.post(url, data=junk, headers=headers) as resp:
                assert resp.status == 400  # signed, but not a request bolt could read
        assert len(commands.invocations) == 1
    finally:
        await runtime.stop()


def test_verify_request_accepts_slacks_documented_example() -> None:
    # https://api.slack.com/authentication/verifying-requests-from-slack (worked example)
    body = ("token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
            "channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
            "command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
            "commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
            "trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    headers = {"X-Slack-Request-Timestamp": "1531420618",
               "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d2"
                                    "1a10bd27519666489c69b503"}
    assert verify_request(SECRET, headers, body, now=1531420618 + 10)
    assert not verify_request(SECRET, headers, body, now=1531420618 + 400)


# --- rendering replies ----------------------------------------------------------------------------
def preview(i: int) -> Alert:
    return Alert(destination="slack:C123", feed="Test News", url=f"https://news.example.com/{i}",
                 title=f"Preview {i}", published=datetime(2026, 11, 20, tzinfo=UTC),
                 companies=("Nvidia",), topics=(), summary="Nvidia did something. " * 20)


def test_previews_fit_slacks_block_limits_with_unique_ids() -> None:
    payload = render_reply(Reply("Would have posted:", alerts=tuple(preview(i) for i in range(30))))
    blocks = payload["blocks"]
    assert len(blocks) <= 50
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == len(set(ids)) and ids
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
    assert "more preview(s) not shown" in blocks[-1]["text"]["text"]


def test_a_long_reply_is_split_into_sections_within_limits() -> None:
    text = "\n".join(f"https://feed{i}.example.com/rss — ok, next poll in 5 min"
                     for i in range(400))
    blocks = render_reply(Reply(text))["blocks"]
    assert 1 < len(blocks) <= 8
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)


# --- runners --------------------------------------------------------------------------------------
async def test_start_slack_stays_off_without_its_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv("NEWSBOT_" + name, raising=False)
    commands = ScriptedCommands()
    assert await start_slack(Settings(), commands) is None
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    assert await start_slack(Settings(), commands) is None  # socket mode without xapp- token
    assert await start_slack(Settings(slack_mode="http"), commands) is None  # no signing secret
    with pytest.raises(ValidationError, match="socket"):  # refused when settings load
        Settings(slack_mode="websocket")


def test_the_manifest_declares_what_the_code_uses() -> None:
    path = Path(__file__).resolve().parents[1] / "config" / "slack-manifest.yaml"
    manifest = yaml.safe_load(path.read_text())
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    # chat.postMessage, /news, users.info, conversations.history (public and private channels)
    assert {"chat:write", "commands", "users:read", "channels:history",
            "groups:history"} <= scopes
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/news" and command["usage_hint"]
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


async def test_socket_mode_runner_answers_a_command_over_the_websocket(
        settings: Settings, client: AsyncWebClient, slack: FakeSlack,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-test")
    monkeypatch.delenv("SLACK_SIGNING_SECRET")  # Socket Mode needs no signing secret
    fields = dict(parse_qsl(command_body("help"), keep_blank_values=True))
    slack.envelopes.append({"envelope_id": "env-1", "type": "slash_commands",
                           "accepts_response_payload": True, "payload": fields})
    commands = ScriptedCommands()
    runtime = await start_slack(Settings(), commands, client=client)
    assert runtime is not None and runtime.mode == "socket"
    try:
        await slack.wait_for(lambda: bool(slack.socket_acks))
        (ack,) = slack.socket_acks
        assert ack["envelope_id"] == "env-1"
        assert ack["payload"]["response_type"] == "ephemeral"
        assert commands.invocations[0].text == "help"
        (opened,) = slack.calls_to("apps.connections.open")
        assert opened.token == "xapp-test"
    finally:
        await runtime.stop()
