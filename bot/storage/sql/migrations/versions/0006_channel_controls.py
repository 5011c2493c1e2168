"""channel controls: per destination settings, the tenant's admin channel, admin notices

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 03:10:00

- channel_settings: one JSON row per destination (digest, quiet hours, mutes, cap, max_age,
  exclusions, prominent_only, mention); no row = the defaults;
- admin_channels: where a tenant's admin notices go (``/news admin-channel``);
- notices: each admin notice once per tenant and event (``/news status`` lists them).
Deliveries gain statuses, not columns: ``filtered`` (the channel's controls keep it back; the
reason in ``last_error``), ``held`` (waits for a digest), ``digested`` (went out in one).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_settings",
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["destination_id"], ["destinations.id"], ondelete="CASCADE",
                                name="fk_channel_settings_destination_id_destinations"),
        sa.PrimaryKeyConstraint("destination_id", name="pk_channel_settings"),
    )
    op.create_table(
        "admin_channels",
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("destination_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_admin_channels_tenant_id_tenants"),
        sa.ForeignKeyConstraint(["destination_id"], ["destinations.id"], ondelete="CASCADE",
                                name="fk_admin_channels_destination_id_destinations"),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_admin_channels"),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE",
                                name="fk_notices_tenant_id_tenants"),
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
        sa.UniqueConstraint("tenant_id", "key", name="uq_notices_tenant_key"),
    )


def downgrade() -> None:
    op.execute("UPDATE deliveries SET status = 'pending' WHERE status = 'held'")
    op.execute("DELETE FROM deliveries WHERE status = 'filtered'")
    op.drop_table("notices")
    op.drop_table("admin_channels")
    op.drop_table("channel_settings")
