"""Channel controls, decided: pure functions over ``ChannelControls`` with the clock passed in.

* ``screen``: at queue time, does this channel not want the article at all (muted, excluded here,
  only mentioned in passing, too old)? The reason is stored with the outbox row (``why`` shows it).
* ``admit``: at delivery time, must a queued alert wait for a digest (digest mode, quiet hours,
  the hourly cap)? The reason is stored with the held row.
* ``flush_slot``: the latest moment held alerts are due (the digest time, the end of quiet hours,
  the next hour of the cap); alerts held before it go out then, as one digest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.alert import MatchResult, Subscription
from bot.domain.article import Article
from bot.domain.controls import ChannelControls, QuietHours, Schedule, format_duration
from bot.text.fold import fold_term

HELD_DIGEST = "digest mode"
HELD_QUIET = "quiet hours"
HELD_CAP = "over the cap"
FIRST_PARAGRAPH_MAX = 600  # characters of the text that count as its first paragraph


# --- screening at queue time ----------------------------------------------------------------------
def narrow(result: MatchResult, keep: Callable[[str, str], bool]) -> MatchResult:
    """``result`` with only the companies/topics ``keep(kind, name)`` accepts."""
    return MatchResult(companies=tuple(c for c in result.companies if keep("company", c)),
                       topics=tuple(t for t in result.topics if keep("topic", t)),
                       matches=tuple(m for m in result.matches if keep(m.kind, m.name)))


def first_paragraph_end(text: str) -> int:
    end = text.find("\n")
    return min(end if end > 0 else len(text), FIRST_PARAGRAPH_MAX)


def prominent(result: MatchResult, text: str) -> set[str]:
    """Companies named in the title or in the first paragraph of the text."""
    limit = first_paragraph_end(text)
    return {m.name for m in result.matches if m.kind == "company"
            and (m.field == "title" or m.start < limit)}


def _folded_words(text: str) -> str:
    return f" {fold_term(text) or text.casefold()} "


def excluded_phrase(controls: ChannelControls, article: Article) -> str | None:
    """The first of the channel's exclusions the article contains (whole words, folded)."""
    if not controls.excludes:
        return None
    haystack = _folded_words(f"{article.title}\n{article.text}")
    for phrase in controls.excludes:
        needle = fold_term(phrase) or phrase.casefold()
        if needle and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack):
            return phrase
    return None


def too_old(controls: ChannelControls, article: Article, now: datetime) -> bool:
    return article.published is not None and now - article.published > controls.max_age


def screen(controls: ChannelControls, article: Article, result: MatchResult,
           fires: Callable[[MatchResult], tuple[str, ...]], now: datetime, *,
           backfill: bool = False) -> tuple[tuple[str, ...], str | None]:
    """(the reasons that still fire here, why the channel does not want it or None).

    ``fires`` gives the channel's firing subscriptions for a result. Mutes and prominence narrow
    the result (a muted company does not stop a story that fires for another subscription).
    A new follow's ``backfill`` asked for its newest entries, however old: no age gate."""
    reasons = fires(result)
    if not reasons:
        return (), None
    if not backfill and too_old(controls, article, now):
        assert article.published is not None
        return reasons, (f"older than max_age {format_duration(controls.max_age)} (published "
                         f"{article.published.astimezone(UTC):%Y-%m-%d %H:%M} UTC)")
    if phrase := excluded_phrase(controls, article):
        return reasons, f"excluded here: contains “{phrase}”"
    if mutes := controls.active_mutes(now):
        unmuted_result = narrow(result, lambda kind, name: controls.muted(kind, name, now) is None)
        unmuted = fires(unmuted_result)
        if not unmuted:
            hit = [m for m in mutes if m.name in (*result.companies, *result.topics)] or mutes
            names = ", ".join(sorted({m.name for m in hit}))
            until = max(m.until for m in hit)
            return reasons, f"muted here: {names} until {until:%Y-%m-%d %H:%M} UTC"
        reasons, result = unmuted, unmuted_result
    if controls.prominent_only and result.companies:
        shown = prominent(result, article.text)
        kept = fires(narrow(result, lambda kind, name: kind == "topic" or name in shown))
        if not kept:
            return reasons, ("prominent_only: " + ", ".join(result.companies)
                             + " only mentioned in passing (not in the title or first paragraph)")
        reasons = kept
    return reasons, None


