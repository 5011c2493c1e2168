"""The operator's config/ folder: feeds.yaml, watchlist.yaml, channels.yaml -> typed objects.

Every error names the file, the entry and the problem; nothing is half-loaded. Files are read by
``config_files.read_yaml`` (UTF-8 only, no duplicate keys, no alias bombs); every value is checked
for its type here, and an unknown key anywhere (``feed:`` for ``feeds:``) is an error, never a
silent "nothing configured". Messages show destinations as written (``${NAME}``), never the
expanded secret, and go through ``mask_secrets`` besides.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config.channel_controls import CONTROL_KEYS, parse_controls
from bot.config.watchlist import parse_watchlist
from bot.config.yaml_files import brief, did_you_mean, read_yaml
from bot.domain.address import Address
from bot.domain.alert import Subscription
from bot.domain.article import FeedSource
from bot.domain.controls import ChannelControls
from bot.domain.errors import ConfigError
from bot.domain.story import FOLLOWUPS  # what a later report of an alerted story does
from bot.domain.watchlist import Watchlist

ADDRESS_KINDS = ("console", "jsonl", "slack", "discord", "discord-webhook")
LOCAL_TENANT = "local"
MAX_INTERVAL_MINUTES = 7 * 24 * 60
MAX_BACKFILL = 10_000
_FEED_KEYS = ("url", "path", "title", "interval_minutes", "backfill")
_DEFAULT_KEYS = ("title", "interval_minutes", "backfill")
_DESTINATION_KEYS = ("to", "companies", "topics", "company_and_topic", "followups",
                     *CONTROL_KEYS)


@dataclass(frozen=True, slots=True)
class DestinationSpec:
    address: str
    subscriptions: tuple[Subscription, ...]
    controls: ChannelControls = ChannelControls()  # digest, quiet hours, cap ... (channels.yaml)
    followups: str = "thread"  # thread | edit | off (README "One alert per story")


@dataclass(frozen=True, slots=True)
class OperatorConfig:
    feeds: tuple[FeedSource, ...]
    watchlist: Watchlist
    destinations: tuple[DestinationSpec, ...]
    directory: Path


def _whole_number(value: Any, where: str, key: str, *, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ConfigError(f"{where}: '{key}' must be a whole number from {minimum} to {maximum}, "
                          f"got {brief(value)}")
    return value


def _text(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: '{key}' must be text, got {brief(value)}")
    return value.strip()


def check_keys(raw: Mapping[Any, Any], known: Collection[str], where: str) -> None:
    """ConfigError naming the first unknown key, with a "did you mean" hint."""
    for key in raw:
        if key not in known:
            raise ConfigError(f"{where}: unknown key {brief(key)} ({did_you_mean(key, known)})")


def _mapping(data: Any, source: Path, known: Collection[str], example: str) -> dict[Any, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping like {example!r}, got {_kind(data)}")
    check_keys(data, known, f"{source}: top level")
    return data


def _list(value: Any, key: str, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: '{key}' must be a list, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {brief(value)}"


def feed_url(entry: Mapping[str, Any], base: Path, where: str) -> str:
    """An http(s) URL as given, or a local path (relative to the config dir) as a file:// URL."""
    url, path = _text(entry, "url", where), _text(entry, "path", where)
    if url is not None and path is not None:
        raise ConfigError(f"{where}: give either 'url' or 'path', not both")
    if url is not None:
        if not url.lower().startswith(("http://", "https://")):
            raise ConfigError(f"{where}: 'url' must start with http:// or https:// "
                              f"(got {brief(url)})")
        return url
    if path is not None:
        local = (base / path).resolve()
        if not local.is_file():
            raise ConfigError(f"{where}: 'path' {brief(path)} is not a file (looked for {local})")
        return local.as_uri()
    raise ConfigError(f"{where}: needs 'url' or 'path'")


