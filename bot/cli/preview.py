"""`newsbot preview --platform slack|discord [--watchlist FILE] [ARTICLES.jsonl|-]`.

Prints, one JSON line per matched article, the exact payload that would be sent: for Slack the
``chat.postMessage`` arguments (``text``, ``blocks``, ...; the channel is added at send time), for
Discord the message body (``content``, ``embeds``, ``allowed_mentions``). The destination is a
channel subscribed to any company and to every topic. Input: the JSON lines of `newsbot match`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.cli.jsonl_input import InputArticle, read_articles
from bot.config.settings import Settings
from bot.config.watchlist import load_watchlist
from bot.domain.alert import Alert, Destination, Subscription
from bot.domain.article import Article
from bot.domain.watchlist import Watchlist
from bot.pipeline import alerts
from bot.pipeline.keys import canonical_url
from bot.pipeline.match import Matcher, compile_watchlist
from bot.pipeline.route import route
from bot.render.discord_embed import render_discord
from bot.render.slack_blocks import render_slack

RENDERERS: dict[str, Callable[[Alert], dict[str, Any]]] = {
    "slack": render_slack, "discord": render_discord}
PREVIEW_FEED = "newsbot preview"


def add_preview_parser(subparsers: Any) -> None:
    preview = subparsers.add_parser(
        "preview", help="print the Slack/Discord payload each matched article would be sent as")
    preview.add_argument("--platform", choices=sorted(RENDERERS), required=True)
    preview.add_argument("--watchlist", type=Path,
                         help="watchlist YAML (default: CONFIG_DIR/watchlist.yaml)")
    preview.add_argument("articles", nargs="?", default="-", help="JSONL file, or - for stdin")


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
    for art in read_articles(args.articles, errors):
        alert = alert_for(art, matcher, dest)
        if alert is not None:
            print(json.dumps(render(alert), ensure_ascii=False))
    for error in errors:
        print(f"newsbot: {error}", file=sys.stderr)
    return 1 if errors else 0
