"""Typed settings, loaded once: secrets and the database URL from the environment.

Every tunable has an allowed range; a value outside it (or not a number) is refused at start with
a message naming the variable and the range (``settings_errors``), before anything runs.
"""

from __future__ import annotations

import ipaddress
import logging
import site
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from annotated_types import Ge, Gt, Le
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]  # the checkout (bot/config/settings.py)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
KIB = 1024
GIB = 1024 ** 3


def installed_share() -> tuple[Path, ...]:
    """Where ``pip install .`` puts the sample config/ and seeds/ (pyproject's data-files):
    ``share/newsbot`` under the environment's prefix, or under the user base (``--user``)."""
    return (Path(sys.prefix) / "share" / "newsbot", Path(site.getuserbase()) / "share" / "newsbot")


def default_config_dir() -> Path:
    """./config when it has a feeds.yaml (a checkout, the Docker work dir, an operator's folder),
    else the checkout's beside the package (editable install), else the sample config a
    non-editable install brought (share/newsbot/config), else ./config (then: not found)."""
    here = Path.cwd() / "config"
    if (here / "feeds.yaml").exists():
        return here
    for candidate in (REPO_ROOT / "config", *(d / "config" for d in installed_share())):
        if (candidate / "feeds.yaml").is_file():
            return candidate
    return here


