"""The values storage hands out and takes in (frozen dataclasses, no SQL): feeds and follows, a
poll's record, outbox rows and destination states, stored articles, audit entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.alert import Alert
from bot.domain.article import Article
from bot.domain.controls import ChannelControls
from bot.domain.delivery import Delivery
from bot.domain.story import StoryPlacement

TRUSTED_SOURCES = ("config", "opml")  # the operator's follows: feeds.yaml, `feeds import`


@dataclass(frozen=True, slots=True)
class FeedRow:
    """A feed with its cache validators and health; read for a poll, or as a tenant's follow
    (``title`` then is the follow's title, ``source`` the follow's: config | opml | chat)."""

    id: int
    url: str
    title: str
    interval_minutes: int
    etag: str | None
    last_modified: str | None
    error_count: int
    trusted: bool  # every follower is the operator's config: local paths allowed
    next_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    source: str = "config"

    def to_dict(self) -> dict[str, Any]:
        """What the audit log keeps of a follow."""
        return {"url": self.url, "title": self.title, "interval_minutes": self.interval_minutes,
                "source": self.source}


@dataclass(frozen=True, slots=True)
class Follow:
    id: int
    tenant: str
    title: str
    backfill: int
    primed: bool


@dataclass(frozen=True, slots=True)
class NewDelivery:
    destination_id: int
    article_key: str
    alert: Alert
    filtered: str | None = None  # the channel's controls keep it back: stored as "filtered"


@dataclass(frozen=True, slots=True)
class PollRecord:
    """Everything one successful poll stores, in one transaction."""

    feed_id: int
    now: datetime
    next_poll_at: datetime
    etag: str | None
    last_modified: str | None
    articles: tuple[Article, ...]  # newly seen
    deliveries: tuple[NewDelivery, ...]
    primed_follows: tuple[int, ...]
    feed_title: str | None = None  # the feed's own title, stored when the config gave none
    note: str | None = None  # e.g. "poll capped: ...", shown as the feed's health (not an error)
    stories: tuple[StoryPlacement, ...] = ()  # the new articles' stories (issue 12)


@dataclass(frozen=True, slots=True)
class DeliveryState:
    id: int
    destination_id: int
    address: str
    story: str
    status: str
    attempts: int
    message_id: str | None
    last_error: str | None
    next_attempt_at: datetime
    sent_at: datetime | None
    alert: Alert
    attempt_started_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DestinationBatch:
    """A claimed destination and its due deliveries, oldest first."""

    destination_id: int
    address: str
    deliveries: tuple[Delivery, ...]


@dataclass(frozen=True, slots=True)
class Backlog:
    """Pending alerts not delivered yet, by why: retrying later, waiting for a token (no sink
    for the platform), held by a stopped destination, or being delivered right now by another
    worker (its destination is leased by someone else: not a failure of this one)."""

    retrying: int = 0
    waiting: int = 0
    stopped: int = 0
    elsewhere: int = 0
    scheduled: int = 0  # follow-ups waiting for their slot (one per story every few minutes)


@dataclass(frozen=True, slots=True)
class DestinationStatus:
    active: bool
    stopped_reason: str | None
    waiting_reason: str | None
    counts: dict[str, int]  # delivery status -> how many (pending, sent, rejected, expired)


@dataclass(frozen=True, slots=True)
class StoredArticle:
    article: Article
    feed_id: int
    feed_title: str
    seen_at: datetime
    row_id: int = 0  # the article's row: with ``seen_at``, the cursor of ``recent_articles``


@dataclass(frozen=True, slots=True)
class AuditEntry:
    tenant: str
    actor: str
    action: str
    target: str
    before: Any
    after: Any
    at: datetime


@dataclass(frozen=True, slots=True)
class HeldAlert:
    id: int
    alert: Alert
    reason: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class HeldDestination:
    id: int
    tenant: str
    address: str
    controls: ChannelControls


@dataclass(frozen=True, slots=True)
class Notice:
    key: str
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FailingFollow:
    tenant: str
    feed_id: int
    url: str
    since: datetime  # the last success (or the feed's creation)
    last_error: str
    error_count: int