def _feed(raw: Any, defaults: Mapping[str, Any], base: Path, where: str) -> FeedSource:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping like {{url: ...}}, got {_kind(raw)}")
    check_keys(raw, _FEED_KEYS, where)
    entry = {**defaults, **raw}
    return FeedSource(
        url=feed_url(entry, base, where),
        title=_text(entry, "title", where) or "",
        interval_minutes=_whole_number(entry.get("interval_minutes", 15), where,
                                       "interval_minutes", minimum=1,
                                       maximum=MAX_INTERVAL_MINUTES),
        backfill=_whole_number(entry.get("backfill", 0), where, "backfill", minimum=0,
                               maximum=MAX_BACKFILL),
    )


def parse_feeds(data: Any, source: Path) -> tuple[FeedSource, ...]:
    if data is None:
        return ()
    data = _mapping(data, source, ("defaults", "feeds"), "feeds: [...]")
    defaults = data.get("defaults")
    if defaults is None:
        defaults = {}
    if not isinstance(defaults, dict):
        raise ConfigError(f"{source}: defaults: expected a mapping like "
                          f"{{interval_minutes: 15}}, got {_kind(defaults)}")
    check_keys(defaults, _DEFAULT_KEYS, f"{source}: defaults")
    feeds: list[FeedSource] = []
    problems: list[str] = []  # every bad entry is reported, not only the first
    seen: dict[str, int] = {}
    for i, raw in enumerate(_list(data.get("feeds"), "feeds", str(source)), start=1):
        try:
            feed = _feed(raw, defaults, source.parent, f"{source}: feed #{i}")
        except ConfigError as exc:
            problems.append(str(exc))
            continue
        if feed.url in seen:
            problems.append(f"{source}: feed #{i}: feed listed twice (also feed "
                            f"#{seen[feed.url]}): {brief(feed.url, 200)}")
        seen.setdefault(feed.url, i)
        feeds.append(feed)
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        shown = [p.removeprefix(f"{source}: ") for p in problems[:_MAX_REPORTED]]
        more = [f"... and {len(problems) - _MAX_REPORTED} more"] if len(
            problems) > _MAX_REPORTED else []
        raise ConfigError("\n  ".join([f"{source}: {len(problems)} problems", *shown, *more]))
    return tuple(feeds)


_MAX_REPORTED = 20  # problems listed, as for the watchlist
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(address: str, env: Mapping[str, str], where: str) -> str:
    """``${NAME}`` -> the environment variable NAME, so secrets (webhook URLs) stay out of files."""
    def value(m: re.Match[str]) -> str:
        if m.group(1) not in env:
            raise ConfigError(f"{where}: environment variable {m.group(1)} is not set")
        return env[m.group(1)]
    return _ENV_REF.sub(value, address)


def parse_address(address: str, where: str, written: str | None = None) -> str:
    """``kind:target`` with the kind checked and lower-cased. ``written`` (the text before
    ``${NAME}`` expansion) is what error messages show, so an expanded secret is never printed."""
    shown = brief(written if written is not None else address, 120)
    parsed = Address.parse(address)
    kind, target = parsed.platform.lower(), parsed.target
    if kind not in ADDRESS_KINDS:
        hint = did_you_mean(kind.replace("_", "-"), ADDRESS_KINDS)
        raise ConfigError(f"{where}: unknown destination kind in {shown} ({hint}); use console, "
                          "jsonl:PATH, slack:CHANNEL_ID, discord:CHANNEL_ID or "
                          "discord-webhook:URL")
    if kind == "console" and target:
        raise ConfigError(f"{where}: console takes no target (got {shown})")
    if kind != "console" and not target:
        raise ConfigError(f"{where}: {kind} needs a target, like {kind}:... (got {shown})")
    return str(Address(kind, target)) if kind != "console" else kind


