"""channels.yaml: the channel controls of one destination, the same values as ``/news`` takes:
``digest`` (daily 08:00 | weekly mon 08:00), ``timezone`` (IANA, default UTC), ``quiet_hours``
(22:00-07:00), ``cap`` (alerts per hour), ``max_age`` (3d), ``exclude`` (a list of words or
phrases), ``prominent_only`` (true/false), ``mention`` (role:ID on Discord, subteam:ID on Slack).
Mutes are set from chat only (they are temporary); a restart keeps them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.config.yaml_files import brief
from bot.domain.controls import (
    MAX_CAP,
    MAX_EXCLUDES,
    ChannelControls,
    QuietHours,
    Schedule,
    check_zone,
    mention_token,
    parse_duration,
)
from bot.domain.errors import ConfigError

CONTROL_KEYS = ("digest", "timezone", "quiet_hours", "cap", "max_age", "exclude",
                "prominent_only", "mention")


def _text(raw: Mapping[str, Any], key: str, where: str, parse: Callable[[str], Any]) -> Any:
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: '{key}' must be text, got {brief(value)}")
    try:
        return parse(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: '{key}': {exc}") from None


def parse_controls(raw: Mapping[str, Any], where: str) -> ChannelControls:
    """The destination's controls; a key left out keeps its default."""
    out: dict[str, Any] = {}
    if "digest" in raw:
        out["digest"] = _text(raw, "digest", where, Schedule.parse)
    if "timezone" in raw:
        out["timezone"] = _text(raw, "timezone", where, check_zone)
    if "quiet_hours" in raw:
        out["quiet"] = _text(raw, "quiet_hours", where, QuietHours.parse)
    if "max_age" in raw:
        out["max_age"] = _text(raw, "max_age", where, parse_duration)
    if "mention" in raw:
        out["mention"] = _text(raw, "mention", where, mention_token)
    if "cap" in raw:
        cap = raw["cap"]
        if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_CAP:
            raise ConfigError(f"{where}: 'cap' must be a whole number from 1 to {MAX_CAP}, "
                              f"got {brief(cap)}")
        out["cap"] = cap
    if "prominent_only" in raw:
        if not isinstance(raw["prominent_only"], bool):
            raise ConfigError(f"{where}: 'prominent_only' must be true or false, got "
                              f"{brief(raw['prominent_only'])}")
        out["prominent_only"] = raw["prominent_only"]
    if "exclude" in raw:
        items = raw["exclude"]
        if (not isinstance(items, list) or len(items) > MAX_EXCLUDES
                or not all(isinstance(i, str) and i.strip() for i in items)):
            raise ConfigError(f"{where}: 'exclude' must be a list of up to {MAX_EXCLUDES} words "
                              f"or phrases, got {brief(items)}")
        out["excludes"] = tuple(dict.fromkeys(i.strip() for i in items))
    return ChannelControls(**out)
