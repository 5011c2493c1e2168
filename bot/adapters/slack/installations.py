"""Slack for several workspaces: bolt's installation and OAuth state stores on newsbot's database,
and the bot token of each workspace for everything that talks to Slack outside a request.

``SqlInstallationStore`` is bolt-python's ``AsyncInstallationStore`` (bot tokens only: newsbot
asks for no user scopes) over ``InstallationStorage`` (bot/storage/sql/installations.py), tokens
sealed by ``TokenCipher``. ``SqlStateStore`` is its ``AsyncOAuthStateStore``: one-time ``state``
values, expiring, shared by every process on the database. ``WorkspaceTokens.token_for`` gives
the Slack sink the token of the workspace a destination belongs to, rotating it first when
token rotation is on and it expires soon; a workspace that removed the app waits.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError, SlackTokenRotationError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.cipher import TokenCipher
from bot.domain.errors import ConfigError, NotSentError
from bot.domain.installation import SlackInstallation

if TYPE_CHECKING:
    from bot.storage.ports import InstallationStorage

log = logging.getLogger(__name__)

STATE_SECONDS = 600  # an install started more than 10 minutes ago must start again
ROTATE_MINUTES = 120  # rotate a bot token this long before it expires (bolt's default)
REINSTALL_WAIT = 900.0  # seconds between checks whether a removed workspace reinstalled
LOCAL_HINT = ("in Slack for several workspaces, destinations of config/channels.yaml use "
              "SLACK_BOT_TOKEN: set it, or subscribe the channel from its workspace")


def utcnow() -> datetime:
    return datetime.now(UTC)


def tenant_of(team_id: str) -> str:
    return f"slack:{team_id}"


class SqlInstallationStore(AsyncInstallationStore):
    """Bot installations, one per workspace, in newsbot's database (tokens sealed)."""

    def __init__(self, storage: InstallationStorage, cipher: TokenCipher,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.storage = storage
        self.cipher = cipher
        self.clock = clock
        self.outcomes: dict[str, str] = {}  # team -> "new" | "reinstalled" | "updated"

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await self.async_save_bot(installation.to_bot(), installer=installation.user_id)

    async def async_save_bot(self, bot: Bot, *, installer: str | None = None) -> None:
        if not bot.team_id or bot.is_enterprise_install:
            raise BoltError("newsbot is installed per workspace; org-wide installs are not "
                            "supported")
        previous = await self.storage.find_installation(bot.team_id)
        expires = bot.bot_token_expires_at
        install = SlackInstallation(
            team_id=bot.team_id, tenant=tenant_of(bot.team_id),
            bot_token=self.cipher.seal(bot.bot_token), bot_id=bot.bot_id or "",
            bot_user_id=bot.bot_user_id or "", bot_scopes=",".join(bot.bot_scopes or ()),
            team_name=bot.team_name or "", enterprise_id=bot.enterprise_id, app_id=bot.app_id,
            bot_refresh_token=self.cipher.seal(bot.bot_refresh_token),
            bot_token_expires_at=datetime.fromtimestamp(expires, UTC) if expires else None,
            installer_user_id=installer or (previous.installer_user_id if previous else None))
        now = self.clock()
        outcome = await self.storage.save_installation(install, now)
        self.outcomes[bot.team_id] = outcome
        if outcome != "updated":
            log.info("Slack: newsbot %s workspace %s (%s)", "installed in" if outcome == "new"
                     else "reinstalled in", bot.team_id, bot.team_name or "")
            await self.storage.audit(install.tenant, f"slack:{installer or 'unknown'}",
                                     f"slack.{'installed' if outcome == 'new' else outcome}",
                                     bot.team_id, before=None,
                                     after={"team": bot.team_name, "scopes": install.bot_scopes,
                                            "encrypted": self.cipher.encrypting}, now=now)

    async def async_find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                             is_enterprise_install: bool | None = False) -> Bot | None:
        install = await self.storage.find_installation(team_id) if team_id else None
        if install is None or install.removed_at is not None or install.bot_token is None:
            return None
        return self._bot(install)

    async def async_find_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                      user_id: str | None = None,
                                      is_enterprise_install: bool | None = False
                                      ) -> Installation | None:
        if user_id is not None:
            return None  # newsbot asks for no user tokens
        bot = await self.async_find_bot(enterprise_id=enterprise_id, team_id=team_id)
        if bot is None:
            return None
        return Installation(
            app_id=bot.app_id, enterprise_id=bot.enterprise_id, team_id=bot.team_id,
            team_name=bot.team_name, bot_token=bot.bot_token, bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id, bot_scopes=bot.bot_scopes,
            bot_refresh_token=bot.bot_refresh_token,
            bot_token_expires_at=bot.bot_token_expires_at, user_id="",
            installed_at=bot.installed_at)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.remove(team_id or "", "tokens_revoked")

    async def async_delete_installation(self, *, enterprise_id: str | None,
                                        team_id: str | None, user_id: str | None = None) -> None:
        if user_id is None:
            await self.remove(team_id or "", "app_uninstalled")

    async def remove(self, team_id: str, why: str) -> bool:
        """The workspace removed the app (``why``: the Slack event): its destinations wait."""
        now = self.clock()
        reason = (f"waiting for the Slack app to be reinstalled in workspace {team_id} "
                  f"({why}); alerts are kept")
        if not team_id or not await self.storage.remove_installation(team_id, now, reason):
            return False
        log.warning("Slack: workspace %s removed newsbot (%s); its destinations wait, their "
                    "alerts are kept until it is reinstalled", team_id, why)
        await self.storage.audit(tenant_of(team_id), "slack", f"slack.{why}", team_id,
                                 before={"installed": True}, after={"installed": False},
                                 now=now)
        return True

    def _bot(self, install: SlackInstallation) -> Bot:
        expires = install.bot_token_expires_at
        return Bot(app_id=install.app_id, enterprise_id=install.enterprise_id,
                   team_id=install.team_id, team_name=install.team_name,
                   bot_token=self.cipher.open(install.bot_token) or "", bot_id=install.bot_id,
                   bot_user_id=install.bot_user_id, bot_scopes=install.bot_scopes,
                   bot_refresh_token=self.cipher.open(install.bot_refresh_token),
                   bot_token_expires_at=int(expires.timestamp()) if expires else None,
                   installed_at=(install.installed_at or self.clock()).timestamp())


