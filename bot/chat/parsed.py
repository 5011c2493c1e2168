"""The structured commands the grammar (bot/chat/grammar.py) returns: one frozen value per
subcommand, ``Command`` (any of them) and ``ADMIN_COMMANDS`` (those only admins may run)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

Kind = Literal["company", "topic"]


@dataclass(frozen=True, slots=True)
class Help:
    topic: str = ""


@dataclass(frozen=True, slots=True)
class ListSubs:
    pass


@dataclass(frozen=True, slots=True)
class Subscribe:
    """``company``/``topic`` as typed (resolved against the watchlist later); ``name`` when the
    user gave a bare name without saying whether it is a company or a topic."""

    remove: bool = False
    company: str | None = None
    topic: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Preview:
    text: str = ""
    url: str | None = None
    company: str | None = None


@dataclass(frozen=True, slots=True)
class Why:
    url: str


@dataclass(frozen=True, slots=True)
class WatchAdd:
    kind: Kind
    name: str
    aliases: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    senses: tuple[str, ...] = ()  # words of the other meanings (count against)
    people: tuple[str, ...] = ()  # people named like the company (never the company)
    case_sensitive: bool = False
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WatchRemove:
    kind: Kind
    name: str


@dataclass(frozen=True, slots=True)
class WatchList:
    pass


@dataclass(frozen=True, slots=True)
class FeedAdd:
    url: str
    interval_minutes: int | None = None
    backfill: int = 0  # entries of the first poll to alert on (bounded)


@dataclass(frozen=True, slots=True)
class FeedRemove:
    url: str


@dataclass(frozen=True, slots=True)
class FeedList:
    pass


@dataclass(frozen=True, slots=True)
class FeedImport:
    """Follow the feeds of an uploaded OPML file (``Invocation.attachment``); ``link`` is the
    Slack file link the adapter resolved into that attachment, if one was typed."""

    link: str = ""


@dataclass(frozen=True, slots=True)
class Resume:
    """Deliver to this channel again after it was stopped (admins)."""


ControlName = Literal["digest", "quiet", "timezone", "cap", "max_age", "prominent_only",
                      "mention", "followups"]


@dataclass(frozen=True, slots=True)
class SetControl:
    """One channel control (bot/domain/controls.py), parsed; ``value`` None turns it off."""

    name: ControlName
    value: object = None
    timezone: str | None = None  # `digest daily 08:00 Europe/Paris` sets the zone too
    subscription: Subscribe | None = None  # `mention <@&1> company Nvidia`: that one only


@dataclass(frozen=True, slots=True)
class MuteCmd:
    name: str
    duration: timedelta | None = None
    remove: bool = False  # unmute


@dataclass(frozen=True, slots=True)
class ExcludeCmd:
    phrase: str
    remove: bool = False  # unexclude


@dataclass(frozen=True, slots=True)
class AdminChannel:
    off: bool = False


@dataclass(frozen=True, slots=True)
class Status:
    """The admin channel and the latest admin notices."""


Command = (Help | ListSubs | Subscribe | Preview | Why | WatchAdd | WatchRemove | WatchList
           | FeedAdd | FeedRemove | FeedList | FeedImport | Resume | SetControl | MuteCmd
           | ExcludeCmd | AdminChannel | Status)

ADMIN_COMMANDS = (WatchAdd, WatchRemove, WatchList, FeedAdd, FeedRemove, FeedList, FeedImport,
                  Resume, AdminChannel, Status)
