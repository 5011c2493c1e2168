"""`newsbot preview [--digest] --platform slack|discord [--watchlist FILE] [ARTICLES.jsonl|-]`.

Prints, one JSON line per matched article, the exact payload that would be sent: for Slack the
``chat.postMessage`` arguments (``text``, ``blocks``, ...; the channel is added at send time), for
Discord the message body (``content``, ``embeds``, ``allowed_mentions``). The destination is a
channel subscribed to any company and to every topic. Input: the JSON lines of `newsbot match`.

With ``--explain``, each payload also says which cues decided each ambiguous company name, as the
chat previews do: one more Slack section block, or one more field of the Discord embed, escaped
for the platform and within its limits (section 3,000, field 1,024 characters); articles where only
rejected occurrences were found are printed too, with the explanation alone.

With ``--digest``, all the matched articles are rendered as the ONE digest message a channel in
digest mode would get, printed as a single JSON object (what does not fit says "+N more").
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.cli.jsonl_input import InputArticle, read_articles
from bot.cli.preview_args import add_preview_parser
from bot.config.settings import Settings
from bot.config.watchlist import load_watchlist
from bot.domain.alert import Alert, Destination, Subscription
from bot.domain.article import Article
from bot.domain.watchlist import Watchlist
from bot.pipeline import alerts
from bot.pipeline.digest import build_digest
from bot.pipeline.evidence import EVIDENCE_MAX, explain_lines, reading
from bot.pipeline.keys import canonical_url
from bot.pipeline.match import Matcher, compile_watchlist
from bot.pipeline.route import route
from bot.render.discord_embed import FIELD_VALUE_MAX, render_discord
from bot.render.escape import clean_text, discord_escape, fit, slack_escape
from bot.render.slack_blocks import SECTION_MAX, render_slack

RENDERERS: dict[str, Callable[[Alert], dict[str, Any]]] = {
    "slack": render_slack, "discord": render_discord}
__all__ = ["add_preview_parser", "cmd_preview"]
PREVIEW_FEED = "newsbot preview"


def preview_destination(platform: str, watchlist: Watchlist) -> Destination:
    subs = (Subscription(company="*"), *(Subscription(topic=t.name) for t in watchlist.topics))
    return Destination(id=0, tenant="preview", address=f"{platform}:preview", subscriptions=subs)


def _published(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def to_article(art: InputArticle) -> Article:
    story = f"url:{canonical_url(art.url)}" if art.url else f"input:{art.id}"
    return Article(key=f"input:{art.id}", story=story, feed_url="", url=art.url,
                   title=art.title, text=art.text, published=_published(art.published),
                   lang=art.lang)


def alert_for(art: InputArticle, matcher: Matcher, dest: Destination) -> Alert | None:
    """The alert the pipeline would queue for ``dest``, or None when nothing routes there."""
    article = to_article(art)
    result = matcher.match(article.title, article.text)
    routes = route(result, [dest])
    if not routes:
        return None
    return alerts.alert_for(article, PREVIEW_FEED, result, dest, routes[0][1])


async def cmd_preview(args: argparse.Namespace, settings: Settings) -> int:
    watchlist = load_watchlist(args.watchlist or settings.config_dir / "watchlist.yaml")
    matcher = compile_watchlist(watchlist)
    dest = preview_destination(args.platform, watchlist)
    render = RENDERERS[args.platform]
    errors: list[str] = []
    if args.digest:
        return print_digest(args, matcher, dest, render)
    for art in read_articles(args.articles, errors):
        alert = alert_for(art, matcher, dest)
        payload = render(alert) if alert is not None else None
        if args.explain:
            payload = with_evidence(args.platform, payload, evidence_text(art, matcher))
        if payload is not None:
            print(json.dumps(payload, ensure_ascii=False))
    for error in errors:
        print(f"newsbot: {error}", file=sys.stderr)
    return 1 if errors else 0


def print_digest(args: argparse.Namespace, matcher: Matcher, dest: Destination,
                 render: Callable[[Alert], dict[str, Any]]) -> int:
    errors: list[str] = []
    matched = [a for art in read_articles(args.articles, errors)
               if (a := alert_for(art, matcher, dest)) is not None]
    slot = datetime.now(UTC).replace(second=0, microsecond=0)
    digest = build_digest(matched, destination=dest.address, slot=slot, label="preview")
    print(json.dumps(render(digest), ensure_ascii=False))
    for error in errors:
        print(f"newsbot: {error}", file=sys.stderr)
    return 1 if errors else 0


def evidence_text(art: InputArticle, matcher: Matcher) -> str:
    """Plain text: one line per ambiguous company and outcome ("" when there is none)."""
    readings = [reading(s) for s in matcher.explain(art.title, art.text)]
    return "\n".join(explain_lines(readings, EVIDENCE_MAX))


def with_evidence(platform: str, payload: dict[str, Any] | None,
                  text: str) -> dict[str, Any] | None:
    """``payload`` with ``text`` added the platform's way, escaped and fitted; a payload of the
    explanation alone when nothing would be posted but something was explained."""
    if not text:
        return payload
    text = clean_text(text)
    if platform == "slack":
        out = dict(payload or {"text": "", "blocks": []})
        section = {"type": "section", "text": {
            "type": "mrkdwn", "verbatim": True,
            "text": "*Why:* " + fit(text, SECTION_MAX - 7, slack_escape)}}
        out["blocks"] = [*out["blocks"], section]
        return out
    out = dict(payload or {"content": "", "embeds": [{}], "allowed_mentions": {"parse": []}})
    embed = dict(out["embeds"][0])
    field = {"name": "Why", "value": fit(text, FIELD_VALUE_MAX, discord_escape), "inline": False}
    embed["fields"] = [*embed.get("fields", []), field]
    out["embeds"] = [embed, *out["embeds"][1:]]
    return out
