"""Slack for several workspaces: the OAuth v2 install (bolt's ``AsyncOAuthSettings``), the
``app_uninstalled`` / ``tokens_revoked`` events, and the first admin's welcome.

On the HTTP server (``NEWSBOT_SLACK_MODE=http``), ``GET /slack/install`` answers with the
"Add to Slack" link (our client id, ``SCOPES``, a one-time ``state`` also set as a cookie) and
``GET /slack/oauth_redirect`` completes the install: state checked (cookie and database),
``oauth.v2.access``, ``auth.test``, the workspace's installation stored (tokens sealed, never
logged), and the installer — its first admin — sees a welcome with ``/news help`` in the App
Home. A removed app (uninstall, revoked bot token) makes the workspace's destinations wait, their
alerts kept; a reinstall resumes them. Chosen by ``Settings.slack_workspaces``
(``SLACK_CLIENT_ID`` + ``SLACK_CLIENT_SECRET``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.cipher import TokenCipher
from bot.adapters.slack.installations import (
    ROTATE_MINUTES,
    SqlInstallationStore,
    SqlStateStore,
    WorkspaceTokens,
    utcnow,
)
from bot.config.settings import Settings

if TYPE_CHECKING:
    from bot.storage.ports import InstallationStorage

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# what newsbot does in a workspace, and no more (config/slack-manifest.yaml lists the same)
SCOPES = ("chat:write", "chat:write.public", "commands", "users:read", "channels:history",
          "groups:history", "files:read")
WELCOME = ("*newsbot is installed.* It posts news about the companies and topics your team "
           "watches.\n\n"
           "• Type `/news help` in any channel to see the commands.\n"
           "• `/news subscribe company NAME` in a channel sends that company's news there.\n"
           "• Admins: `/news watch list` shows the watchlist this workspace starts from.")


@dataclass
class Workspaces:
    """The installations of every workspace: bolt's stores, and the tokens for the sink."""

    store: SqlInstallationStore
    states: SqlStateStore
    tokens: WorkspaceTokens


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


def build_workspaces(settings: Settings, storage: InstallationStorage, *,
                     client: AsyncWebClient | None = None,
                     clock: Callable[[], datetime] = utcnow) -> Workspaces:
    """The stores on ``storage``; ``NEWSBOT_TOKEN_KEY`` checked (ConfigError when wrong)."""
    store = SqlInstallationStore(storage, TokenCipher(_secret(settings.token_key)), clock)
    client = client or AsyncWebClient(base_url=settings.slack_api_url)
    tokens = WorkspaceTokens(store, client_id=settings.slack_client_id.strip(),
                             client_secret=_secret(settings.slack_client_secret), client=client,
                             fallback=_secret(settings.slack_bot_token))
    return Workspaces(store, SqlStateStore(storage, clock=clock), tokens)


def oauth_settings(settings: Settings, workspaces: Workspaces) -> AsyncOAuthSettings:
    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        await welcome(workspaces, args.installation.team_id or "", args.installation.user_id,
                      args.installation.bot_token or "")
        return await args.default.success(args)

    async def failure(args: AsyncFailureArgs) -> BoltResponse:
        log.warning("Slack: an install did not complete (%s)", args.reason)
        return await args.default.failure(args)

    oauth = AsyncOAuthSettings(
        client_id=settings.slack_client_id.strip(),
        client_secret=_secret(settings.slack_client_secret), scopes=list(SCOPES),
        redirect_uri=settings.slack_redirect_uri.strip() or None, install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH, installation_store=workspaces.store,
        installation_store_bot_only=True, state_store=workspaces.states,
        callback_options=AsyncCallbackOptions(success=success, failure=failure),
        token_rotation_expiration_minutes=ROTATE_MINUTES, logger=log)
    # bolt's own authorize would rotate tokens through https://slack.com/api/ whatever
    # NEWSBOT_SLACK_API_URL says (GovSlack, a gateway): the same, on our client
    oauth.authorize = AsyncInstallationStoreAuthorize(
        logger=log, client_id=oauth.client_id, client_secret=oauth.client_secret,
        token_rotation_expiration_minutes=ROTATE_MINUTES, installation_store=workspaces.store,
        bot_only=True, client=workspaces.tokens.client)
    return oauth


async def welcome(workspaces: Workspaces, team: str, user: str | None, token: str) -> None:
    """A new (or returning) workspace's installer sees the welcome in newsbot's App Home."""
    if workspaces.store.outcomes.pop(team, "") not in ("new", "reinstalled") or not user:
        return
    await publish_home(workspaces.tokens.client, token, user)


async def publish_home(client: AsyncWebClient, token: str, user: str) -> None:
    view = {"type": "home", "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": WELCOME}}]}
    try:
        await client.views_publish(token=token, user_id=user, view=view)
    except SlackClientError as exc:  # the install worked; the welcome is a courtesy
        log.warning("Slack: could not show the welcome to %s (%s)", user,
                    exc.__class__.__name__)


def add_workspace_listeners(app: AsyncApp, workspaces: Workspaces) -> None:
    """``app_uninstalled`` and ``tokens_revoked`` (the bot's): the workspace's destinations wait;
    ``app_home_opened``: the App Home shows the welcome."""

    async def on_uninstalled(context: AsyncBoltContext) -> None:
        await workspaces.store.remove(context.team_id or "", "app_uninstalled")

    async def on_tokens_revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
        if (event.get("tokens") or {}).get("bot"):
            await workspaces.store.remove(context.team_id or "", "tokens_revoked")

    async def on_home(event: dict[str, Any], context: AsyncBoltContext,
                      client: AsyncWebClient) -> None:
        if event.get("tab", "home") == "home" and event.get("user") and context.bot_token:
            await publish_home(client, context.bot_token, str(event["user"]))

    app.event("app_uninstalled")(on_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)
    app.event("app_home_opened")(on_home)


def add_single_workspace_listeners(app: AsyncApp) -> None:
    """One workspace (``SLACK_BOT_TOKEN``): the same events, from the same manifest. A removed
    app is only logged: the token no longer works, destinations stop on their next alert."""

    async def on_removed(event: dict[str, Any]) -> None:
        log.error("Slack: the app was %s in this workspace; SLACK_BOT_TOKEN no longer works",
                  "uninstalled" if event.get("type") == "app_uninstalled" else
                  "changed (tokens revoked)")

    async def on_home(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab", "home") == "home" and event.get("user") and client.token:
            await publish_home(client, client.token, str(event["user"]))

    app.event("app_uninstalled")(on_removed)
    app.event("tokens_revoked")(on_removed)
    app.event("app_home_opened")(on_home)
