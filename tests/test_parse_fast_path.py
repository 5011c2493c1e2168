"""The fast parse path (feedparser without its HTML sanitiser, and without resolving relative
URIs inside HTML bodies) gives exactly what the careful path gives: same entries, titles,
links, texts, dates, and the same dedup keys and stories, over every file of ../shared/corpora
(feedparser's own test data, the real feeds, the hostile files). A document on which the two
could differ (``needs_sanitiser``) keeps the careful path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPORA

from bot.domain.errors import ParseError
from bot.pipeline.keys import to_articles
from bot.pipeline.parse import needs_sanitiser, parse_feed

NOT_FEEDS = {"LICENSE", "README.md", "BASELINE.jsonl", "MANIFEST.jsonl"}


def corpus() -> list[Any]:
    files: list[Any] = []
    manifest = CORPORA / "feedparser" / "MANIFEST.jsonl"
    if manifest.is_file():
        for line in manifest.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                kind = next((v for k, v in row["http_headers"] if k.lower() == "content-type"),
                            None)
                files.append(pytest.param(CORPORA / "feedparser" / row["path"],
                                          f"http://127.0.0.1:8097/{row['path']}", kind,
                                          id=f"feedparser/{row['path']}"))
    for root in ("realfeeds", "hostile"):
        if (CORPORA / root).is_dir():
            files += [pytest.param(p, "https://feeds.example/feed", None,
                                   id=str(p.relative_to(CORPORA)))
                      for p in sorted((CORPORA / root).rglob("*"))
                      if p.is_file() and p.name not in NOT_FEEDS]
    return files or [pytest.param(None, None, None, marks=pytest.mark.skip(
        reason=f"corpora not present at {CORPORA}"))]


def outcome(body: bytes, url: str, kind: str | None, careful: bool | None) -> Any:
    try:
        feed = parse_feed(body, url=url, content_type=kind, careful=careful)
    except ParseError as exc:
        return f"ParseError: {exc}"
    return feed, to_articles(url, feed.entries)


@pytest.mark.parametrize(("path", "url", "kind"), corpus())
def test_the_default_path_gives_what_the_careful_path_gives(path: Path, url: str,
                                                            kind: str | None) -> None:
    body = path.read_bytes()
    assert outcome(body, url, kind, None) == outcome(body, url, kind, True)


def test_most_real_feeds_take_the_fast_path() -> None:
    """(Else the differential test above would compare the careful path with itself.)"""
    real = [p for p in sorted((CORPORA / "realfeeds").rglob("*"))
            if p.is_file() and p.name not in NOT_FEEDS]
    if not real:
        pytest.skip(f"corpora not present at {CORPORA}")
    fast = [p.name for p in real if not needs_sanitiser(p.read_bytes())]
    assert len(fast) >= len(real) * 2 // 3, fast


@pytest.mark.parametrize("markup", [
    "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<![CDATA[<p>a<!-- hidden --></p>]]>", "&lt;iframe src=x&gt;", "a <> b",
])
def test_markup_the_two_paths_could_read_differently_keeps_the_sanitiser(markup: str) -> None:
    body = (f"<rss version='2.0'><channel><title>t</title><item><title>x</title>"
            f"<description>{markup}</description></item></channel></rss>").encode()
    assert needs_sanitiser(body)


def test_an_ordinary_feed_with_comments_around_it_takes_the_fast_path() -> None:
    body = (b"<?xml version='1.0'?>\n<!-- generator: x -->\n<rss version='2.0'><channel>"
            b"<title>t</title><item><title>x</title><description><![CDATA[<p>A <b>b</b> "
            b"<a href='/rel'>c</a></p>]]></description></item></channel></rss><!-- ph=1 -->")
    assert not needs_sanitiser(body)
    assert parse_feed(body, url="https://e.example/f").entries[0].text == "A b c"
