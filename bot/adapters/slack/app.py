"""Slash commands in: a slack-bolt ``AsyncApp`` that turns ``/news`` into ``Commands.handle`` calls.

Thin by design: translate the payload into an ``Invocation`` (admin rights decided here, server
side, on every command), call the command layer, render the ``Reply``. Slack wants an answer
within 3 s: a command that finishes within ``fast_reply`` seconds answers in the ack itself,
a slower one is acked with "Working on it…" and answered through ``response_url`` (``respond``).

Runners: Socket Mode (``SLACK_APP_TOKEN``, no public URL; the default) and HTTP
(``SLACK_SIGNING_SECRET``, ``POST /slack/events`` on ``settings.slack_port``). Slack for several
workspaces (``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET``, HTTP only) adds the OAuth install
(``GET /slack/install``, ``GET /slack/oauth_redirect``, bot/adapters/slack/oauth.py) and answers
each workspace with its own token. Every HTTP POST is verified before bolt sees it: a missing,
non-numeric or stale timestamp or a wrong signature gets 401 (bolt alone would answer a
non-numeric timestamp with a 500), and so does a replay of a request already seen (same
timestamp and signature, within the 5-minute window); a signed body that is not a Slack payload
(a JSON array, JSON nested too deeply, garbage) gets 400 (bot/adapters/slack/verify.py; replies
are built in reply.py). Secrets are read from ``Settings`` (``SecretStr``) and never logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.files import slack_file
from bot.adapters.slack.oauth import (
    INSTALL_PATH,
    Workspaces,
    add_single_workspace_listeners,
    add_workspace_listeners,
    oauth_settings,
)
from bot.adapters.slack.reply import render_reply
from bot.adapters.slack.verify import (
    StrictRequestVerification,
    verify_request,
)
from bot.chat.answer import answer
from bot.chat.types import Commands, Invocation, Reply
from bot.config.settings import Settings
from bot.domain.errors import ConfigError
from bot.domain.secrets import quiet_chatty_loggers

log = logging.getLogger(__name__)

FAST_REPLY = 2.0  # seconds a command may take and still answer in the ack (Slack allows 3)
ADMIN_TTL = 300.0  # seconds a users.info answer is trusted
EVENTS_PATH = "/slack/events"
WORKING = "Working on it…"
# apps.connections.open errors that retrying cannot fix: the adapter stays off
REFUSED = {"invalid_auth", "not_authed", "not_allowed_token_type", "account_inactive",
           "token_revoked", "token_expired"}






# --- admin rights ---------------------------------------------------------------------------------
ADMIN_FLAGS = ("is_admin", "is_owner", "is_primary_owner")


def workspace_admin(info: Mapping[str, Any], team: str, enterprise: str = "") -> bool:
    """Is this ``users.info`` user an admin of the invoking workspace ``team``?

    Slack Connect: a user from another organisation's workspace may be an admin THERE; their
    flags count only when they belong to ``team`` (``user.team_id``), or, on Enterprise Grid,
    to the invoking workspace's enterprise (``enterprise_user.enterprise_id``; then the
    organisation-level admin/owner flags count).
    """
    if team and info.get("team_id") == team:
        return any(bool(info.get(k)) for k in ADMIN_FLAGS)
    grid = info.get("enterprise_user")
    if enterprise and isinstance(grid, Mapping) and grid.get("enterprise_id") == enterprise:
        return any(bool(grid.get(k)) for k in ADMIN_FLAGS)
    return False


class AdminCheck:
    """Configured admin users, or admins/owners of the invoking workspace per ``users.info``
    (cached briefly); a user of another workspace (Slack Connect) is never an admin here."""

    def __init__(self, configured: str | set[str], *, ttl: float = ADMIN_TTL,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if isinstance(configured, str):
            configured = {u.strip() for u in configured.split(",") if u.strip()}
        self.configured = configured
        self.ttl = ttl
        self.monotonic = monotonic
        self._cache: dict[tuple[str, str], tuple[bool, float]] = {}

    async def is_admin(self, client: AsyncWebClient, team: str, user: str,
                       enterprise: str = "") -> bool:
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
        admin = workspace_admin(info, team, enterprise)
        if not admin and any(info.get(k) for k in ADMIN_FLAGS):
            log.info("Slack: %s is an admin of another workspace (%s), not of %s: not an admin "
                     "here", user, info.get("team_id"), team)
        self._cache[(team, user)] = (admin, self.monotonic() + self.ttl)
        return admin


# --- the app --------------------------------------------------------------------------------------
def build_slack_app(settings: Settings, commands: Commands, *,
                    client: AsyncWebClient | None = None, fast_reply: float = FAST_REPLY,
                    admins: AdminCheck | None = None,
                    workspaces: Workspaces | None = None) -> AsyncApp:
    """The bolt app with the ``/news`` command and the article button's action; with
    ``workspaces``, the OAuth install and each request answered with its workspace's token."""
    quiet_chatty_loggers()  # slack_sdk/slack_bolt DEBUG logs carry response_url and tokens
    secret = _secret(settings.slack_signing_secret)
    verify = StrictRequestVerification(secret) if secret else None
    if workspaces is not None:
        app = AsyncApp(client=client or AsyncWebClient(base_url=settings.slack_api_url),
                       signing_secret=secret or None, request_verification_enabled=False,
                       before_authorize=verify,
                       oauth_settings=oauth_settings(settings, workspaces))
        add_workspace_listeners(app, workspaces)
    else:
        if client is None:
            token = _secret(settings.slack_bot_token)
            if not token:
                raise ConfigError("SLACK_BOT_TOKEN is not set: the Slack app needs a bot token")
            client = AsyncWebClient(token=token)
        app = AsyncApp(client=client, signing_secret=secret or None,
                       request_verification_enabled=False, before_authorize=verify)
        add_single_workspace_listeners(app)
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

    async def build() -> Invocation:
        text = str(body.get("text") or "")
        admin = await checker.is_admin(client, team, user, str(body.get("enterprise_id") or ""))
        return Invocation(
            tenant=f"slack:{team}", platform="slack", channel=str(body.get("channel_id") or ""),
            user=user, text=text, is_admin=admin, user_name=str(body.get("user_name") or ""),
            attachment=await slack_file(client, text) if admin else None)

    return await answer(commands, build)


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
            # bolt parses the body here; JSON that is not an object fails with AttributeError
            # (``list.get``), JSON nested too deeply with RecursionError
            bolt_request = AsyncBoltRequest(body=raw.decode("utf-8"),
                                            query=request.query_string,
                                            headers=dict(request.headers))
        except (UnicodeDecodeError, ValueError, TypeError, AttributeError, RecursionError):
            return web.json_response({"error": "not a Slack request"}, status=400)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    return handle