class SqlStateStore(AsyncOAuthStateStore):
    """One-time OAuth ``state`` values in the database, valid ``expiration_seconds``."""

    def __init__(self, storage: InstallationStorage, *, expiration_seconds: int = STATE_SECONDS,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.storage = storage
        self.expiration = timedelta(seconds=expiration_seconds)
        self.clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        now = self.clock()
        await self.storage.issue_oauth_state(state, now + self.expiration, now)
        return state

    async def async_consume(self, state: str) -> bool:
        return bool(state) and await self.storage.consume_oauth_state(state, self.clock())


class WorkspaceTokens:
    """The bot token of the workspace a destination belongs to (``SlackTokens`` of the sink).

    ``fallback`` (``SLACK_BOT_TOKEN``, optional) serves destinations of tenants that are not a
    Slack workspace: the operator's config/channels.yaml (tenant ``local``).
    """

    def __init__(self, store: SqlInstallationStore, *, client_id: str, client_secret: str,
                 client: AsyncWebClient, fallback: str = "",
                 rotate_minutes: int = ROTATE_MINUTES) -> None:
        self.store = store
        self.client = client
        self.rotator = AsyncTokenRotator(client_id=client_id, client_secret=client_secret,
                                         client=client)
        self.fallback = fallback
        self.rotate_minutes = rotate_minutes
        self._tenants: dict[int, str] = {}  # destination -> tenant (never changes)
        self._locks: dict[str, asyncio.Lock] = {}

    async def token_for(self, destination_id: int) -> tuple[str, str]:
        """(the bot token, the workspace's tenant) for this destination's alerts."""
        tenant = self._tenants.get(destination_id)
        if tenant is None:
            tenant = await self.store.storage.destination_tenant(destination_id)
            self._tenants[destination_id] = tenant
        if not tenant.startswith("slack:"):
            if not self.fallback:
                raise NotSentError(f"waiting for a token: {LOCAL_HINT}", retry_after=REINSTALL_WAIT)
            return self.fallback, tenant
        team = tenant.removeprefix("slack:")
        try:
            bot = await self.bot(team)
        except ConfigError as exc:  # the stored token cannot be read: wait, do not count
            log.error("Slack: cannot use the token of workspace %s: %s", team, exc)
            raise NotSentError(f"waiting for a token: {exc}", retry_after=REINSTALL_WAIT) from exc
        if bot is None:
            raise NotSentError(f"waiting for the Slack app to be installed in workspace {team}; "
                               "alerts are kept", retry_after=REINSTALL_WAIT)
        return bot.bot_token, tenant

    async def bot(self, team: str) -> Bot | None:
        """The workspace's bot, its token rotated first when it expires within
        ``rotate_minutes`` (one rotation at a time per workspace in this process)."""
        async with self._locks.setdefault(team, asyncio.Lock()):
            bot = await self.store.async_find_bot(enterprise_id=None, team_id=team)
            if bot is None or bot.bot_refresh_token is None:
                return bot
            try:
                rotated = await self.rotator.perform_bot_token_rotation(
                    bot=bot, minutes_before_expiration=self.rotate_minutes)
            except (SlackTokenRotationError, SlackApiError) as exc:
                raise NotSentError(f"Slack token rotation for workspace {team} failed: "
                                   f"{exc.__class__.__name__}") from exc
            if rotated is None:
                return bot
            await self.store.async_save_bot(rotated)
            log.info("Slack: rotated the bot token of workspace %s", team)
            return rotated

