"""Matches x subscriptions -> alerts. Pure: decides who gets what, and why."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.alert import (
    Alert,
    Destination,
    Match,
    MatchResult,
    Subscription,
    Summary,
    display_address,
)
from bot.domain.article import Article
from bot.domain.watchlist import name_key
from bot.pipeline.controls import screen, subscription_fires

MAX_EVIDENCE = 6


def fires(sub: Subscription, result: MatchResult) -> bool:
    """Does this subscription want an article with these matches?"""
    companies = {name_key(c) for c in result.companies}
    topics = {name_key(t) for t in result.topics}
    company_ok = sub.company is None or (
        bool(result.companies) if sub.company == "*" else name_key(sub.company) in companies)
    topic_ok = sub.topic is None or name_key(sub.topic) in topics
    return company_ok and topic_ok


def route(result: MatchResult, destinations: Sequence[Destination]
          ) -> tuple[tuple[Destination, tuple[str, ...]], ...]:
    """Each active destination with at least one firing subscription, with the reasons."""
    if not result:
        return ()
    out = []
    for dest in destinations:
        if not dest.active:
            continue
        reasons = tuple(s.label() for s in dest.subscriptions if fires(s, result))
        if reasons:
            out.append((dest, reasons))
    return tuple(out)


def route_screened(article: Article, result: MatchResult, destinations: Sequence[Destination],
                   now: datetime, *, backfill: bool = False
                   ) -> tuple[tuple[Destination, tuple[str, ...], str | None], ...]:
    """``route`` with each channel's controls: (destination, reasons, why it is filtered out
    there or None). A filtered alert is still queued, as filtered, so ``why`` can tell."""
    out = []
    for dest, _ in route(result, destinations):
        reasons, filtered = screen(dest.controls, article, result,
                                   subscription_fires(dest.subscriptions, fires), now,
                                   backfill=backfill)
        out.append((dest, reasons, filtered))
    return tuple(out)


def pick_evidence(matches: Sequence[Match], limit: int = MAX_EVIDENCE) -> tuple[Match, ...]:
    """The first hit of each company, then of each topic: enough to say why, no more."""
    seen: set[tuple[str, str]] = set()
    picked: list[Match] = []
    for kind in ("company", "topic"):
        for m in matches:
            if m.kind == kind and (kind, m.name) not in seen:
                seen.add((kind, m.name))
                picked.append(m)
    return tuple(picked[:limit])


def build_alert(article: Article, feed_title: str, result: MatchResult, summary: Summary,
                destination: Destination, reasons: tuple[str, ...]) -> Alert:
    return Alert(
        destination=display_address(destination.address),
        feed=feed_title,
        url=article.url,
        title=article.title,
        published=article.published,
        companies=result.companies,
        topics=result.topics,
        summary=summary.text,
        evidence=pick_evidence(result.matches),
        reasons=reasons,
        story=article.story,
        mention=destination.controls.mention_for(reasons),
    )
