"""follows: an index on ``feed_id`` alone

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 08:00:00

The key ``uq_follows_tenant_feed`` starts with ``tenant_id``, so a lookup by feed (the feed
claim's ``feeds.id IN (SELECT feed_id FROM follows)``, ``follows_of_feeds``) scanned every
follow; ``ix_follows_feed_id`` serves it (issue 16, decision 0009).
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_follows_feed_id", "follows", ["feed_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_follows_feed_id", table_name="follows")