def default_seeds_dir() -> Path:
    """The sample feeds `newsbot demo` reads: ./seeds, the checkout's, or the installed ones."""
    for candidate in (Path.cwd() / "seeds", REPO_ROOT / "seeds",
                      *(d / "seeds" for d in installed_share())):
        if candidate.is_dir():
            return candidate
    return Path.cwd() / "seeds"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSBOT_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///data/newsbot.db"
    config_dir: Path = Field(default_factory=default_config_dir)
    # how often the scheduler looks for due feeds and deliveries
    tick_seconds: float = Field(30.0, ge=1, le=86400)
    concurrency: int = Field(8, ge=1, le=256)  # feeds polled at once
    max_feed_bytes: int = Field(10 * 1024 * 1024, ge=KIB, le=GIB)
    fetch_timeout: float = Field(30.0, ge=1, le=600)
    # connections to one host at once (politeness); many feeds on one server may want more
    fetch_per_host: int = Field(2, ge=1, le=64)
    # parse worker processes per newsbot process (unset: one per core up to 2); read by
    # bot.jobs.parse_workers.pool_size when the workers start, checked here so a wrong value stops
    # start-up with a clear error instead of being ignored
    parse_workers: int | None = Field(None, ge=1, le=16)
    # networks (comma-separated CIDRs) a feed added from chat may be on, e.g. an intranet server
    fetch_allow_networks: str = ""
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object per line (bot/cli/log_format)
    # Slack user ids (comma-separated) allowed to run admin commands besides workspace admins
    slack_admin_users: str = ""
    slack_mode: Literal["socket", "http"] = "socket"  # socket (SLACK_APP_TOKEN) | http
    slack_port: int = Field(3000, ge=0, le=65535)  # HTTP mode: the events endpoint (0: any)
    discord_guild_ids: str = ""  # comma-separated: sync commands to these guilds (development)
    # API hosts (GovSlack, an egress gateway, a local test double): every Slack/Discord HTTP call
    slack_api_url: str = "https://slack.com/api/"
    discord_api_url: str = "https://discord.com/api/v10"
    # pending alerts older than this (e.g. waiting for a stopped channel) are marked expired
    delivery_max_age_days: float = Field(7.0, gt=0, le=365)
    # /healthz, /readyz, /metrics and the status page (bot/web), served by `newsbot run`; 0: off
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)

    # secrets: only from the environment, never logged (SecretStr hides them in reprs)
    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "NEWSBOT_SLACK_BOT_TOKEN"))
    slack_app_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "NEWSBOT_SLACK_APP_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "NEWSBOT_SLACK_SIGNING_SECRET"))
    # Slack for several workspaces (OAuth v2 install; bot/adapters/slack/oauth.py): the app's
    # credentials, where Slack sends the installer back (optional: the app's one redirect URL),
    # and the key that encrypts the stored workspace tokens (optional)
    slack_client_id: str = Field(
        "", validation_alias=AliasChoices("SLACK_CLIENT_ID", "NEWSBOT_SLACK_CLIENT_ID"))
    slack_client_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_CLIENT_SECRET", "NEWSBOT_SLACK_CLIENT_SECRET"))
    slack_redirect_uri: str = ""
    token_key: SecretStr | None = None
    discord_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("DISCORD_TOKEN", "NEWSBOT_DISCORD_TOKEN"))
    # the status page's password; required when NEWSBOT_HTTP_HOST is not a loopback address
    status_token: SecretStr | None = Field(None, validate_default=True)

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_level(cls, value: Any) -> str:
        level = str(value).strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("slack_mode", "log_format", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("slack_api_url", "discord_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL, e.g. https://slack.com/api/")
        return value.strip()

    @field_validator("fetch_allow_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)
        return ",".join(str(n) for n in parse_networks(value))

    @property
    def allow_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``fetch_allow_networks`` parsed (validated when the settings were read)."""
        return parse_networks(self.fetch_allow_networks)
    @field_validator("http_host")
    @classmethod
    def _host(cls, value: str) -> str:
        if not value.strip() or any(c.isspace() for c in value.strip()):
            raise ValueError("must be a host name or IP address, e.g. 127.0.0.1 or 0.0.0.0")
        return value.strip()

    @field_validator("status_token")
    @classmethod
    def _token_off_loopback(cls, value: SecretStr | None, info: ValidationInfo
                            ) -> SecretStr | None:
        if value is not None and not value.get_secret_value().strip():
            value = None
        host, port = info.data.get("http_host"), info.data.get("http_port")
        if value is None and host and port and not is_loopback(host):
            raise ValueError(f"must be set when NEWSBOT_HTTP_HOST ({host}) is not a loopback "
                             "address: the status page shows every tenant's feeds and alerts "
                             "(or set NEWSBOT_HTTP_HOST=127.0.0.1, or NEWSBOT_HTTP_PORT=0)")
        return value

    @property
    def slack_workspaces(self) -> bool:
        """Slack for several workspaces: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set."""
        secret = self.slack_client_secret
        return bool(self.slack_client_id.strip() and secret and secret.get_secret_value())

    @property
    def log_level_number(self) -> int:
        return int(getattr(logging, self.log_level, logging.INFO))


def parse_networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``"10.0.0.0/8, fd00::/8"`` -> networks; ValueError naming the entry that is not one."""
    networks = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        try:
            networks.append(ipaddress.ip_network(part, strict=True))
        except ValueError:
            raise ValueError(f"must be comma-separated networks such as 10.0.0.0/8; "
                             f"{part!r} is not one") from None
    return tuple(networks)
def is_loopback(host: str) -> bool:
    """127.0.0.1, ::1, localhost: reachable from this machine (this container) only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_secret(field: str) -> bool:
    info = Settings.model_fields.get(field)
    return info is not None and "SecretStr" in str(info.annotation)


def env_name(field: str) -> str:
    return field if field.isupper() else f"NEWSBOT_{field.upper()}"


def allowed_range(field: str) -> str:
    """``between 1 and 86400``, ``more than 0 and at most 365``, from the field's constraints."""
    info = Settings.model_fields.get(field)
    low: Any = None
    high: Any = None
    strict = False
    for rule in info.metadata if info else ():
        if isinstance(rule, Ge):
            low = rule.ge
        elif isinstance(rule, Gt):
            low, strict = rule.gt, True
        elif isinstance(rule, Le):
            high = rule.le
    if low is None or high is None:
        return ""
    return (f"more than {_num(low)} and at most {_num(high)}" if strict
            else f"between {_num(low)} and {_num(high)}")


def _num(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def settings_errors(exc: ValidationError) -> list[str]:
    """One readable line per bad setting: the variable, what is allowed, and what was given."""
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "settings"
        given = error.get("input")
        shown = (given if isinstance(given, str) and given.strip() and len(given) <= 80
                 and given.isprintable() else repr(given)[:80])
        if is_secret(field):  # never echo a secret, even a wrong one
            shown = "not set" if given is None or not str(given).strip() else "hidden"
        span = allowed_range(field)
        if span:
            whole = Settings.model_fields[field].annotation in (int, int | None)
            kind = "a whole number" if whole else "a number"
            problem = f"must be {kind} {span}"
        elif error["type"] == "literal_error":
            problem = "must be one of " + str(error.get("ctx", {}).get("expected", ""))
        else:
            problem = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{env_name(field)} {problem} (got {shown})")
    return lines


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL (to create its folder), or None for other databases."""
    for prefix in ("sqlite+aiosqlite:///", "sqlite:///"):
        if url.startswith(prefix) and ":memory:" not in url:
            return Path(url[len(prefix):].split("?", 1)[0])
    return None


def absolute_sqlite_url(url: str, cwd: Path) -> tuple[str, Path | None]:
    """``url`` with a relative SQLite path made absolute against ``cwd``, and that path (None
    when nothing changed): ``sqlite:///data/x.db`` means ./data/x.db, said out loud."""
    path = sqlite_path(url)
    if path is None or path.is_absolute():
        return url, None
    absolute = cwd / path
    return url.replace(str(path), str(absolute), 1), absolute


@lru_cache(maxsize=1)
def package_version() -> str:
    """The installed distribution's version (``newsbot --version``, the start-up line, the
    status page): read from the package metadata once per process."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsbot")
    except PackageNotFoundError:  # run from a checkout that was never installed
        from bot import __version__

        return __version__
