"""watch names: one rule for "the same name"

``watches.folded`` held ``name.casefold()`` while chat lookups and the matcher folded accents too;
it now holds ``name_key(name)`` (bot/domain/watchlist.py). Rows are recomputed; where two entries of
one tenant would collide (``Nestle`` and ``Nestlé`` both watched), both keep their old key and stay
listed, so nothing is lost; removing one of them by name then fixes the rest.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 01:20:00
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from alembic import op

from bot.domain.watchlist import name_key

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_WATCHES = sa.table("watches", sa.column("id", sa.Integer), sa.column("tenant_id", sa.String),
                    sa.column("kind", sa.String), sa.column("name", sa.String),
                    sa.column("folded", sa.String))


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_WATCHES.c.id, _WATCHES.c.tenant_id, _WATCHES.c.kind,
                                  _WATCHES.c.name, _WATCHES.c.folded)).all()
    wanted = {r.id: (r.tenant_id, r.kind, name_key(r.name)) for r in rows}
    taken = Counter(wanted.values())
    moving = [r for r in rows if taken[wanted[r.id]] == 1 and wanted[r.id][2] != r.folded]
    for r in moving:  # two steps, so no row takes a key another still holds
        conn.execute(sa.update(_WATCHES).where(_WATCHES.c.id == r.id).values(folded=f"#{r.id}"))
    for r in moving:
        conn.execute(sa.update(_WATCHES).where(_WATCHES.c.id == r.id)
                     .values(folded=wanted[r.id][2]))


def downgrade() -> None:
    conn = op.get_bind()
    for r in conn.execute(sa.select(_WATCHES.c.id, _WATCHES.c.name)).all():
        conn.execute(sa.update(_WATCHES).where(_WATCHES.c.id == r.id)
                     .values(folded=r.name.casefold()))
