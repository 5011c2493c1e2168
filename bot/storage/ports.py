"""What each consumer needs from storage, one small Protocol per consumer; ``bot.storage.Storage``
(SQLAlchemy, bot/storage/sql/) implements them all, and the consumers type against these.

A consumer that needs more adds the method here first, so what touches the database stays visible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.domain.alert import Alert, Destination, Subscription
from bot.domain.article import FeedSource
from bot.domain.controls import ChannelControls
from bot.domain.installation import SlackInstallation
from bot.domain.story import FollowupTarget, StoryLookup
from bot.domain.watchlist import Watchlist
from bot.storage.records import (
    DeliveryState,
    DestinationBatch,
    DestinationStatus,
    FailingFollow,
    FeedRow,
    Follow,
    HeldAlert,
    HeldDestination,
    Notice,
    PollRecord,
    StoredArticle,
)

# a channel's controls at delivery time: (controls, now, alerts sent this hour) -> why it waits
Admit = Callable[[ChannelControls, datetime, int], str | None]


class PollerStorage(Protocol):
    """What ``bot.jobs.poll_feed.Poller`` needs: the tenants' watchlists and destinations, the
    follows and known keys of a batch of feeds, and recording polls (articles + outbox rows +
    feed state, many feeds per transaction) or a failure."""

    async def destinations(self, tenant: str, *, active_only: bool = True
                           ) -> tuple[Destination, ...]:
        ...

    async def follows_of_feeds(self, feed_ids: Sequence[int]) -> dict[int, list[Follow]]:
        ...

    async def known_keys_of(self, keys: Mapping[int, Sequence[str]]) -> dict[int, set[str]]:
        ...

    async def postpone_poll(self, feed_id: int, next_poll_at: datetime) -> None:
        ...

    async def record_failure(self, feed_id: int, now: datetime, error: str,
                             next_poll_at: datetime) -> None:
        ...

    async def record_poll(self, rec: PollRecord) -> int:
        ...

    async def record_polls(self, recs: Sequence[PollRecord]) -> list[int]:
        ...

    async def story_candidates(self, keys: Sequence[str], since: datetime) -> StoryLookup:
        """Stored story members of the window sharing two searchable ``keys`` (issue 12)."""
        ...

    async def watchlist(self, tenant: str) -> Watchlist:
        ...


class DelivererStorage(Protocol):
    """What ``bot.jobs.deliver.Deliverer`` needs: leasing destinations with their due rows and
    recording each attempt's outcome (the outbox's state machine)."""

    async def begin_attempt(self, delivery_id: int, now: datetime) -> None:
        ...

    async def begin_attempts(self, delivery_ids: Sequence[int], now: datetime) -> None:
        ...

    async def claim_destinations(self, now: datetime, *, owner: str, lease: timedelta,
                                 platforms: Iterable[str], limit: int = 50,
                                 per_destination: int = 100, admit: Admit | None = None
                                 ) -> list[DestinationBatch]:
        ...

    async def followup_target(self, destination_id: int, story: str,
                              followup_id: int | None = None) -> FollowupTarget:
        """A follow-up's destination setting and its story's first alert there, and the
        outlets merged into follow-up ``followup_id`` (issue 12)."""
        ...

    async def expire_deliveries(self, cutoff: datetime, now: datetime, max_age: str) -> int:
        ...

    async def give_back(self, delivery_id: int, marker: datetime | None, *,
                        error: str | None = None) -> None:
        ...

    async def hold(self, delivery_id: int, error: str, now: datetime, *,
                   in_doubt: bool = False) -> None:
        ...

    async def mark_rejected(self, delivery_id: int, error: str) -> None:
        ...

    async def mark_retry(self, delivery_id: int, error: str, next_attempt_at: datetime, *,
                         in_doubt: bool = False) -> None:
        ...

    async def mark_sent(self, delivery_id: int, message_id: str | None, now: datetime) -> None:
        ...

    async def mark_filtered(self, delivery_id: int, reason: str) -> None:
        """Done without sending: kept back for ``reason`` (as the channel controls do)."""
        ...

    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]], now: datetime
                             ) -> None:
        ...

    async def pause_destination(self, destination_id: int, until: datetime) -> None:
        ...

    async def release_destination(self, destination_id: int, owner: str) -> None:
        ...

    async def renew_leases(self, owner: str, until: datetime) -> None:
        ...

    async def stop_destination(self, destination_id: int, reason: str) -> None:
        ...


class ControlsStorage(Protocol):
    """Channel controls: a destination's settings, the tenant's admin channel and notices."""

    async def controls(self, destination_id: int) -> ChannelControls:
        ...

    async def set_controls(self, destination_id: int, controls: ChannelControls,
                           now: datetime) -> None:
        ...

    async def set_admin_channel(self, tenant: str, destination_id: int | None,
                                now: datetime) -> None:
        ...

    async def admin_channel(self, tenant: str) -> int | None:
        ...

    async def notices(self, tenant: str, limit: int = 10) -> list[Notice]:
        ...

    async def post_notice(self, tenant: str, notice: Alert, now: datetime) -> bool:
        ...


class NoticeStorage(ControlsStorage, Protocol):
    """What the admin notices (bot/jobs/notices.py) need besides the controls."""

    async def failing_follows(self, failing_since: datetime) -> list[FailingFollow]:
        ...

    async def destination_tenant(self, destination_id: int) -> str:
        ...


class DigestStorage(ControlsStorage, Protocol):
    """What the digest job (bot/jobs/digest.py) needs: held alerts and queuing their digest."""

    async def held_destinations(self) -> list[HeldDestination]:
        ...

    async def held_alerts(self, destination_id: int, before: datetime) -> list[HeldAlert]:
        ...

    async def queue_digest(self, destination_id: int, digest: Alert, held_ids: Sequence[int],
                           now: datetime) -> bool:
        ...

    async def release_held(self, held_ids: Sequence[int], now: datetime) -> None:
        ...


class ChatStorage(ControlsStorage, Protocol):
    """What the chat commands (``bot.chat``) need: a tenant's watchlist, follows, destinations,
    subscriptions, stored articles and delivery states, the audit log and channel controls."""

    async def story_placement(self, article_row_id: int) -> tuple[str | None, str | None] | None:
        """(joined ref, reason) of a stored article's story (issue 12); None if not placed."""
        ...

    async def followups(self, destination_id: int) -> str:
        """The destination's follow-up setting: thread | edit | off (issue 12)."""
        ...

    async def set_followups(self, destination_id: int, followups: str) -> None:
        ...

    async def watchlist(self, tenant: str) -> Watchlist:
        ...

    async def audit(self, tenant: str, actor: str, action: str, target: str, *, before: Any,
                    after: Any, now: datetime) -> None:
        ...

    async def feed_follows(self, tenant: str, url: str | None = None) -> list[FeedRow]:
        ...

    async def destination_status(self, destination_id: int) -> DestinationStatus:
        ...

    async def resume_destination(self, destination_id: int) -> bool:
        ...

    async def ensure_tenant(self, tenant: str, now: datetime, *, name: str = "",
                            defaults: Watchlist | None = None) -> bool:
        ...

    async def count_follows(self, tenant: str) -> int:
        ...

    async def unfollow(self, tenant: str, feed_id: int) -> bool:
        ...

    async def remove_watch(self, tenant: str, kind: str, name: str) -> dict[str, Any] | None:
        ...

    async def remove_subscription(self, destination_id: int, sub: Subscription) -> bool:
        ...

    async def recent_articles(self, tenant: str, since: datetime, limit: int, *,
                              older_than: tuple[datetime, int] | None = None
                              ) -> list[StoredArticle]:
        ...

    async def put_watch(self, tenant: str, kind: str, spec: dict[str, Any], now: datetime
                        ) -> dict[str, Any] | None:
        ...

    async def follow(self, tenant: str, feed_id: int, *, title: str, backfill: int, source: str,
                     now: datetime) -> bool:
        ...

    async def find_articles(self, tenant: str, urls: list[str], stories: list[str],
                            limit: int = 10) -> list[StoredArticle]:
        ...

    async def ensure_feed(self, source: FeedSource, now: datetime) -> int:
        ...

    async def ensure_destination(self, tenant: str, address: str, now: datetime) -> int:
        ...

    async def destinations(self, tenant: str, *, active_only: bool = True
                           ) -> tuple[Destination, ...]:
        ...

    async def delivery_states(self, *, destination_id: int | None = None,
                              story: str | None = None, status: str | None = None,
                              tenant: str | None = None) -> list[DeliveryState]:
        ...

    async def count_watches(self, tenant: str) -> int:
        ...

    async def add_subscription(self, destination_id: int, sub: Subscription, now: datetime) -> bool:
        ...


