"""The operator's config/ folder: feeds.yaml, watchlist.yaml, channels.yaml -> typed objects.

Every error names the file, the entry and the problem; nothing is half-loaded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .models import FeedSource, Subscription, Watchlist
from .watchlist import parse_watchlist

ADDRESS_KINDS = ("console", "jsonl", "slack", "discord", "discord-webhook")
LOCAL_TENANT = "local"


@dataclass(frozen=True, slots=True)
class DestinationSpec:
    address: str
    subscriptions: tuple[Subscription, ...]


@dataclass(frozen=True, slots=True)
class OperatorConfig:
    feeds: tuple[FeedSource, ...]
    watchlist: Watchlist
    destinations: tuple[DestinationSpec, ...]
    directory: Path


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc


def _positive_int(value: Any, where: str, key: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where}: '{key}' must be a whole number >= {minimum}, got {value!r}")
    return value


def check_keys(raw: dict[str, Any], known: set[str], where: str) -> None:
    if unknown := set(raw) - known:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(known)}")


def feed_url(entry: dict[str, Any], base: Path, where: str) -> str:
    """An http(s) URL as given, or a local path (relative to the config dir) as a file:// URL."""
    if "url" in entry and "path" in entry:
        raise ConfigError(f"{where}: give either 'url' or 'path', not both")
    if "url" in entry:
        url = str(entry["url"]).strip()
        if not url.lower().startswith(("http://", "https://")):
            raise ConfigError(f"{where}: 'url' must start with http:// or https:// (got {url!r})")
        return url
    if "path" in entry:
        return (base / str(entry["path"])).resolve().as_uri()
    raise ConfigError(f"{where}: needs 'url' or 'path'")


def parse_feeds(data: Any, source: Path) -> tuple[FeedSource, ...]:
    if data is None:
        return ()
    if not isinstance(data, dict) or not isinstance(data.get("feeds", []), list):
        raise ConfigError(f"{source}: expected a mapping with a 'feeds' list")
    defaults = data.get("defaults") or {}
    known = {"url", "path", "title", "interval_minutes", "backfill"}
    feeds: list[FeedSource] = []
    for i, raw in enumerate(data.get("feeds") or (), start=1):
        where = f"{source}: feed #{i}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a mapping, got {raw!r}")
        check_keys(raw, known, where)
        entry = {**defaults, **raw}
        feeds.append(FeedSource(
            url=feed_url(entry, source.parent, where),
            title=str(entry.get("title") or ""),
            interval_minutes=_positive_int(entry.get("interval_minutes", 15), where,
                                           "interval_minutes", minimum=1),
            backfill=_positive_int(entry.get("backfill", 0), where, "backfill", minimum=0),
        ))
    urls = [f.url for f in feeds]
    if dupes := {u for u in urls if urls.count(u) > 1}:
        raise ConfigError(f"{source}: feed listed twice: {sorted(dupes)}")
    return tuple(feeds)


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(address: str, env: Mapping[str, str], where: str) -> str:
    """``${NAME}`` -> the environment variable NAME, so secrets (webhook URLs) stay out of files."""
    def value(m: re.Match[str]) -> str:
        if m.group(1) not in env:
            raise ConfigError(f"{where}: environment variable {m.group(1)} is not set")
        return env[m.group(1)]
    return _ENV_REF.sub(value, address)


def parse_address(address: str, where: str) -> str:
    kind, _, target = address.partition(":")
    if kind not in ADDRESS_KINDS:
        raise ConfigError(f"{where}: unknown destination {address!r}; use one of "
                          "console, jsonl:PATH, slack:CHANNEL_ID, discord:CHANNEL_ID")
    if kind != "console" and not target:
        raise ConfigError(f"{where}: {kind} needs a target, like {kind}:...")
    return address


def _names(value: Any, where: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of names")
    return [v.strip() for v in value]


def parse_subscriptions(raw: dict[str, Any], watchlist: Watchlist, where: str
                        ) -> tuple[Subscription, ...]:
    subs = [Subscription(company=c) for c in _names(raw.get("companies"), where, "companies")]
    subs += [Subscription(topic=t) for t in _names(raw.get("topics"), where, "topics")]
    for pair in raw.get("company_and_topic") or ():
        if not isinstance(pair, dict) or not pair.get("company") or not pair.get("topic"):
            raise ConfigError(f"{where}: company_and_topic entries need 'company' and 'topic'")
        subs.append(Subscription(company=str(pair["company"]), topic=str(pair["topic"])))
    for sub in subs:
        if sub.company and sub.company != "*" and watchlist.company(sub.company) is None:
            raise ConfigError(f"{where}: company {sub.company!r} is not in the watchlist")
        if sub.topic and watchlist.topic(sub.topic) is None:
            raise ConfigError(f"{where}: topic {sub.topic!r} is not in the watchlist")
    return tuple(dict.fromkeys(subs))


def parse_channels(data: Any, source: Path, watchlist: Watchlist,
                   env: Mapping[str, str] | None = None) -> tuple[DestinationSpec, ...]:
    if data is None:
        return ()
    if not isinstance(data, dict) or not isinstance(data.get("destinations", []), list):
        raise ConfigError(f"{source}: expected a mapping with a 'destinations' list")
    known = {"to", "companies", "topics", "company_and_topic"}
    out: list[DestinationSpec] = []
    for i, raw in enumerate(data.get("destinations") or (), start=1):
        where = f"{source}: destination #{i}"
        if not isinstance(raw, dict) or not raw.get("to"):
            raise ConfigError(f"{where}: needs 'to' (console, jsonl:PATH, slack:..., discord:...)")
        check_keys(raw, known, where)
        address = parse_address(expand_env(str(raw["to"]).strip(), env or {}, where), where)
        out.append(DestinationSpec(address, parse_subscriptions(raw, watchlist, where)))
    return tuple(out)


def load_config(directory: str | Path, env: Mapping[str, str] | None = None) -> OperatorConfig:
    """Read config/feeds.yaml, watchlist.yaml and channels.yaml (each optional but the folder).

    ``${NAME}`` in a destination is read from ``env`` (default: the process environment).
    """
    env = os.environ if env is None else env
    base = Path(directory)
    if not base.is_dir():
        raise ConfigError(f"{base}: config folder not found")

    def read(name: str) -> Any:
        path = base / name
        return _read_yaml(path) if path.exists() else None

    watchlist = parse_watchlist(read("watchlist.yaml"), str(base / "watchlist.yaml"))
    return OperatorConfig(
        feeds=parse_feeds(read("feeds.yaml"), base / "feeds.yaml"),
        watchlist=watchlist,
        destinations=parse_channels(read("channels.yaml"), base / "channels.yaml", watchlist,
                                    env),
        directory=base,
    )
