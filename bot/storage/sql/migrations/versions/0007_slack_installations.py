"""Slack for several workspaces: OAuth v2 installations and states; a small key-value table

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 03:15:00

- ``slack_installations``: one row per Slack workspace that installed the app (its bot token,
  encrypted when ``NEWSBOT_TOKEN_KEY`` is set; ``removed_at`` after ``app_uninstalled`` or
  ``tokens_revoked``);
- ``slack_oauth_states``: the one-time ``state`` values of installs in progress;
- ``app_state``: small values the adapters keep (the hash of the Discord command tree last synced).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_installations",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("tenant_id", sa.String(length=100), nullable=False),
        sa.Column("enterprise_id", sa.String(length=32), nullable=True),
        sa.Column("team_name", sa.String(length=200), nullable=False),
        sa.Column("app_id", sa.String(length=32), nullable=True),
        sa.Column("bot_id", sa.String(length=32), nullable=False),
        sa.Column("bot_user_id", sa.String(length=32), nullable=False),
        sa.Column("bot_token", sa.Text(), nullable=True),
        sa.Column("bot_refresh_token", sa.Text(), nullable=True),
        sa.Column("bot_token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bot_scopes", sa.Text(), nullable=False),
        sa.Column("installer_user_id", sa.String(length=32), nullable=True),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_slack_installations")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_slack_installations_tenant_id")),
    )
    op.create_table(
        "slack_oauth_states",
        sa.Column("state", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state", name=op.f("pk_slack_oauth_states")),
    )
    op.create_table(
        "app_state",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_app_state")),
    )


def downgrade() -> None:
    op.drop_table("app_state")
    op.drop_table("slack_oauth_states")
    op.drop_table("slack_installations")
