"""stories: signatures of the window's articles, their lookup keys, follow-up rows

One alert per story (issue 12): ``story_signatures`` holds each stored article's story signature
and the story it joined (and why); ``story_keys`` finds candidates by sketch hash, name and number
within the window; ``deliveries.reply_to`` marks a follow-up row (the story whose first alert it
joins); ``destinations.followups`` says what follow-ups do there (thread | edit | off).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 03:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story_signatures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("article_id", sa.Integer,
                  sa.ForeignKey("articles.id", ondelete="CASCADE",
                                name="fk_story_signatures_article_id_articles"),
                  nullable=False),
        sa.Column("story", sa.Text, nullable=False),
        sa.Column("ref", sa.Text, nullable=False),
        sa.Column("features", sa.JSON, nullable=False),
        sa.Column("joined", sa.Text),
        sa.Column("reason", sa.Text),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_story_signatures"),
        sa.UniqueConstraint("article_id", name="uq_story_signatures_article_id"),
    )
    op.create_index("ix_story_signatures_story", "story_signatures", ["story"])
    op.create_index("ix_story_signatures_at", "story_signatures", ["at"])
    op.create_table(
        "story_keys",
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("signature_id", sa.Integer,
                  sa.ForeignKey("story_signatures.id", ondelete="CASCADE",
                                name="fk_story_keys_signature_id_story_signatures"),
                  nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_story_keys_key_at", "story_keys", ["key", "at"])
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("reply_to", sa.Text))
    with op.batch_alter_table("destinations") as batch:
        batch.add_column(sa.Column("followups", sa.String(10), nullable=False,
                                   server_default="thread"))


def downgrade() -> None:
    with op.batch_alter_table("destinations") as batch:
        batch.drop_column("followups")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("reply_to")
    op.drop_index("ix_story_keys_key_at", "story_keys")
    op.drop_table("story_keys")
    op.drop_index("ix_story_signatures_at", "story_signatures")
    op.drop_index("ix_story_signatures_story", "story_signatures")
    op.drop_table("story_signatures")
