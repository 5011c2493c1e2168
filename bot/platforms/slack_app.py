"""Slash commands in: a slack-bolt ``AsyncApp`` that turns ``/news`` into ``Commands.handle`` calls.

Thin by design: translate the payload into an ``Invocation`` (admin rights decided here, server
side, on every command), call the command layer, render the ``Reply``. Slack wants an answer
within 3 s: a command that finishes within ``fast_reply`` seconds answers in the ack itself,
a slower one is acked with "Working on it…" and answered through ``response_url`` (``respond``).

Runners: Socket Mode (``SLACK_APP_TOKEN``, no public URL; the default) and HTTP
(``SLACK_SIGNING_SECRET``, ``POST /slack/events`` on ``settings.slack_port``). Every HTTP
request is verified before bolt sees it: a missing, non-numeric or stale timestamp or a wrong
signature gets 401 (bolt alone would answer a non-numeric timestamp with a 500).
Secrets are read from ``Settings`` (``SecretStr``) and never logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from ..commands.types import Commands, Invocation, Reply
from ..errors import ConfigError
from ..render.escape import fit, slack_escape
from ..render.slack_blocks import MAX_BLOCKS, PAYLOAD_BUDGET, payload_size, render_slack
from ..settings import Settings

log = logging.getLogger(__name__)

MAX_SKEW = 300  # seconds; Slack's documented replay window
FAST_REPLY = 2.0  # seconds a command may take and still answer in the ack (Slack allows 3)
ADMIN_TTL = 300.0  # seconds a users.info answer is trusted
EVENTS_PATH = "/slack/events"
WORKING = "Working on it…"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
SECTION_MAX = 3000
MAX_TEXT_SECTIONS = 8


# --- replies --------------------------------------------------------------------------------------
def render_reply(reply: Reply) -> dict[str, Any]:
    """``Reply`` -> ack/respond arguments: escaped text sections, then alert previews.

    Previews are rendered exactly as alerts are posted (``render_slack``); as many as fit in
    Slack's 50 blocks and our payload budget, then a "+N more" line.
    """
    text = reply.text.strip() or ("Done." if reply.ok else "That did not work.")
    blocks: list[dict[str, Any]] = [_section(chunk) for chunk in _chunks(text)]
    shown = 0
    for i, alert in enumerate(reply.alerts):
        preview = [{"type": "divider"}, *_unique_ids(render_slack(alert)["blocks"], i)]
        trial = {"text": text, "blocks": blocks + preview}
        if len(trial["blocks"]) > MAX_BLOCKS - 1 or payload_size(trial) > PAYLOAD_BUDGET:
            break
        blocks += preview
        shown += 1
    if shown < len(reply.alerts):
        blocks.append(_section(f"_+{len(reply.alerts) - shown} more preview(s) not shown_",
                               escape=False))
    return {"text": fit(text, SECTION_MAX, slack_escape), "blocks": blocks,
            "response_type": "ephemeral" if reply.ephemeral else "in_channel",
            "unfurl_links": False, "unfurl_media": False}


def _section(text: str, *, escape: bool = True) -> dict[str, Any]:
    body = fit(text, SECTION_MAX, slack_escape) if escape else text
    return {"type": "section", "text": {"type": "mrkdwn", "text": body, "verbatim": True}}


def _chunks(text: str) -> list[str]:
    """Split long replies (feed lists) at line breaks into section-sized pieces."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(slack_escape(candidate)) > SECTION_MAX and current:
            chunks.append(current)
            candidate = line
        current = candidate
    chunks.append(current)
    chunks = [chunk for chunk in chunks if chunk.strip()]  # Block Kit refuses an empty section
    if len(chunks) > MAX_TEXT_SECTIONS:
        chunks = chunks[:MAX_TEXT_SECTIONS - 1] + [f"… ({len(chunks) - MAX_TEXT_SECTIONS + 1} "
                                                   "more part(s) cut)"]
    return chunks


