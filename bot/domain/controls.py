"""A destination's channel controls (digest, quiet hours, mutes, cap, freshness, exclusions,
prominence, mention), their text forms (``daily 08:00``, ``22:00-07:00``, ``7d``) and JSON.

Pure values: the decisions made with them live in bot/pipeline/controls.py. Parsers raise
``ValueError`` with a short message; the chat grammar and the channels.yaml loader wrap it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.watchlist import name_key

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_MAX_AGE = timedelta(days=3)
DEFAULT_QUIET_DIGEST_OVER = 3  # more than this many alerts held by quiet hours: one digest
MAX_CAP = 1000
MAX_EXCLUDES = 50
MAX_MUTES = 100
MAX_DURATION = timedelta(days=366)
_DURATION = re.compile(r"^(\d{1,4})\s*(m|min|mins|h|hr|hrs|hours?|d|days?|w|weeks?)$",
                       re.IGNORECASE)
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1),
          "w": timedelta(weeks=1)}
_CLOCK = re.compile(r"^([01]?\d|2[0-3])[:h.]([0-5]\d)$")
_MENTION = re.compile(r"^(role|subteam):([A-Za-z0-9]{1,32})$")


def parse_duration(text: str) -> timedelta:
    """``30m``, ``12h``, ``7d``, ``2w`` -> a timedelta (at most a year, at least a minute)."""
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"write the duration as 30m, 12h, 7d or 2w (got {text.strip()[:30]!r})")
    span = int(m.group(1)) * _UNITS[m.group(2)[0].lower()]
    if not timedelta(minutes=1) <= span <= MAX_DURATION:
        raise ValueError("the duration must be from 1 minute to 366 days")
    return span


def format_duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    for unit, size in (("w", 7 * 1440), ("d", 1440), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def parse_clock(text: str) -> time:
    m = _CLOCK.match(text.strip())
    if not m:
        raise ValueError(f"write the time as HH:MM, 24-hour (got {text.strip()[:20]!r})")
    return time(int(m.group(1)), int(m.group(2)))


def check_zone(name: str) -> str:
    """An IANA time zone name (``Europe/Paris``), checked against the zone database."""
    try:
        ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name.strip()[:60]!r}; use an IANA name such as "
                         "Europe/Paris or America/New_York") from None
    return name.strip()


@dataclass(frozen=True, slots=True)
class Schedule:
    """``daily 08:00`` or ``weekly mon 08:00``, in the destination's time zone."""

    at: time
    weekday: int | None = None  # 0 = Monday; None = every day

    @classmethod
    def parse(cls, text: str) -> Schedule:
        words = text.split()
        if len(words) == 2 and words[0].casefold() == "daily":
            return cls(parse_clock(words[1]))
        if len(words) == 3 and words[0].casefold() == "weekly":
            day = words[1].casefold()[:3]
            if day not in DAYS:
                raise ValueError(f"unknown day {words[1][:12]!r}; use mon, tue, ... sun")
            return cls(parse_clock(words[2]), DAYS.index(day))
        raise ValueError("write the digest as 'daily HH:MM' or 'weekly DAY HH:MM'")

    def __str__(self) -> str:
        clock = self.at.strftime("%H:%M")
        return f"daily {clock}" if self.weekday is None else f"weekly {DAYS[self.weekday]} {clock}"


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        parts = re.split(r"\s*(?:-|–|—|\bto\b)\s*", text.strip())
        if len(parts) != 2:
            raise ValueError("write quiet hours as HH:MM-HH:MM, e.g. 22:00-07:00")
        start, end = parse_clock(parts[0]), parse_clock(parts[1])
        if start == end:
            raise ValueError("quiet hours must start and end at different times")
        return cls(start, end)

    def __str__(self) -> str:
        return f"{self.start.strftime('%H:%M')}-{self.end.strftime('%H:%M')}"


@dataclass(frozen=True, slots=True)
class Mute:
    kind: Literal["company", "topic"]
    name: str
    until: datetime

    def covers(self, kind: str, name: str, now: datetime) -> bool:
        return self.kind == kind and name_key(self.name) == name_key(name) and now < self.until


def mention_token(text: str) -> str:
    """A Discord role mention (``<@&123>``) or a Slack user group (``<!subteam^S123>`` or
    ``<!subteam^S123|@team>``) -> ``role:123`` / ``subteam:S123``; nothing else is accepted."""
    raw = text.strip()
    if m := re.fullmatch(r"<@&(\d{1,25})>", raw):
        return f"role:{m.group(1)}"
    if m := re.fullmatch(r"<!subteam\^([A-Z0-9]{1,32})(?:\|[^>]*)?>", raw):
        return f"subteam:{m.group(1)}"
    if _MENTION.match(raw):
        return raw
    raise ValueError("name one Discord role (@role, shown as <@&ID>) or one Slack user group "
                     "(@group, shown as <!subteam^ID>)")


