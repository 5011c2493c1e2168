"""What `newsbot run` says when it starts: version, config folder, database (password masked)
and each chat adapter on or off with the reason. Pure: settings in, lines out."""

from __future__ import annotations

from pydantic import SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config.settings import Settings, package_version
from bot.domain.secrets import mask_secrets


def _set(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value().strip())


def masked_database_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return mask_secrets(url)


def slack_status(settings: Settings) -> str:
    if settings.slack_workspaces:
        if settings.slack_mode != "http" or not _set(settings.slack_signing_secret):
            return ("off (several workspaces need NEWSBOT_SLACK_MODE=http and "
                    "SLACK_SIGNING_SECRET)")
        return "on (several workspaces, http mode)"
    if not _set(settings.slack_bot_token):
        return "off (SLACK_BOT_TOKEN is not set)"
    if settings.slack_mode == "socket" and not _set(settings.slack_app_token):
        return "off (Socket Mode needs SLACK_APP_TOKEN)"
    if settings.slack_mode == "http" and not _set(settings.slack_signing_secret):
        return "off (HTTP mode needs SLACK_SIGNING_SECRET)"
    return f"on ({settings.slack_mode} mode)"


def discord_status(settings: Settings) -> str:
    return "on" if _set(settings.discord_token) else "off (DISCORD_TOKEN is not set)"


def startup_lines(settings: Settings, *, adapters_off: str | None = None) -> list[str]:
    """Two lines for the log: where newsbot reads and writes, and which adapters run
    (``adapters_off``: the option that turned them all off)."""
    if adapters_off is None:
        slack, discord = slack_status(settings), discord_status(settings)
    else:
        slack = discord = f"off ({adapters_off})"
    return [f"newsbot {package_version()}: config folder {settings.config_dir.resolve()}, "
            f"database {masked_database_url(settings.database_url)}",
            f"chat adapters: Slack {slack}; Discord {discord}"]