def _unique_ids(blocks: list[dict[str, Any]], i: int) -> list[dict[str, Any]]:
    """Block ids must be unique within a message: suffix the preview's index."""
    out = []
    for block in blocks:
        block = dict(block)
        if "block_id" in block:
            block["block_id"] = f"{block['block_id']}-{i}"
        out.append(block)
    return out


# --- request verification -------------------------------------------------------------------------


def _unauthorized() -> BoltResponse:
    return BoltResponse(status=401, body='{"error":"invalid request signature"}',
                        headers={"content-type": "application/json"})


def verify_request(secret: str, headers: Mapping[str, str], body: bytes | str, now: float) -> bool:
    """Slack's v0 signature check, strict about the timestamp (digits only, within 5 minutes)."""
    lower = {k.lower(): v for k, v in headers.items()}
    timestamp = lower.get("x-slack-request-timestamp", "")
    signature = lower.get("x-slack-signature", "")
    if not _TIMESTAMP.fullmatch(timestamp) or not signature.startswith("v0="):
        return False
    if abs(now - int(timestamp)) > MAX_SKEW:
        return False
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + timestamp.encode() + b":" + raw
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class StrictRequestVerification(AsyncMiddleware):
    """Replaces bolt's request verification (which raises on a non-numeric timestamp -> 500)."""

    def __init__(self, secret: str, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._clock = clock

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        if req.mode == "socket_mode":  # arrived over the authenticated websocket
            return await next()
        headers = {k: v[0] for k, v in req.headers.items() if v}
        if verify_request(self._secret, headers, req.raw_body, self._clock()):
            return await next()
        return _unauthorized()


# --- admin rights ---------------------------------------------------------------------------------
class AdminCheck:
    """Configured admin users, or workspace admins/owners per ``users.info`` (cached briefly)."""

    def __init__(self, configured: str | set[str], *, ttl: float = ADMIN_TTL,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if isinstance(configured, str):
            configured = {u.strip() for u in configured.split(",") if u.strip()}
        self.configured = configured
        self.ttl = ttl
        self.monotonic = monotonic
        self._cache: dict[tuple[str, str], tuple[bool, float]] = {}

    async def is_admin(self, client: AsyncWebClient, team: str, user: str) -> bool:
        if user in self.configured:
            return True
        cached = self._cache.get((team, user))
        if cached is not None and cached[1] > self.monotonic():
            return cached[0]
        try:
            info = (await client.users_info(user=user)).get("user") or {}
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("users.info for %s in %s failed (%s); treating as non-admin",
                        user, team, exc.__class__.__name__)
            return False
        admin = any(bool(info.get(k)) for k in ("is_admin", "is_owner", "is_primary_owner"))
        self._cache[(team, user)] = (admin, self.monotonic() + self.ttl)
        return admin


# --- the app --------------------------------------------------------------------------------------
def build_slack_app(settings: Settings, commands: Commands, *,
                    client: AsyncWebClient | None = None, fast_reply: float = FAST_REPLY,
                    admins: AdminCheck | None = None) -> AsyncApp:
    """The bolt app with the ``/news`` command and the article button's action."""
    secret = _secret(settings.slack_signing_secret)
    if client is None:
        token = _secret(settings.slack_bot_token)
        if not token:
            raise ConfigError("SLACK_BOT_TOKEN is not set: the Slack app needs a bot token")
        client = AsyncWebClient(token=token)
    app = AsyncApp(client=client, signing_secret=secret or None,
                   request_verification_enabled=False,
                   before_authorize=StrictRequestVerification(secret) if secret else None)
    checker = admins or AdminCheck(settings.slack_admin_users)

    async def on_news(ack: Any, body: dict[str, Any], respond: Any,
                      client: AsyncWebClient) -> None:
        task = asyncio.create_task(_run_command(commands, checker, client, body))
        done, _ = await asyncio.wait({task}, timeout=fast_reply)
        if task in done:
            await ack(**render_reply(task.result()))
            return
        await ack(text=WORKING, response_type="ephemeral")
        await respond(**render_reply(await task), replace_original=False)

    async def on_open_article(ack: Any) -> None:
        await ack()  # the button opens its URL in the browser; nothing to do here

    app.command("/news")(on_news)
    app.action("open_article")(on_open_article)
    return app


async def _run_command(commands: Commands, checker: AdminCheck, client: AsyncWebClient,
                       body: dict[str, Any]) -> Reply:
    team = str(body.get("team_id") or "")
    user = str(body.get("user_id") or "")
    try:
        invocation = Invocation(
            tenant=f"slack:{team}", platform="slack", channel=str(body.get("channel_id") or ""),
            user=user, text=str(body.get("text") or ""),
            is_admin=await checker.is_admin(client, team, user),
            user_name=str(body.get("user_name") or ""))
        return await commands.handle(invocation)
    except Exception:  # one command's bug must not kill the app; the user gets a short answer
        log.exception("/news %r from %s in %s failed", body.get("text"), user, team)
        return Reply("Sorry, that command failed on our side. Please try again later.", ok=False)


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


# --- runners --------------------------------------------------------------------------------------
@dataclass
class SlackRuntime:
    """A running Slack adapter; ``stop()`` disconnects it. ``port`` is set in HTTP mode."""

    mode: str
    app: AsyncApp
    _stop: Callable[[], Awaitable[None]]
    port: int | None = None

    async def stop(self) -> None:
        await self._stop()


def events_handler(app: AsyncApp, secret: str, clock: Callable[[], float] = time.time
                   ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for ``POST /slack/events``: verify first, then bolt."""

    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if not verify_request(secret, request.headers, raw, clock()):
            return web.json_response({"error": "invalid request signature"}, status=401)
        try:
            bolt_request = AsyncBoltRequest(body=raw.decode("utf-8"),
                                            query=request.query_string,
                                            headers=dict(request.headers))
        except (UnicodeDecodeError, ValueError):
            return web.json_response({"error": "malformed request"}, status=400)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    return handle


async def start_http(app: AsyncApp, secret: str, *, host: str, port: int) -> SlackRuntime:
    web_app = web.Application(client_max_size=1024 * 1024)
    web_app.router.add_post(EVENTS_PATH, events_handler(app, secret))
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = int(runner.addresses[0][1]) if runner.addresses else port
    log.info("Slack HTTP mode: listening on %s:%d%s", host, bound, EVENTS_PATH)
    return SlackRuntime("http", app, runner.cleanup, port=bound)


async def start_socket(app: AsyncApp, app_token: str) -> SlackRuntime:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()
    log.info("Slack Socket Mode: connected")
    return SlackRuntime("socket", app, handler.close_async)


async def start_slack(settings: Settings, commands: Commands, *,
                      client: AsyncWebClient | None = None, host: str = "0.0.0.0"
                      ) -> SlackRuntime | None:
    """Start the Slack adapter in ``settings.slack_mode``; None (logged) when tokens are missing."""
    mode = settings.slack_mode.strip().lower()
    if mode not in ("socket", "http"):
        raise ConfigError(f"NEWSBOT_SLACK_MODE must be 'socket' or 'http', not {mode!r}")
    if not _secret(settings.slack_bot_token) and client is None:
        log.info("Slack: SLACK_BOT_TOKEN is not set; the Slack adapter is off")
        return None
    if mode == "socket" and not _secret(settings.slack_app_token):
        log.warning("Slack: Socket Mode needs SLACK_APP_TOKEN (xapp-...); the adapter is off. "
                    "Set it, or NEWSBOT_SLACK_MODE=http with SLACK_SIGNING_SECRET.")
        return None
    if mode == "http" and not _secret(settings.slack_signing_secret):
        log.warning("Slack: HTTP mode needs SLACK_SIGNING_SECRET; the adapter is off")
        return None
    app = build_slack_app(settings, commands, client=client)
    if mode == "http":
        return await start_http(app, _secret(settings.slack_signing_secret), host=host,
                                port=settings.slack_port)
    return await start_socket(app, _secret(settings.slack_app_token))