def subscription_fires(subs: tuple[Subscription, ...],
                       fires_one: Callable[[Subscription, MatchResult], bool]
                       ) -> Callable[[MatchResult], tuple[str, ...]]:
    return lambda result: tuple(s.label() for s in subs if fires_one(s, result))


# --- admission at delivery time -------------------------------------------------------------------
def in_quiet(quiet: QuietHours, zone: ZoneInfo, now: datetime) -> bool:
    t = now.astimezone(zone).time()
    if quiet.start < quiet.end:
        return quiet.start <= t < quiet.end
    return t >= quiet.start or t < quiet.end


def _at(zone: ZoneInfo, day: datetime, at: time) -> datetime:
    """Local ``at`` on ``day``'s date, in UTC (a time skipped by DST resolves as zoneinfo does)."""
    return datetime.combine(day.date(), at, tzinfo=zone).astimezone(UTC)


def last_occurrence(zone: ZoneInfo, at: time, now: datetime, weekday: int | None = None
                    ) -> datetime:
    """The latest local ``at`` (on ``weekday`` if given) at or before ``now``, in UTC."""
    today = now.astimezone(zone)
    for back in range(0, 9):
        day = today - timedelta(days=back)
        if weekday is not None and day.weekday() != weekday:
            continue
        when = _at(zone, day, at)
        if when <= now:
            return when
    raise AssertionError("unreachable: a week always has the day")  # pragma: no cover


def next_occurrence(zone: ZoneInfo, at: time, now: datetime, weekday: int | None = None
                    ) -> datetime:
    today = now.astimezone(zone)
    for ahead in range(0, 9):
        day = today + timedelta(days=ahead)
        if weekday is not None and day.weekday() != weekday:
            continue
        when = _at(zone, day, at)
        if when > now:
            return when
    raise AssertionError("unreachable")  # pragma: no cover


def last_digest(schedule: Schedule, zone: ZoneInfo, now: datetime) -> datetime:
    return last_occurrence(zone, schedule.at, now, schedule.weekday)


def admit(controls: ChannelControls, now: datetime, sent_this_hour: int) -> str | None:
    """None: post it now. Otherwise why it waits (stored with the row; starts with HELD_*)."""
    if controls.digest is not None:
        nxt = next_occurrence(controls.zone, controls.digest.at, now, controls.digest.weekday)
        return (f"{HELD_DIGEST}: in the {controls.digest} {controls.timezone} digest "
                f"({nxt:%Y-%m-%d %H:%M} UTC)")
    if controls.quiet is not None and in_quiet(controls.quiet, controls.zone, now):
        end = next_occurrence(controls.zone, controls.quiet.end, now)
        return (f"{HELD_QUIET}: {controls.quiet} {controls.timezone}, posted when they end "
                f"({end:%Y-%m-%d %H:%M} UTC)")
    if controls.cap is not None and sent_this_hour >= controls.cap:
        return (f"{HELD_CAP} of {controls.cap} alert(s)/hour: in the next digest "
                f"({hour_start(now) + timedelta(hours=1):%H:%M} UTC)")
    return None


def hour_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def flush_slot(controls: ChannelControls, now: datetime) -> datetime | None:
    """Alerts held before the returned moment are due now (None: nothing is due yet)."""
    if controls.digest is not None:
        return last_digest(controls.digest, controls.zone, now)
    if controls.quiet is not None and in_quiet(controls.quiet, controls.zone, now):
        return None
    slots = []
    if controls.quiet is not None:
        slots.append(last_occurrence(controls.zone, controls.quiet.end, now))
    if controls.cap is not None:
        slots.append(hour_start(now))
    if not slots:  # the controls that held them were turned off: let them go
        return now.astimezone(UTC).replace(second=0, microsecond=0)
    return max(slots)


def as_digest(controls: ChannelControls, held_reasons: list[str]) -> bool:
    """One digest message, or each held alert on its own? Quiet hours with few alerts: alone."""
    if controls.digest is not None:
        return True
    only_quiet = all(r.startswith(HELD_QUIET) for r in held_reasons)
    return not (only_quiet and len(held_reasons) <= controls.quiet_digest_over)
