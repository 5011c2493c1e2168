"""A feed and what comes out of it: the feed source, a fetch result, parsed entries and the
articles kept (keyed stably). Pure values; all datetimes are timezone-aware UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FeedSource:
    """A feed as an operator (config/) or an admin (chat) declared it."""

    url: str  # http(s) URL, or file:// URL for an operator's local file
    title: str = ""
    interval_minutes: int = 15
    backfill: int = 0  # on the first poll, alert on this many newest entries (0 = none)


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str  # final URL after redirects
    status: int  # 200, or 304 when the validators matched
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed entry as parsed, before it has a stable key."""

    guid: str | None
    url: str | None  # only http(s) links survive parsing
    title: str
    text: str  # plain text with paragraph breaks ("\n\n")
    published: datetime | None = None
    author: str | None = None
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str
    entries: tuple[Entry, ...]
    bozo: str | None = None  # feedparser's complaint about a feed it still read
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class Article:
    """An entry with its stable key (unique within its feed) and story key (same news, any feed)."""

    key: str
    story: str
    feed_url: str
    url: str | None
    title: str
    text: str
    published: datetime | None = None
    author: str | None = None
    lang: str | None = None
