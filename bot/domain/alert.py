"""From a match to an alert: matches with their evidence, the summary, subscriptions and
destinations, and the ``Alert`` a sink posts (stored with its outbox row as JSON). Pure."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bot.domain.address import Address
from bot.domain.controls import ChannelControls

DIGEST_PREFIX = "digest:"  # the story key of a digest message (one outbox row per period)
NOTICE_PREFIX = "notice:"  # the story key of an admin notice (one outbox row per event)
MatchKind = Literal["company", "topic"]
Field = Literal["title", "text"]


class _SentenceSource(Protocol):
    def sentence(self, start: int, end: int) -> str:
        """The sentence around ``[start:end]`` (offsets into the field's text)."""


class _LazySentence:
    """Where a ``Match`` made by the matcher finds its sentence when first read.

    Most articles a matcher reads alert no one, and nothing reads their matches' sentences; the
    matcher sets ``_source`` (the field's text, see ``pipeline/match.py``) and leaves the
    ``sentence`` slot empty. Reading an empty slot raises AttributeError, which Python turns into
    a ``__getattr__`` call: that finds the sentence, stores it in the slot and drops the source.
    So ``==``, ``hash``, ``repr``, ``to_dict`` and pickling see the same values as for a Match
    built with its sentence.
    """

    __slots__ = ("_source",)
    _source: _SentenceSource | None

    if not TYPE_CHECKING:  # (for type checkers, Match has only its fields)
        def __getattr__(self, name: str) -> Any:
            if name != "sentence":
                raise AttributeError(
                    f"{type(self).__name__!r} object has no attribute {name!r}")
            try:
                source = _LazySentence._source.__get__(self)
            except AttributeError:
                raise AttributeError("Match has no sentence") from None
            if source is None:  # another thread has just read it: the slot is set
                return object.__getattribute__(self, "sentence")
            sentence = source.sentence(self.start, self.end)
            object.__setattr__(self, "sentence", sentence)
            object.__setattr__(self, "_source", None)
            return sentence


@dataclass(frozen=True, slots=True)
class Match(_LazySentence):
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


@dataclass(frozen=True, slots=True)
class Summary:
    sentences: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


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
    controls: ChannelControls = field(default_factory=ChannelControls)  # bot/domain/controls.py

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
    mention: str | None = None  # the one role/user group to ping (ChannelControls.mention)
    items: tuple[Alert, ...] = ()  # a digest: its stories (this alert is the digest message)
    more: int = 0  # a digest: stories left out to stay within limits

    @property
    def is_digest(self) -> bool:
        return self.story.startswith(DIGEST_PREFIX)

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
            **({"mention": self.mention} if self.mention else {}),
            **({"items": [i.to_json() for i in self.items], "more": self.more}
               if self.is_digest else {}),
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
            mention=data.get("mention"),
            items=tuple(cls.from_json(i) for i in data.get("items", ())),
            more=int(data.get("more", 0)),
        )


def digest_group(alert: Alert) -> str:
    """A digest groups its stories by their first company (else topic)."""
    return alert.companies[0] if alert.companies else (alert.topics[0] if alert.topics
                                                       else "Other")


def digest_groups(items: tuple[Alert, ...] | list[Alert]) -> list[tuple[str, list[Alert]]]:
    """Stories by ``digest_group``, groups in order of first appearance."""
    groups: dict[str, list[Alert]] = {}
    for item in items:
        groups.setdefault(digest_group(item), []).append(item)
    return list(groups.items())
