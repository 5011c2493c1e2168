"""watchlist revision and inheritance per tenant

A tenant's ``watch_revision`` is bumped by every change of its watchlist (compiled matchers are
cached by it); ``watch_parent`` names the tenant whose watchlist it reads until its first edit
(new workspaces start from the operator's defaults without copying them).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 00:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("watch_revision", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("watch_parent", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("watch_parent")
        batch_op.drop_column("watch_revision")
