"""A Slack workspace's install of the app (OAuth v2): the value storage keeps and the Slack
adapter reads; a frozen dataclass, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class SlackInstallation:
    """One Slack workspace's install of the app (OAuth v2). Token fields hold what is stored:
    the Slack adapter seals and opens them (bot/adapters/slack/cipher.py); None once removed."""

    team_id: str
    tenant: str  # "slack:" + team_id
    bot_token: str | None
    bot_id: str = ""
    bot_user_id: str = ""
    bot_scopes: str = ""
    team_name: str = ""
    enterprise_id: str | None = None
    app_id: str | None = None
    bot_refresh_token: str | None = None
    bot_token_expires_at: datetime | None = None
    installer_user_id: str | None = None
    installed_at: datetime | None = None
    removed_at: datetime | None = None
