"""Every entry of the hostile and real-world feed corpora, rendered for Slack and Discord.

Each entry is parsed with ``bot.pipeline.parse.parse_feed`` and turned into an Alert whose every
text field carries feed text (title, summary, feed name, company/topic names, evidence); hostile
files are also read raw with feedparser (undecoded links such as ``javascript:``, HTML summaries)
so the renderers are tested on text the parser would have cleaned. Both payloads must pass the same
checks as the unit tests: slack_sdk validation, every Discord limit, no live mention, http(s) only.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest

from bot.domain.alert import Alert, Match
from bot.domain.article import Entry
from bot.domain.errors import ParseError
from bot.pipeline.parse import parse_feed
from bot.render.discord_embed import render_discord
from bot.render.slack_blocks import render_slack

try:  # the shared checks live beside the unit tests
    from tests.test_render_discord import assert_discord_ok
    from tests.test_render_slack import assert_slack_ok
except ImportError:  # pragma: no cover - rootdir not on sys.path
    from test_render_discord import assert_discord_ok  # type: ignore[no-redef]
    from test_render_slack import assert_slack_ok  # type: ignore[no-redef]

CORPORA = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"
SETS = ("hostile", "realfeeds")
NOT_FEEDS = {"README.md", "BASELINE.jsonl", "LICENSE"}
# parse.py asks feedparser for "updated_parsed" when "published_parsed" is None, which makes
# feedparser warn about its issue-310 fallback; that is the parser's business, not rendering's.
FEEDPARSER_310 = pytest.mark.filterwarnings(
    "ignore:To avoid breaking existing software:DeprecationWarning")


def _corpus_files() -> list[Any]:
    files = [
        p for name in SETS if (CORPORA / name).is_dir()
        for p in sorted((CORPORA / name).rglob("*")) if p.is_file() and p.name not in NOT_FEEDS
    ]
    if not files:
        reason = f"feed corpora not found at {CORPORA.resolve()} (hostile/, realfeeds/)"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="corpora-absent")]
    return [pytest.param(p, id=str(p.relative_to(CORPORA))) for p in files]


def _words(text: str) -> list[str]:
    return [w for w in text.split() if len(w) >= 4]


def _alert(feed: str, title: str, text: str, url: str | None,
           published: datetime | None) -> Alert:
    """An alert made only of feed text: names and evidence come from the entry itself."""
    words = _words(title) or _words(text) or ["none"]
    term = max(words, key=len)
    sentence = title if term in title else text
    start = sentence.find(term)
    evidence = (
        Match("company", term, term.lower(), "title", start, start + len(term), sentence),
        Match("topic", "Funding", "fund*", "text", 0, 0, text[:5000]),
    )
    return Alert(
        destination="test", feed=feed, url=url, title=title, published=published,
        companies=(term, title, *words[:30]), topics=("Funding", feed, *_words(text)[:30]),
        summary=text, evidence=evidence, reasons=(term, f"{term} + Funding"),
    )


def _parsed_alerts(body: bytes, path: Path) -> list[Alert]:
    try:
        feed = parse_feed(body, url="https://feeds.example.com/" + path.name)
    except ParseError:
        return []  # not a feed at all (e.g. an HTML page): nothing would be alerted
    name = feed.title or path.name
    return [_alert(name, e.title, e.text, e.url, e.published) for e in feed.entries]


def _raw_alerts(body: bytes) -> list[Alert]:
    """Entries straight from feedparser: decoded titles, raw links, HTML summaries."""
    result = feedparser.parse(io.BytesIO(body))
    name = str(result.feed.get("title", ""))
    alerts = []
    for e in result.entries:
        text = str(e.get("summary", "")) + " " + " ".join(
            str(c.get("value", "")) for c in e.get("content", []))
        alerts.append(_alert(name, str(e.get("title", "")), text, e.get("link"),
                             datetime(2024, 1, 1, tzinfo=UTC)))
    return alerts


def _entry_count(path: Path) -> int:
    return len(_parsed_alerts(path.read_bytes(), path))


@FEEDPARSER_310
@pytest.mark.parametrize("path", _corpus_files())
def test_every_entry_renders_safely_on_both_platforms(path: Path) -> None:
    body = path.read_bytes()
    alerts = _parsed_alerts(body, path)
    if path.parent.name == "hostile":
        alerts += _raw_alerts(body)
    for alert in alerts:
        assert_slack_ok(render_slack(alert))
        assert_discord_ok(render_discord(alert))


@FEEDPARSER_310
def test_the_corpora_are_not_trivially_empty() -> None:
    files = [p.values[0] for p in _corpus_files() if p.values[0] is not None]
    if not files:
        pytest.skip(f"feed corpora not found at {CORPORA.resolve()}")
    assert sum(_entry_count(p) for p in files) > 200


def test_mention_injection_entry_is_shown_but_inert() -> None:
    path = CORPORA / "hostile" / "mention_injection.rss"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    entry_alerts = _raw_alerts(path.read_bytes())
    slack = render_slack(entry_alerts[0])
    header = slack["blocks"][0]["text"]["text"]
    assert "&lt;!here&gt; &lt;!channel&gt;" in header and "&lt;@U12345&gt;" in header
    assert all(b["type"] != "actions" for b in slack["blocks"])  # javascript: link dropped
    embed = render_discord(entry_alerts[0])["embeds"][0]
    assert "@\u200beveryone" in embed["title"] and "url" not in embed
    piped = render_slack(entry_alerts[2])["blocks"][-1]["elements"][0]["url"]
    assert piped == "https://example.com/a%7Cb%3Ec%3Cd?x=1&y=2"


def test_entry_type_is_what_the_parser_returns() -> None:
    # guards the adapter above: if Entry grows or renames fields, this test says so first
    assert {"title", "text", "url", "published"} <= set(Entry.__slots__)
