"""Frozen dataclasses passed between the pipeline steps.

Raw feedparser dicts, HTTP responses, database rows and chat payloads stop at the edges; everything
in between speaks these types. All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from .domain.address import Address

MatchKind = Literal["company", "topic"]
Field = Literal["title", "text"]


# --- the watchlist --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Company:
    name: str
    aliases: tuple[str, ...] = ()
    case_sensitive: bool = False
    context: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    senses: tuple[str, ...] = ()  # words of the other meanings: count against ("fruit", "river")
    people: tuple[str, ...] = ()  # people named like the company ("Doug Ford"): not the company


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Watchlist:
    companies: tuple[Company, ...] = ()
    topics: tuple[Topic, ...] = ()

    def company(self, name: str) -> Company | None:
        folded = name.casefold()
        return next((c for c in self.companies if c.name.casefold() == folded), None)

    def topic(self, name: str) -> Topic | None:
        folded = name.casefold()
        return next((t for t in self.topics if t.name.casefold() == folded), None)


# --- matching -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Match:
    """One occurrence of a watched term, with the evidence an alert shows."""

    kind: MatchKind
    name: str  # canonical company or topic name
    alias: str  # the watchlist term that hit (name, alias or keyword)
    field: Field
    start: int  # character offsets into the field's text
    end: int
    sentence: str  # the sentence the hit sits in
    # for an ambiguous name: the cues that decided (``disambiguate.decide``): "company_verb +1.8"
    evidence: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class MatchResult:
    companies: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    matches: tuple[Match, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.companies or self.topics)


# --- feeds and articles ---------------------------------------------------------------------------
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


# --- summaries ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Summary:
    sentences: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


# --- routing and delivery -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Subscription:
    """company, topic, or company AND topic. ``"*"`` as company means any watched company."""

    company: str | None = None
    topic: str | None = None

    def __post_init__(self) -> None:
        if self.company is None and self.topic is None:
            raise ValueError("a subscription needs a company, a topic or both")

    def label(self) -> str:
        company = "any company" if self.company == "*" else self.company
        if company and self.topic:
            return f"{company} + {self.topic}"
        return company or self.topic or ""


def display_address(address: str) -> str:
    """A destination address safe for logs, the audit log and stored alerts: secrets masked."""
    return Address.parse(address).display


@dataclass(frozen=True, slots=True)
class Destination:
    """Where alerts go: ``console``, ``jsonl:PATH``, ``slack:CHANNEL``, ``discord:CHANNEL`` ..."""

    id: int
    tenant: str
    address: str
    subscriptions: tuple[Subscription, ...] = ()
    active: bool = True

    @property
    def platform(self) -> str:
        return Address.parse(self.address).platform

    @property
    def target(self) -> str:
        return Address.parse(self.address).target


@dataclass(frozen=True, slots=True)
class Alert:
    """Everything a sink needs to post one alert; stored with its outbox row as JSON.

    ``destination`` is the display form (``display_address``: webhook tokens masked); a sink
    sends to ``Delivery.address``, read from the destinations row.
    """

    destination: str
    feed: str
    url: str | None
    title: str
    published: datetime | None
    companies: tuple[str, ...]
    topics: tuple[str, ...]
    summary: str
    evidence: tuple[Match, ...] = ()
    reasons: tuple[str, ...] = ()  # which subscriptions fired
    story: str = ""

    @property
    def hit_sentence(self) -> str | None:
        company_hits = [m for m in self.evidence if m.kind == "company"]
        best = company_hits or list(self.evidence)
        return best[0].sentence if best else None

    def to_json(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "feed": self.feed,
            "url": self.url,
            "title": self.title,
            "published": self.published.isoformat() if self.published else None,
            "companies": list(self.companies),
            "topics": list(self.topics),
            "summary": self.summary,
            "evidence": [m.to_dict() for m in self.evidence],
            "reasons": list(self.reasons),
            "story": self.story,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alert:
        published = data.get("published")
        return cls(
            destination=data["destination"],
            feed=data.get("feed", ""),
            url=data.get("url"),
            title=data.get("title", ""),
            published=datetime.fromisoformat(published) if published else None,
            companies=tuple(data.get("companies", ())),
            topics=tuple(data.get("topics", ())),
            summary=data.get("summary", ""),
            evidence=tuple(Match(**{**m, "evidence": tuple(m.get("evidence", ()))})
                           for m in data.get("evidence", ())),
            reasons=tuple(data.get("reasons", ())),
            story=data.get("story", ""),
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed outbox row."""

    id: int
    destination_id: int
    address: str
    alert: Alert
    attempts: int = 0
    message_id: str | None = None  # set when a previous attempt's outcome was recorded
    uncertain: bool = False  # the previous attempt may have landed (timed out after sending)
    # when the previous attempt was started (recorded before calling the platform); None if this
    # delivery was never attempted. Sinks use it for idempotency windows (Discord's nonce).
    last_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