class ConfigSyncStorage(Protocol):
    """What ``bot.config.apply.sync_operator_config`` needs: the local tenant's feeds,
    watchlist, destinations, subscriptions and channel controls replaced by the operator's
    files."""

    async def controls(self, destination_id: int) -> ChannelControls:
        ...

    async def set_controls(self, destination_id: int, controls: ChannelControls,
                           now: datetime) -> None:
        ...

    async def set_followups(self, destination_id: int, followups: str) -> None:
        """The destination's follow-up setting: thread | edit | off (issue 12)."""
        ...

    async def ensure_destination(self, tenant: str, address: str, now: datetime) -> int:
        ...

    async def ensure_feeds(self, sources: Sequence[FeedSource], now: datetime) -> dict[str, int]:
        ...

    async def ensure_tenant(self, tenant: str, now: datetime, *, name: str = "",
                            defaults: Watchlist | None = None) -> bool:
        ...

    async def follow_feeds(self, tenant: str, wanted: Sequence[tuple[int, str, int]], *,
                           source: str, now: datetime) -> set[int]:
        ...

    async def remove_destinations_except(self, tenant: str, keep: set[str]) -> None:
        ...

    async def sync_watchlist(self, tenant: str, watchlist: Watchlist, now: datetime) -> bool:
        """Store ``watchlist`` as the tenant's unless it already is; True if it was written."""
        ...

    async def resume_destination(self, destination_id: int) -> bool:
        ...

    async def set_subscriptions(self, destination_id: int, subs: tuple[Subscription, ...],
                                now: datetime) -> None:
        ...

    async def unfollow_all_except(self, tenant: str, keep_feed_ids: set[int]) -> None:
        ...


class InstallationStorage(Protocol):
    """What Slack for several workspaces (bot/adapters/slack/) needs: the installation of each
    workspace (OAuth v2), the one-time OAuth states, the tenant of a destination, and the audit
    log."""

    async def save_installation(self, install: SlackInstallation, now: datetime) -> str:
        ...

    async def find_installation(self, team_id: str) -> SlackInstallation | None:
        ...

    async def remove_installation(self, team_id: str, now: datetime, reason: str) -> bool:
        ...

    async def issue_oauth_state(self, state: str, expires_at: datetime, now: datetime) -> None:
        ...

    async def consume_oauth_state(self, state: str, now: datetime) -> bool:
        ...

    async def destination_tenant(self, destination_id: int) -> str:
        ...

    async def audit(self, tenant: str, actor: str, action: str, target: str, *, before: Any,
                    after: Any, now: datetime) -> None:
        ...


class AppStateStorage(Protocol):
    """Small values an adapter keeps across restarts (the Discord command tree's hash)."""

    async def get_state(self, key: str) -> str | None:
        ...

    async def set_state(self, key: str, value: str, now: datetime) -> None:
        ...