def oauth_handler(flow: AsyncOAuthFlow
                  ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for the install link and the OAuth redirect (bolt's OAuth flow);
    a browser's GET, so not signed: the flow checks its one-time ``state`` instead."""

    async def handle(request: web.Request) -> web.StreamResponse:
        bolt_request = AsyncBoltRequest(body="", query=request.query_string,
                                        headers=dict(request.headers))
        if request.path == flow.install_path:
            return await to_aiohttp_response(await flow.handle_installation(bolt_request))
        return await to_aiohttp_response(await flow.handle_callback(bolt_request))

    return handle


async def start_http(app: AsyncApp, secret: str, *, host: str, port: int) -> SlackRuntime:
    web_app = web.Application(client_max_size=1024 * 1024)
    web_app.router.add_post(EVENTS_PATH, events_handler(app, secret))
    if (flow := app.oauth_flow) is not None:
        for path in (flow.install_path, flow.redirect_uri_path):
            web_app.router.add_get(path, oauth_handler(flow))
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:  # port taken, or the stop: nothing stays open
        await runner.cleanup()
        raise
    bound = int(runner.addresses[0][1]) if runner.addresses else port
    log.info("Slack HTTP mode: listening on %s:%d%s", host, bound, EVENTS_PATH)
    return SlackRuntime("http", app, runner.cleanup, port=bound)


async def start_socket(app: AsyncApp, app_token: str) -> SlackRuntime:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(app, app_token)  # opens an aiohttp session
    try:
        # apps.connections.open once here, so a failure surfaces to the caller's backoff
        # (slack_sdk's own connect() would retry it forever, logging a traceback each time)
        opened = await handler.client.web_client.apps_connections_open(app_token=app_token)
        handler.client.wss_uri = str(opened["url"])
        await handler.connect_async()
    except SlackApiError as exc:
        await handler.close_async()
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        if error in REFUSED:
            raise ConfigError(f"Slack refused SLACK_APP_TOKEN ({error})") from exc
        raise
    except BaseException:  # unreachable API, or the stop: the session is closed either way
        await handler.close_async()
        raise
    log.info("Slack Socket Mode: connected")
    return SlackRuntime("socket", app, handler.close_async)


async def start_slack(settings: Settings, commands: Commands, *,
                      client: AsyncWebClient | None = None, host: str = "0.0.0.0",
                      workspaces: Workspaces | None = None) -> SlackRuntime | None:
    """Start the Slack adapter in ``settings.slack_mode``; None (logged) when tokens are missing.
    ``workspaces`` (built by the App on its storage) serve Slack for several workspaces."""
    mode = settings.slack_mode  # "socket" | "http", checked when the settings load
    if settings.slack_workspaces:
        return await _start_workspaces(settings, commands, client, host, workspaces)
    if settings.slack_client_id.strip():
        log.warning("Slack: SLACK_CLIENT_ID is set but SLACK_CLIENT_SECRET is not: serving one "
                    "workspace (SLACK_BOT_TOKEN), no installs")
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
    if client is None:
        client = AsyncWebClient(token=_secret(settings.slack_bot_token),
                                base_url=settings.slack_api_url)
    app = build_slack_app(settings, commands, client=client)
    if mode == "http":
        return await start_http(app, _secret(settings.slack_signing_secret), host=host,
                                port=settings.slack_port)
    return await start_socket(app, _secret(settings.slack_app_token))


async def _start_workspaces(settings: Settings, commands: Commands,
                            client: AsyncWebClient | None, host: str,
                            workspaces: Workspaces | None) -> SlackRuntime | None:
    secret = _secret(settings.slack_signing_secret)
    if settings.slack_mode != "http" or not secret:
        log.warning("Slack: several workspaces (SLACK_CLIENT_ID) need NEWSBOT_SLACK_MODE=http "
                    "and SLACK_SIGNING_SECRET; the adapter is off")
        return None
    if workspaces is None:
        raise ConfigError("Slack for several workspaces needs the database's installations")
    app = build_slack_app(settings, commands, client=client, workspaces=workspaces)
    runtime = await start_http(app, secret, host=host, port=settings.slack_port)
    log.info("Slack: several workspaces; install link at %s", INSTALL_PATH)
    return runtime
