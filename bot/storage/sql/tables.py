"""The schema: SQLAlchemy Core tables, one set for SQLite and PostgreSQL.

Alembic migrations (bot/storage/migrations) create exactly these; a test checks they agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on every backend (SQLite stores naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


tenants = Table(
    "tenants", metadata,
    Column("id", String(100), primary_key=True),  # "local", "slack:T123", "discord:456"
    Column("name", String(200), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    # bumped by every change of the tenant's watchlist: compiled matchers are cached by it
    Column("watch_revision", Integer, nullable=False, default=0, server_default="0"),
    # the tenant whose watchlist this one reads until its first edit (copy-on-write), or NULL
    Column("watch_parent", String(100)),
)

watches = Table(
    "watches", metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", String(100), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(10), nullable=False),  # company | topic
    Column("name", String(200), nullable=False),
    Column("folded", String(200), nullable=False),  # name_key(name): one entry per name
    Column("spec", JSON, nullable=False),  # the watchlist entry as in YAML
    Column("position", Integer, nullable=False, default=0),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "kind", "folded", name="uq_watches_tenant_kind_name"),
)

feeds = Table(
    "feeds", metadata,
    Column("id", Integer, primary_key=True),
    Column("url", Text, nullable=False, unique=True),
    Column("title", Text, nullable=False, default=""),
    Column("interval_minutes", Integer, nullable=False, default=15),
    Column("next_poll_at", UTCDateTime, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_success_at", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("error_count", Integer, nullable=False, default=0),
    Column("lease_until", UTCDateTime),
    Column("lease_owner", String(100)),  # the worker holding the lease (renewed by its heartbeat)
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_feeds_next_poll_at", "next_poll_at"),
)

follows = Table(
    "follows", metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", String(100), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("title", Text, nullable=False, default=""),
    Column("backfill", Integer, nullable=False, default=0),
    Column("primed", Boolean, nullable=False, default=False),  # first poll for this follow done
    Column("source", String(20), nullable=False, default="config"),  # config | chat
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "feed_id", name="uq_follows_tenant_feed"),
    Index("ix_follows_feed_id", "feed_id"),  # lookups by feed: the key starts with tenant_id
)

articles = Table(
    "articles", metadata,
    Column("id", Integer, primary_key=True),
    Column("feed_id", Integer, ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
    Column("key", Text, nullable=False),
    Column("story", Text, nullable=False),
    Column("url", Text),
    Column("title", Text, nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("published_at", UTCDateTime),
    Column("seen_at", UTCDateTime, nullable=False),
    UniqueConstraint("feed_id", "key", name="uq_articles_feed_key"),
    Index("ix_articles_story", "story"),
    Index("ix_articles_url", "url"),
    Index("ix_articles_seen_at", "seen_at"),
)

destinations = Table(
    "destinations", metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", String(100), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("address", Text, nullable=False),
    Column("active", Boolean, nullable=False, default=True),  # False: stopped (alerts held)
    Column("stopped_reason", Text),
    Column("waiting_reason", Text),  # set at start when no sink serves its platform (no token)
    Column("paused_until", UTCDateTime),  # the platform said "wait" (429): nothing sent before
    Column("lease_until", UTCDateTime),  # one worker at a time delivers to a destination
    Column("lease_owner", String(100)),
    Column("created_at", UTCDateTime, nullable=False),
    # what a later report of an alerted story does here (issue 12): thread | edit | off
    Column("followups", String(10), nullable=False, default="thread", server_default="thread"),
    UniqueConstraint("tenant_id", "address", name="uq_destinations_tenant_address"),
)

subscriptions = Table(
    "subscriptions", metadata,
    Column("id", Integer, primary_key=True),
    Column("destination_id", Integer, ForeignKey("destinations.id", ondelete="CASCADE"),
           nullable=False),
    Column("company", String(200), nullable=False, default=""),  # "" = any (topic-only)
    Column("topic", String(200), nullable=False, default=""),  # "" = any (company-only)
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("destination_id", "company", "topic", name="uq_subscriptions_dest_sub"),
)

deliveries = Table(
    "deliveries", metadata,
    Column("id", Integer, primary_key=True),
    Column("destination_id", Integer, ForeignKey("destinations.id", ondelete="CASCADE"),
           nullable=False),
    Column("story", Text, nullable=False),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="SET NULL")),
    # pending | sent | rejected (refused, budget spent) | expired (older than the age limit)
    Column("status", String(10), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),  # requests that reached the platform
    Column("next_attempt_at", UTCDateTime, nullable=False),
    # set (committed) just before the sink is called, cleared when the outcome is recorded:
    # still set after a crash means "maybe sent" (ask the sink), unset means "never attempted"
    Column("attempt_started_at", UTCDateTime),
    Column("message_id", Text),
    Column("last_error", Text),
    Column("alert", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    # a follow-up (issue 12): the story whose first alert in this destination it joins
    Column("reply_to", Text),
    UniqueConstraint("destination_id", "story", name="uq_deliveries_destination_story"),
    Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    Index("ix_deliveries_destination_status", "destination_id", "status"),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", String(100), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(50), nullable=False),
    Column("target", Text, nullable=False, default=""),
    Column("before", JSON),
    Column("after", JSON),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_audit_log_tenant_at", "tenant_id", "at"),
)

# --- Slack for several workspaces (OAuth v2 installs), and small state the adapters keep -----
slack_installations = Table(
    "slack_installations", metadata,
    Column("team_id", String(32), primary_key=True),
    Column("tenant_id", String(100), nullable=False, unique=True),  # "slack:T123"
    Column("enterprise_id", String(32)),
    Column("team_name", String(200), nullable=False, default=""),
    Column("app_id", String(32)),
    Column("bot_id", String(32), nullable=False, default=""),
    Column("bot_user_id", String(32), nullable=False, default=""),
    # as stored: "fernet:..." when NEWSBOT_TOKEN_KEY is set, else "plain:..."; NULL once removed
    Column("bot_token", Text),
    Column("bot_refresh_token", Text),  # token rotation only
    Column("bot_token_expires_at", UTCDateTime),
    Column("bot_scopes", Text, nullable=False, default=""),
    Column("installer_user_id", String(32)),
    Column("installed_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("removed_at", UTCDateTime),  # app_uninstalled / tokens_revoked; NULL: installed
)

slack_oauth_states = Table(
    "slack_oauth_states", metadata,
    Column("state", String(100), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False),
)

app_state = Table(
    "app_state", metadata,
    Column("key", String(200), primary_key=True),  # e.g. "discord.commands.APP.global"
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
# --- channel controls (issue 13): per destination settings, the admin channel, admin notices ------
channel_settings = Table(
    "channel_settings", metadata,
    Column("destination_id", Integer, ForeignKey("destinations.id", ondelete="CASCADE"),
           primary_key=True),
    Column("settings", JSON, nullable=False),  # ChannelControls.to_json()
    Column("updated_at", UTCDateTime, nullable=False),
)

admin_channels = Table(
    "admin_channels", metadata,
    Column("tenant_id", String(100), ForeignKey("tenants.id", ondelete="CASCADE"),
           primary_key=True),
    Column("destination_id", Integer, ForeignKey("destinations.id", ondelete="CASCADE"),
           nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

notices = Table(
    "notices", metadata,
    Column("id", Integer, primary_key=True),
    Column("tenant_id", String(100), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(300), nullable=False),  # the event, once: "notice:feed-failing:12:..."
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "key", name="uq_notices_tenant_key"),
)

# --- stories (issue 12): the story signatures of the window, and the keys that find them ---------
story_signatures = Table(
    "story_signatures", metadata,
    Column("id", Integer, primary_key=True),
    Column("article_id", Integer, ForeignKey("articles.id", ondelete="CASCADE"), nullable=False,
           unique=True),
    Column("story", Text, nullable=False),  # the story key of the story's first article
    Column("ref", Text, nullable=False),  # the article's link (or key): what `why` shows
    Column("features", JSON, nullable=False),  # StoryFeatures.to_json()
    Column("joined", Text),  # ref of the earlier article it matched; NULL: first of its story
    Column("reason", Text),
    Column("at", UTCDateTime, nullable=False),  # published, else seen
    Index("ix_story_signatures_story", "story"),
    Index("ix_story_signatures_at", "at"),
)

story_keys = Table(
    "story_keys", metadata,
    Column("key", String(300), nullable=False),
    Column("signature_id", Integer, ForeignKey("story_signatures.id", ondelete="CASCADE"),
           nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index("ix_story_keys_key_at", "key", "at"),
)
