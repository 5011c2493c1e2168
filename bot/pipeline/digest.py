"""Held alerts -> the ONE digest message of a period: stories grouped by company. Pure.

The digest is an ``Alert`` whose ``items`` are the stories (slimmed: no evidence, a short
summary) and whose ``story`` names the period (``digest:<slot>``), so it goes through the outbox
like any alert, exactly once per destination and period. The renderers fit it to the platform
(bot/render/digest.py) and say "+N more" for what does not fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from bot.domain.alert import DIGEST_PREFIX, Alert, digest_groups
from bot.text.truncate import truncate

MAX_ITEMS = 100  # stories stored in one digest; the rest are counted in ``more``
ITEM_SUMMARY_CHARS = 200
def digest_key(slot: datetime) -> str:
    return f"{DIGEST_PREFIX}{slot.astimezone(UTC).isoformat(timespec='minutes')}"


def build_digest(alerts: Sequence[Alert], *, destination: str, slot: datetime, label: str,
                 mention: str | None = None) -> Alert:
    """The digest of ``alerts`` (oldest first); one story per story key; ``label`` says which
    period it covers ("daily 08:00 Europe/Paris", "after quiet hours")."""
    unique = list({a.story or a.url or a.title: a for a in alerts}.values())
    kept = [replace(a, evidence=(), summary=truncate(a.summary, ITEM_SUMMARY_CHARS), items=(),
                    mention=None) for a in unique[:MAX_ITEMS]]
    ordered = [a for _, group in digest_groups(kept) for a in group]
    companies = tuple(dict.fromkeys(c for a in ordered for c in a.companies))
    topics = tuple(dict.fromkeys(t for a in ordered for t in a.topics))
    count = len(unique)
    return Alert(destination=destination, feed="newsbot digest", url=None,
                 title=f"News digest: {count} {'story' if count == 1 else 'stories'}",
                 published=slot, companies=companies, topics=topics,
                 summary=f"{label} · {slot.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
                 story=digest_key(slot), mention=mention, items=tuple(ordered),
                 more=count - len(kept))
