"""`preview TEXT_OR_URL` and `preview company NAME`: the alerts this channel would get, and why.

The alerts are made by the pipeline's own pure steps (matcher, summariser, ``route`` and
``build_alert``) with the same settings as the poller, so a preview is exactly what would be posted.

Matching and summarising are CPU work: they run in a worker thread, never on the event loop (the
bot stays responsive while a preview runs). ``preview company`` reads the stored articles page by
page, newest first, and stops after ``Limits.preview_scan`` articles or ``SCAN_BYTES`` of text;
the reply says when it stopped early.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.chat.base import Ctx, find_company, short
from bot.chat.parsed import Preview
from bot.chat.subscriptions import channel
from bot.chat.types import Reply
from bot.domain.alert import Alert, Destination, MatchResult, Subscription
from bot.domain.article import Article
from bot.domain.errors import CommandError
from bot.domain.watchlist import Watchlist
from bot.jobs.compile import compile_off_loop
from bot.pipeline.alerts import alert_for
from bot.pipeline.evidence import EVIDENCE_MAX, Reading, explain_lines, reading
from bot.pipeline.keys import canonical_url
from bot.pipeline.match import Matcher
from bot.pipeline.route import route
from bot.storage.records import StoredArticle
from bot.text.truncate import truncate

PREVIEW_FEED = "preview"
TITLE_CHARS = 100
SCAN_PAGE = 200  # stored articles read (and matched off the loop) at a time
SCAN_BYTES = 50_000_000  # characters of stored text one `preview company` examines at most


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the pipeline makes of one article for one channel."""

    result: MatchResult
    reasons: tuple[str, ...]  # the channel's subscriptions that fire (empty: not routed here)
    alert: Alert | None  # built whenever something matched, routed or not
    # with ``explain``: each occurrence of an ambiguous company name, counted or not, and why
    readings: tuple[Reading, ...] = ()


def judge(article: Article, feed_title: str, matcher: Matcher, dest: Destination, *,
          explain: bool = False) -> Verdict:
    result = matcher.match(article.title, article.text)
    readings = (tuple(reading(s) for s in matcher.explain(article.title, article.text))
                if explain else ())
    if not result:
        return Verdict(result, (), None, readings)
    routes = route(result, [Destination(dest.id, dest.tenant, dest.address, dest.subscriptions)])
    reasons = routes[0][1] if routes else ()
    return Verdict(result, reasons, alert_for(article, feed_title, result, dest, reasons),
                   readings)


async def judge_off_loop(article: Article, feed_title: str, watchlist: Watchlist,
                         dest: Destination) -> Verdict:
    """``judge``, explained, with the watchlist compiled and the article matched in a worker
    thread."""
    matcher = await compile_off_loop(watchlist)
    return await asyncio.to_thread(lambda: judge(article, feed_title, matcher, dest,
                                                 explain=True))


def explain_match(result: MatchResult) -> str:
    """'Nvidia (via “NVDA” in the text), Funding (via “invest*” in the title)'."""
    seen: dict[tuple[str, str], str] = {}
    for m in result.matches:
        seen.setdefault((m.kind, m.name), f"{m.name} (via {short(m.alias, 40)} in the {m.field})")
    return ", ".join(seen.values())


def explain_evidence(readings: Sequence[Reading]) -> str:
    """For ambiguous company names: which cues decided, per company ("" when there were none)."""
    lines = explain_lines(list(readings), EVIDENCE_MAX - 40)  # the block, bullets too: 1,000
    return ("Ambiguous names:\n" + "\n".join(f"• {line}" for line in lines)) if lines else ""


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
    verdict = await judge_off_loop(article, feed_title, watchlist, dest)
    evidence = explain_evidence(verdict.readings)
    if verdict.alert is None:
        return Reply("\n".join(filter(None, (
            f"No watched company or topic found ({len(watchlist.companies)} companies and "
            f"{len(watchlist.topics)} topics watched here).", evidence))))
    text = "\n".join(filter(None, (f"Matched {explain_match(verdict.result)}.", evidence,
                                    explain_route(verdict, dest))))
    return Reply(text, alerts=(verdict.alert,))


@dataclass(slots=True)
class CompanyScan:
    """`preview company` over stored articles, one page at a time (``add`` runs off the loop)."""

    matcher: Matcher
    name: str
    dest: Destination  # the channel, subscribed to just this company
    limit: int  # alerts kept
    scanned: int = 0
    chars: int = 0
    stories: set[str] = field(default_factory=set)
    alerts: list[Alert] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)  # the company's, in the alerts kept

    def add(self, page: Sequence[StoredArticle]) -> None:
        for item in page:
            self.scanned += 1
            self.chars += len(item.article.text) + len(item.article.title)
            if item.article.story in self.stories:
                continue
            result = self.matcher.match(item.article.title, item.article.text)
            if self.name not in result.companies:
                continue
            self.stories.add(item.article.story)
            if len(self.alerts) < self.limit:
                verdict = judge(item.article, item.feed_title, self.matcher, self.dest,
                                explain=True)
                if verdict.alert is not None:
                    self.alerts.append(verdict.alert)
                    self.readings += [r for r in verdict.readings if r.name == self.name]


async def scan_company(ctx: Ctx, scan: CompanyScan, since: datetime) -> bool:
    """Feed ``scan`` the tenant's stored articles seen since ``since``, newest first; False when
    it stopped at the article or text budget with articles left unexamined."""
    cursor: tuple[datetime, int] | None = None
    while True:
        left = ctx.limits.preview_scan - scan.scanned
        budget_left = left > 0 and scan.chars < SCAN_BYTES
        page = await ctx.storage.recent_articles(ctx.tenant, since,
                                                 min(SCAN_PAGE, left) if budget_left else 1,
                                                 older_than=cursor)
        if not page:
            return True
        if not budget_left:
            return False
        await asyncio.to_thread(scan.add, page)
        cursor = (page[-1].seen_at, page[-1].row_id)


async def preview_company(ctx: Ctx, name: str) -> Reply:
    watchlist = await ctx.storage.watchlist(ctx.tenant)
    company = await asyncio.to_thread(find_company, watchlist, name)  # (100k names: off-loop)
    days = ctx.limits.preview_days
    dest = await channel(ctx)
    sub_dest = Destination(dest.id, dest.tenant, dest.address,
                           (Subscription(company=company.name),))
    scan = CompanyScan(await compile_off_loop(watchlist), company.name, sub_dest,
                       ctx.limits.preview_alerts)
    complete = await scan_company(ctx, scan, ctx.now - timedelta(days=days))
    partial = "" if complete else (
        f" (only the newest {scan.scanned} stored article(s) were checked: a preview examines "
        f"at most {ctx.limits.preview_scan} articles or {SCAN_BYTES // 1_000_000} MB of text)")
    found, alerts = len(scan.stories), scan.alerts
    if not found:
        return Reply(f"None of the {scan.scanned} article(s) stored from this workspace's feeds "
                     f"in the last {days} days mentions {company.name}{partial}.")
    more = f"; the newest {len(alerts)} below" if found > len(alerts) else ""
    text = (f"In the last {days} days, {found} article(s) from this workspace's feeds would have "
            f"alerted a subscription to {company.name}{partial}{more}.")
    return Reply("\n".join(filter(None, (text, explain_evidence(scan.readings)))),
                 alerts=tuple(alerts))
