"""Typed settings, loaded once: secrets and the database URL from the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_config_dir() -> Path:
    """./config when run from a checkout or the Docker work dir, else the one beside the package."""
    here = Path.cwd() / "config"
    return here if (here / "feeds.yaml").exists() else REPO_ROOT / "config"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSBOT_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///data/newsbot.db"
    config_dir: Path = Field(default_factory=default_config_dir)
    tick_seconds: float = 30.0  # how often the scheduler looks for due feeds and deliveries
    concurrency: int = 8  # feeds polled at once
    max_feed_bytes: int = 10 * 1024 * 1024
    fetch_timeout: float = 30.0
    log_level: str = "INFO"
    # Slack user ids (comma-separated) allowed to run admin commands besides workspace admins
    slack_admin_users: str = ""
    slack_mode: str = "socket"  # socket (SLACK_APP_TOKEN) | http (SLACK_SIGNING_SECRET)
    slack_port: int = 3000  # HTTP mode: where the events endpoint listens
    discord_guild_ids: str = ""  # comma-separated: sync commands to these guilds (development)
    # API hosts (GovSlack, an egress gateway, a local test double): every Slack/Discord HTTP call
    slack_api_url: str = "https://slack.com/api/"
    discord_api_url: str = "https://discord.com/api/v10"
    # pending alerts older than this (e.g. waiting for a stopped channel) are marked expired
    delivery_max_age_days: float = 7.0

    # secrets: only from the environment, never logged (SecretStr hides them in reprs)
    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "NEWSBOT_SLACK_BOT_TOKEN"))
    slack_app_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "NEWSBOT_SLACK_APP_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "NEWSBOT_SLACK_SIGNING_SECRET"))
    discord_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("DISCORD_TOKEN", "NEWSBOT_DISCORD_TOKEN"))


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (to create its folder), or None for other databases."""
    prefix = "sqlite+aiosqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        return Path(url[len(prefix):])
    return None
