"""Readiness: the database answers, its schema is at the newest migration, the scheduler ticks.

``readiness`` returns every reason it is not ready (empty: ready); ``/readyz`` turns that into
200 or 503. Liveness (``/healthz``) is only "the process answers".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from alembic.config import Config
from alembic.script import ScriptDirectory

from bot.storage import MIGRATIONS, Storage, current_revision

TICKS = 3  # the scheduler counts as stalled after this many ticks without a cycle starting


@dataclass(frozen=True, slots=True)
class Readiness:
    reasons: tuple[str, ...]
    revision: str | None = None

    @property
    def ready(self) -> bool:
        return not self.reasons


@cache
def head_revision() -> str | None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def scheduler_problem(progress: datetime | None, now: datetime, tick: float,
                      grace: float) -> str | None:
    """None while the scheduler made progress (a cycle started, a feed was fetched, an alert
    sent) within ``TICKS`` ticks, plus ``grace`` (the fetch timeout) for a slow step."""
    limit = timedelta(seconds=TICKS * tick + grace)
    if progress is None:
        return "the scheduler has not started a cycle yet"
    if now - progress > limit:
        ago, most = (now - progress).total_seconds(), limit.total_seconds()
        return (f"scheduler stalled: no cycle started, feed fetched or alert sent for {ago:.0f}s "
                f"(limit {most:.0f}s)")
    return None


async def readiness(storage: Storage, progress: datetime | None, now: datetime, *,
                    tick: float, grace: float) -> Readiness:
    reasons: list[str] = []
    revision = None
    try:
        revision = await current_revision(storage.engine)
    except Exception as exc:  # any failure to answer is "not ready", with its reason
        reasons.append(f"database unreachable: {exc.__class__.__name__}: {exc}"[:300])
    else:
        head = head_revision()
        if revision != head:
            reasons.append(f"database schema at {revision or 'no revision'}, newest is {head}: "
                           "run `newsbot db upgrade`")
    if problem := scheduler_problem(progress, now, tick, grace):
        reasons.append(problem)
    return Readiness(tuple(reasons), revision)