@dataclass(frozen=True, slots=True)
class ChannelControls:
    """Everything ``/news`` and channels.yaml can set on one destination. Defaults: every alert
    goes out at once, except entries published more than ``max_age`` ago."""

    digest: Schedule | None = None
    timezone: str = "UTC"
    quiet: QuietHours | None = None
    quiet_digest_over: int = DEFAULT_QUIET_DIGEST_OVER
    cap: int | None = None  # alerts per hour
    max_age: timedelta = DEFAULT_MAX_AGE
    excludes: tuple[str, ...] = ()
    prominent_only: bool = False
    mutes: tuple[Mute, ...] = field(default=())
    mention: str | None = None  # role:ID (Discord) | subteam:ID (Slack)
    # a subscription's own mention: (its label, e.g. "Nvidia + Funding", the token)
    sub_mentions: tuple[tuple[str, str], ...] = ()

    def mention_for(self, reasons: tuple[str, ...]) -> str | None:
        """The mention of the first firing subscription that has one, else the channel's."""
        own = dict(self.sub_mentions)
        return next((own[r] for r in reasons if r in own), self.mention)

    def with_sub_mention(self, label: str, token: str | None) -> ChannelControls:
        kept = tuple(p for p in self.sub_mentions if p[0] != label)
        return replace(self, sub_mentions=(*kept, (label, token)) if token else kept)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def active_mutes(self, now: datetime) -> tuple[Mute, ...]:
        return tuple(m for m in self.mutes if now < m.until)

    def muted(self, kind: str, name: str, now: datetime) -> Mute | None:
        return next((m for m in self.mutes if m.covers(kind, name, now)), None)

    def with_mute(self, mute: Mute, now: datetime) -> ChannelControls:
        kept = tuple(m for m in self.active_mutes(now)
                     if not (m.kind == mute.kind and name_key(m.name) == name_key(mute.name)))
        return replace(self, mutes=(*kept, mute))

    def without_mute(self, kind: str, name: str, now: datetime) -> ChannelControls:
        return replace(self, mutes=tuple(
            m for m in self.active_mutes(now)
            if not (m.kind == kind and name_key(m.name) == name_key(name))))

    def holds_alerts(self) -> bool:
        """Can alerts here wait (digest, quiet hours, cap)?"""
        return self.digest is not None or self.quiet is not None or self.cap is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": str(self.digest) if self.digest else None,
            "timezone": self.timezone,
            "quiet": str(self.quiet) if self.quiet else None,
            "quiet_digest_over": self.quiet_digest_over,
            "cap": self.cap,
            "max_age": format_duration(self.max_age),
            "excludes": list(self.excludes),
            "prominent_only": self.prominent_only,
            "mutes": [{"kind": m.kind, "name": m.name, "until": m.until.isoformat()}
                      for m in self.mutes],
            "mention": self.mention,
            "sub_mentions": [list(p) for p in self.sub_mentions],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> ChannelControls:
        if not data:
            return cls()
        return cls(
            digest=Schedule.parse(data["digest"]) if data.get("digest") else None,
            timezone=data.get("timezone") or "UTC",
            quiet=QuietHours.parse(data["quiet"]) if data.get("quiet") else None,
            quiet_digest_over=int(data.get("quiet_digest_over", DEFAULT_QUIET_DIGEST_OVER)),
            cap=data.get("cap"),
            max_age=parse_duration(data["max_age"]) if data.get("max_age") else DEFAULT_MAX_AGE,
            excludes=tuple(data.get("excludes", ())),
            prominent_only=bool(data.get("prominent_only")),
            mutes=tuple(Mute(m["kind"], m["name"], datetime.fromisoformat(m["until"]))
                        for m in data.get("mutes", ())),
            mention=data.get("mention"),
            sub_mentions=tuple((str(a), str(b)) for a, b in data.get("sub_mentions", ())),
        )

    def describe(self, now: datetime) -> list[str]:
        """One line per control that differs from the default (for ``/news list``)."""
        lines = []
        if self.digest:
            lines.append(f"digest: {self.digest} {self.timezone}")
        if self.quiet:
            lines.append(f"quiet hours: {self.quiet} {self.timezone}")
        if self.cap:
            lines.append(f"cap: {self.cap} alert(s)/hour, the rest in the next digest")
        lines.append(f"max_age: {format_duration(self.max_age)}")
        if self.excludes:
            lines.append("excluded here: " + ", ".join(f"“{e}”" for e in self.excludes))
        if self.prominent_only:
            lines.append("prominent_only: on (company in the title or first paragraph)")
        for m in self.active_mutes(now):
            lines.append(f"muted: {m.name} ({m.kind}) until {m.until:%Y-%m-%d %H:%M} UTC")
        if self.mention:
            lines.append(f"mention: {self.mention}")
        lines += [f"mention for {label}: {token}" for label, token in self.sub_mentions]
        return lines