def _names(value: Any, where: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: '{key}' must be a list of names, got {brief(value)}")
    return [v.strip() for v in value]


def _pairs(value: Any, where: str) -> list[Subscription]:
    pairs = []
    for i, pair in enumerate(_list(value, "company_and_topic", where), start=1):
        at = f"{where}: company_and_topic #{i}"
        if not isinstance(pair, dict):
            raise ConfigError(f"{at}: expected {{company: ..., topic: ...}}, got {_kind(pair)}")
        check_keys(pair, ("company", "topic"), at)
        company, topic = _text(pair, "company", at), _text(pair, "topic", at)
        if company is None or topic is None:
            raise ConfigError(f"{at}: company_and_topic entries need 'company' and 'topic'")
        pairs.append(Subscription(company=company, topic=topic))
    return pairs


def parse_subscriptions(raw: Mapping[str, Any], watchlist: Watchlist, where: str
                        ) -> tuple[Subscription, ...]:
    subs = [Subscription(company=c) for c in _names(raw.get("companies"), where, "companies")]
    subs += [Subscription(topic=t) for t in _names(raw.get("topics"), where, "topics")]
    subs += _pairs(raw.get("company_and_topic"), where)
    for sub in subs:
        if sub.company and sub.company != "*" and watchlist.company(sub.company) is None:
            raise ConfigError(f"{where}: company {brief(sub.company)} is not in the watchlist")
        if sub.topic and watchlist.topic(sub.topic) is None:
            raise ConfigError(f"{where}: topic {brief(sub.topic)} is not in the watchlist")
    return tuple(dict.fromkeys(subs))


def _destination(raw: Any, watchlist: Watchlist, env: Mapping[str, str], where: str
                 ) -> tuple[DestinationSpec, str]:
    """The spec and the address as written (for messages)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping like {{to: console}}, got {_kind(raw)}")
    check_keys(raw, _DESTINATION_KEYS, where)
    written = raw.get("to")
    if not isinstance(written, str) or not written.strip():
        raise ConfigError(f"{where}: needs 'to' (console, jsonl:PATH, slack:..., discord:...), "
                          f"got {brief(written)}")
    written = written.strip()
    address = parse_address(expand_env(written, env, where), where, written)
    followups = raw.get("followups", "thread")
    if followups not in FOLLOWUPS:
        raise ConfigError(f"{where}: followups must be one of {', '.join(FOLLOWUPS)}, "
                          f"got {brief(followups)}")
    return DestinationSpec(address, parse_subscriptions(raw, watchlist, where),
                           parse_controls(raw, where), followups), written


def parse_channels(data: Any, source: Path, watchlist: Watchlist,
                   env: Mapping[str, str] | None = None) -> tuple[DestinationSpec, ...]:
    if data is None:
        return ()
    data = _mapping(data, source, ("destinations",), "destinations: [...]")
    out: list[DestinationSpec] = []
    seen: dict[str, tuple[int, str]] = {}
    for i, raw in enumerate(_list(data.get("destinations"), "destinations", str(source)), start=1):
        where = f"{source}: destination #{i}"
        spec, written = _destination(raw, watchlist, env or {}, where)
        if spec.address in seen:
            first, first_written = seen[spec.address]
            raise ConfigError(f"{where}: {brief(written, 120)} is the same destination as "
                              f"destination #{first} ({brief(first_written, 120)}); list it once "
                              "with all its subscriptions")
        seen[spec.address] = (i, written)
        out.append(spec)
    return tuple(out)


def load_config(directory: str | Path, env: Mapping[str, str] | None = None) -> OperatorConfig:
    """Read config/feeds.yaml, watchlist.yaml and channels.yaml (each optional but the folder).

    ``${NAME}`` in a destination is read from ``env`` (default: the process environment).
    """
    env = os.environ if env is None else env
    base = Path(directory)
    if not base.is_dir():
        raise ConfigError(f"{base}: config folder not found (give --config DIR or set "
                          "NEWSBOT_CONFIG_DIR; an installed newsbot ships no config: copy "
                          "config/ from the source and edit it)")

    def read(name: str) -> Any:
        path = base / name
        return read_yaml(path) if path.exists() else None

    watchlist = parse_watchlist(read("watchlist.yaml"), str(base / "watchlist.yaml"))
    return OperatorConfig(
        feeds=parse_feeds(read("feeds.yaml"), base / "feeds.yaml"),
        watchlist=watchlist,
        destinations=parse_channels(read("channels.yaml"), base / "channels.yaml", watchlist,
                                    env),
        directory=base,
    )
