"""delivery under faults: destination leases and pauses, attempt markers, waiting destinations

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 00:10:00

- destinations: ``waiting_reason`` (no sink/token for its platform), ``paused_until`` (the
  platform said "wait"), ``lease_until``/``lease_owner`` (one worker delivers to a destination at
  a time);
- feeds: ``lease_owner`` (leases are short and renewed by the holder's heartbeat);
- deliveries: ``attempt_started_at`` replaces the per-row ``lease_until``: set just before the
  sink is called, so after a crash only the rows that were really in flight are "maybe sent".
  Rows leased at upgrade time (a crash mid-send) and rows whose last outcome was unknown are
  marked in flight; rows rejected only because no sink was configured become pending again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("destinations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waiting_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=100), nullable=True))
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=100), nullable=True))
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempt_started_at", sa.DateTime(timezone=True),
                                      nullable=True))
    op.execute("UPDATE deliveries SET attempt_started_at = lease_until "
               "WHERE status = 'pending' AND lease_until IS NOT NULL")
    op.execute("UPDATE deliveries SET attempt_started_at = next_attempt_at "
               "WHERE status = 'pending' AND attempt_started_at IS NULL "
               "AND last_error LIKE 'outcome unknown: %'")
    op.execute("UPDATE deliveries SET status = 'pending', attempts = 0 "
               "WHERE status = 'rejected' AND last_error LIKE 'no sink is configured%'")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.create_index("ix_deliveries_destination_status", ["destination_id", "status"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_destination_status")
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_column("attempt_started_at")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("lease_owner")
    with op.batch_alter_table("destinations", schema=None) as batch_op:
        batch_op.drop_column("lease_owner")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("paused_until")
        batch_op.drop_column("waiting_reason")
