"""`preview TEXT_OR_URL` and `preview company NAME`: the alerts this channel would get, and why.

The alerts are made by the pipeline's own pure steps (matcher, summariser, ``route`` and
``build_alert``) with the same settings as the poller, so a preview is exactly what would be posted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from ..errors import CommandError
from ..models import Alert, Article, Destination, MatchResult, Subscription, Watchlist
from ..pipeline.dedup import canonical_url
from ..pipeline.match import Matcher, compile_watchlist
from ..pipeline.route import build_alert, route
from ..pipeline.summarise import summarise
from ..poller import SUMMARY_CHARS, SUMMARY_SENTENCES
from ..storage.chat import StoredArticle
from ..textutil import truncate
from .base import Ctx, find_company, short
from .grammar import Preview
from .subscriptions import channel
from .types import Reply

PREVIEW_FEED = "preview"
TITLE_CHARS = 100


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the pipeline makes of one article for one channel."""

    result: MatchResult
    reasons: tuple[str, ...]  # the channel's subscriptions that fire (empty: not routed here)
    alert: Alert | None  # built whenever something matched, routed or not


def judge(article: Article, feed_title: str, matcher: Matcher, dest: Destination) -> Verdict:
    result = matcher.match(article.title, article.text)
    if not result:
        return Verdict(result, (), None)
    routes = route(result, [Destination(dest.id, dest.tenant, dest.address, dest.subscriptions)])
    reasons = routes[0][1] if routes else ()
    summary = summarise(article.title, article.text, matches=result.matches,
                        max_sentences=SUMMARY_SENTENCES, max_chars=SUMMARY_CHARS,
                        lang=article.lang)
    return Verdict(result, reasons, build_alert(article, feed_title, result, summary, dest,
                                                reasons))


def explain_match(result: MatchResult) -> str:
    """'Nvidia (via “NVDA” in the text), Funding (via “invest*” in the title)'."""
    seen: dict[tuple[str, str], str] = {}
    for m in result.matches:
        seen.setdefault((m.kind, m.name), f"{m.name} (via {short(m.alias, 40)} in the {m.field})")
    return ", ".join(seen.values())


def explain_route(verdict: Verdict, dest: Destination) -> str:
    if verdict.reasons:
        return "This channel gets it under: " + ", ".join(verdict.reasons) + "."
    if not dest.subscriptions:
        return "This channel has no subscriptions, so nothing would be posted here."
    subs = ", ".join(s.label() for s in dest.subscriptions[:10])
    return f"None of this channel's subscriptions ({subs}) fires for it."


def text_article(text: str) -> Article:
    return Article(key="preview", story="preview", feed_url="", url=None,
                   title=truncate(text, TITLE_CHARS), text=text)


async def find_stored(ctx: Ctx, url: str) -> list[StoredArticle]:
    canon = canonical_url(url)
    return await ctx.storage.find_articles(ctx.tenant, list({url, canon}), [f"url:{canon}"])


async def preview(ctx: Ctx, cmd: Preview) -> Reply:
    if cmd.company is not None:
        return await preview_company(ctx, cmd.company)
    watchlist = await ctx.storage.watchlist(ctx.tenant)
    dest = await channel(ctx)
    if cmd.url is not None:
        stored = await find_stored(ctx, cmd.url)
        if not stored:
            raise CommandError("No stored article has that URL in this workspace's feeds. "
                               "Paste its text instead: /news preview TEXT.")
        article, feed_title = stored[0].article, stored[0].feed_title
    else:
        article, feed_title = text_article(cmd.text), PREVIEW_FEED
    verdict = judge(article, feed_title, compile_watchlist(watchlist), dest)
    if verdict.alert is None:
        return Reply(f"No watched company or topic found ({len(watchlist.companies)} companies "
                     f"and {len(watchlist.topics)} topics watched here).")
    text = f"Matched {explain_match(verdict.result)}.\n{explain_route(verdict, dest)}"
    return Reply(text, alerts=(verdict.alert,))


def _company_alerts(stored: Sequence[StoredArticle], watchlist: Watchlist, name: str,
                    dest: Destination, limit: int) -> tuple[int, list[Alert]]:
    """How many stories mention ``name``, and the alerts of the newest ``limit`` of them."""
    matcher = compile_watchlist(watchlist)
    sub_dest = Destination(dest.id, dest.tenant, dest.address, (Subscription(company=name),))
    stories: set[str] = set()
    alerts: list[Alert] = []
    for item in stored:
        if item.article.story in stories:
            continue
        result = matcher.match(item.article.title, item.article.text)
        if name not in result.companies:
            continue
        stories.add(item.article.story)
        if len(alerts) < limit:
            verdict = judge(item.article, item.feed_title, matcher, sub_dest)
            if verdict.alert is not None:
                alerts.append(verdict.alert)
    return len(stories), alerts


async def preview_company(ctx: Ctx, name: str) -> Reply:
    watchlist = await ctx.storage.watchlist(ctx.tenant)
    company = find_company(watchlist, name)
    days = ctx.limits.preview_days
    stored = await ctx.storage.recent_articles(ctx.tenant, ctx.now - timedelta(days=days),
                                               ctx.limits.preview_scan)
    dest = await channel(ctx)
    found, alerts = _company_alerts(stored, watchlist, company.name, dest,
                                    ctx.limits.preview_alerts)
    if not found:
        return Reply(f"None of the {len(stored)} article(s) stored from this workspace's feeds in "
                     f"the last {days} days mentions {company.name}.")
    more = f"; the newest {len(alerts)} below" if found > len(alerts) else ""
    return Reply(f"In the last {days} days, {found} article(s) from this workspace's feeds would "
                 f"have alerted a subscription to {company.name}{more}.", alerts=tuple(alerts))
