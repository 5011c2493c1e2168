"""Matched article -> alerts, and one poll's caps. Pure: data in, data out (no I/O, no clock).

``plan_alerts`` is the pipeline's match -> route -> summarise -> build_alert for a batch of
articles (the poller runs it in a worker thread: matching and summarising a big poll is CPU
work). ``alert_for`` is the same for one article and one destination (preview and why).
``cap_poll`` bounds what one poll stores: at most ``max_entries`` new articles and about
``max_alerts`` alerts; the rest is left for the next poll (nothing is lost: an article not stored
now is still new next time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.alert import Alert, Destination, MatchResult, Summary
from bot.domain.article import Article
from bot.pipeline.match import Matcher
from bot.pipeline.route import build_alert, route, route_screened
from bot.pipeline.summarise import summarise

SUMMARY_SENTENCES = 3
SUMMARY_CHARS = 600


@dataclass(frozen=True, slots=True)
class PlannedAlert:
    article_key: str
    destination_id: int
    alert: Alert
    filtered: str | None = None  # the channel's controls keep it from posting (why)


@dataclass(frozen=True, slots=True)
class PollPlan:
    articles: tuple[Article, ...]  # to store now
    alerts: tuple[PlannedAlert, ...]  # to queue now
    deferred: int  # new articles left for a later poll


def summary_for(article: Article, result: MatchResult) -> Summary:
    return summarise(article.title, article.text, matches=result.matches,
                     max_sentences=SUMMARY_SENTENCES, max_chars=SUMMARY_CHARS, lang=article.lang)


def alert_for(article: Article, feed_title: str, result: MatchResult, dest: Destination,
              reasons: tuple[str, ...]) -> Alert:
    return build_alert(article, feed_title, result, summary_for(article, result), dest, reasons)


def plan_alerts(matcher: Matcher, destinations: Sequence[Destination], feed_title: str,
                candidates: Sequence[Article], now: datetime | None = None, *,
                backfill: bool = False) -> tuple[PlannedAlert, ...]:
    """Every alert the candidates produce for these destinations, in the candidates' order.

    With ``now``, each channel's controls screen them (bot/pipeline/controls.py): an alert a
    channel does not want (too old, muted, excluded, not prominent) carries the reason; a new
    follow's ``backfill`` is not held to the age gate."""
    out: list[PlannedAlert] = []
    for article in candidates:
        result = matcher.match(article.title, article.text)
        routes = (route_screened(article, result, destinations, now, backfill=backfill)
                  if now is not None else
                  tuple((dest, reasons, None) for dest, reasons in route(result, destinations)))
        if not routes:
            continue
        summary = summary_for(article, result)
        out += [PlannedAlert(article.key, dest.id,
                             build_alert(article, feed_title, result, summary, dest, reasons),
                             filtered)
                for dest, reasons, filtered in routes]
    return tuple(out)


def cap_poll(fresh: Sequence[Article], planned: Sequence[PlannedAlert], max_alerts: int
             ) -> PollPlan:
    """Keep articles in order while their alerts fit in ``max_alerts``; defer the rest.

    Alerts for articles that are not new (a new follow's backfill) always count. The first
    new article is always kept, however many alerts it has, so a poll always makes progress.
    The alerts keep the order of ``planned``.
    """
    new_keys = {a.key for a in fresh}
    per_key: dict[str, int] = {}
    for p in planned:
        per_key[p.article_key] = per_key.get(p.article_key, 0) + 1
    total = sum(n for key, n in per_key.items() if key not in new_keys)
    kept = len(fresh)
    for i, article in enumerate(fresh):
        mine = per_key.get(article.key, 0)
        if i and mine and total + mine > max_alerts:
            kept = i
            break
        total += mine
    dropped = {a.key for a in fresh[kept:]}
    return PollPlan(tuple(fresh[:kept]), tuple(p for p in planned if p.article_key not in dropped),
                    len(fresh) - kept)
