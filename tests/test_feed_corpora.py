"""Every feed in ../shared/corpora through parse_feed and to_articles.

- realfeeds/: entry counts match BASELINE.jsonl (feedparser 6.0.14 on the same bytes); the JSON
  Feed files, which feedparser cannot read, must yield their items through our JSON parser.
- hostile/: XXE not resolved, billion laughs not expanded, javascript:/file: links dropped, long
  unicode intact, duplicate guids collapsed.
- feedparser/ (its own test data, BSD licence, read in place): nothing crashes; every file either
  parses or raises ParseError.
The corpora are read where they are, never copied; the tests skip when they are absent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import feedparser
import pytest

from bot.domain.article import ParsedFeed
from bot.domain.errors import ParseError
from bot.pipeline.keys import to_articles
from bot.pipeline.parse import MAX_TEXT, MAX_TITLE, parse_feed

CORPORA = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora"
REALFEEDS = CORPORA / "realfeeds"
HOSTILE = CORPORA / "hostile"
FEEDPARSER = CORPORA / "feedparser"
NOT_FEEDS = {"LICENSE", "README.md", "BASELINE.jsonl", "MANIFEST.jsonl"}


def rows(manifest: Path) -> list[dict[str, Any]]:
    if not manifest.is_file():
        return []
    return [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]


def need(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"corpus not present at {path.resolve()} (../shared/corpora next to the "
                    "checkout); these tests read it in place")


def params(manifest: Path) -> list[Any]:
    found = rows(manifest)
    if not found:
        return [pytest.param(None, marks=pytest.mark.skip(
            reason=f"corpus manifest {manifest} not present"))]
    return [pytest.param(row, id=row["path"]) for row in found]


def all_files(root: Path) -> Iterator[Path]:
    if root.is_dir():
        yield from sorted(p for p in root.rglob("*") if p.is_file() and p.name not in NOT_FEEDS)


def check_invariants(feed: ParsedFeed, feed_url: str) -> None:
    """What downstream steps rely on, whatever the feed looked like."""
    for entry in feed.entries:
        assert entry.url is None or entry.url.startswith(("http://", "https://"))
        assert entry.published is None or entry.published.tzinfo == UTC
        assert len(entry.title) <= MAX_TITLE and len(entry.text) <= MAX_TEXT
        assert entry.guid is None or (entry.guid and entry.guid == entry.guid.strip())
    articles = to_articles(feed_url, feed.entries)
    assert len({a.key for a in articles}) == len(articles)


def parse_file(path: Path, url: str, content_type: str | None = None) -> ParsedFeed:
    feed = parse_feed(path.read_bytes(), url=url, content_type=content_type)
    check_invariants(feed, url)
    return feed


# --- realfeeds --------------------------------------------------------------------------------
@pytest.mark.parametrize("row", params(REALFEEDS / "BASELINE.jsonl"))
def test_realfeeds_match_baseline(row: dict[str, Any]) -> None:
    path = REALFEEDS / row["path"]
    body = path.read_bytes()
    assert hashlib.sha256(body).hexdigest() == row["sha256"], f"{path} changed since BASELINE"
    url = f"https://feeds.example/{row['path']}"
    if path.suffix == ".json":
        items = json.loads(body)["items"]
        feed = parse_file(path, url, "application/feed+json")
        assert len(feed.entries) == len(items) > 0
        assert all(e.title or e.text for e in feed.entries)
    elif row["entries"] == 0 and not row["version"]:
        with pytest.raises(ParseError, match="not a feed"):
            parse_feed(body, url=url)
    else:
        feed = parse_file(path, url)
        assert len(feed.entries) == row["entries"]
        assert feed.bozo == row["bozo_exception"]
        assert sum(e.guid is None for e in feed.entries) == row["entries_missing_id"]


def test_every_realfeeds_file_goes_through() -> None:
    need(REALFEEDS)
    files = list(all_files(REALFEEDS))
    assert files
    for path in files:
        with contextlib.suppress(ParseError):
            parse_file(path, "https://feeds.example/x")


# --- hostile ----------------------------------------------------------------------------------
def hostile(name: str) -> ParsedFeed:
    need(HOSTILE / name)
    return parse_file(HOSTILE / name, "https://hostile.example/feed")


def raw_entries(name: str) -> list[Any]:
    """feedparser's own view of a hostile file (given a stream: never a path or bytes)."""
    with (HOSTILE / name).open("rb") as stream:
        return list(feedparser.parse(stream).entries)


def all_text(feed: ParsedFeed) -> str:
    return "\n".join([feed.title] + [f"{e.title}\n{e.text}" for e in feed.entries])


def test_hostile_counts_match_baseline() -> None:
    need(HOSTILE / "BASELINE.jsonl")
    for row in rows(HOSTILE / "BASELINE.jsonl"):
        assert len(hostile(row["path"]).entries) == row["entries"], row["path"]


def test_xxe_system_entity_is_not_resolved() -> None:
    feed = hostile("xxe_system_entity.xml")
    assert feed.entries and "&xxe;" in feed.entries[0].title


def test_xxe_parameter_entity_is_not_fetched() -> None:
    need(HOSTILE / "xxe_parameter_entity.xml")
    listener = socket.socket()
    try:
        listener.bind(("127.0.0.1", 9))  # the port the hostile DTD points at
    except OSError as exc:
        listener.close()
        pytest.skip(f"cannot listen on 127.0.0.1:9 to watch for the XXE fetch ({exc})")
    with listener:
        listener.listen(1)
        listener.setblocking(False)
        feed = hostile("xxe_parameter_entity.xml")
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected
    assert [e.guid for e in feed.entries] == ["urn:test:xxe-2"]


def test_billion_laughs_is_not_expanded() -> None:
    feed = hostile("billion_laughs.xml")
    assert len(all_text(feed)) < 10_000


def test_javascript_and_file_links_are_dropped() -> None:
    feed = hostile("mention_injection.rss")
    raw_links = [e.get("link", "") for e in raw_entries("mention_injection.rss")]
    assert any(link.startswith("javascript:") for link in raw_links)
    assert any(link.startswith("file:") for link in raw_links)
    for entry, raw_link in zip(feed.entries, raw_links, strict=True):
        if not raw_link.startswith(("http://", "https://")):
            assert entry.url is None
        else:
            assert entry.url is not None and not set("|<>") & set(entry.url)


def test_long_unicode_is_intact() -> None:
    feed = hostile("long_unicode.rss")
    raw = raw_entries("long_unicode.rss")[0]
    assert feed.entries[0].title == " ".join(raw["title"].split())
    assert len(feed.entries[0].title) == 401
    text = feed.entries[0].text
    assert "\u202e" in text and "\U0001f1fa\U0001f1e6" in text and "e\u0301\u0301" in text


def test_long_unicode_keeps_zwj_sequences() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
    assert family in hostile("long_unicode.rss").entries[0].text


def test_duplicate_guids_keep_the_first() -> None:
    feed = hostile("duplicate_guids.rss")
    articles = to_articles("https://hostile.example/feed", feed.entries)
    assert len(articles) == len(feed.entries) - 1
    assert articles[0].title == feed.entries[0].title
    assert all(not a.key.endswith(" ") for a in articles)


def test_entries_without_ids_get_distinct_content_keys() -> None:
    feed = hostile("no_ids.rss")
    articles = to_articles("https://hostile.example/feed", feed.entries)
    assert len(articles) == len(feed.entries) == 5
    assert all(a.key.startswith("hash:") for a in articles)
    assert all(e.published is None for e in feed.entries)


# --- feedparser's own test data ---------------------------------------------------------------
@pytest.mark.parametrize("row", params(FEEDPARSER / "MANIFEST.jsonl"))
def test_feedparser_corpus_parses_or_raises_parse_error(row: dict[str, Any]) -> None:
    path = FEEDPARSER / row["path"]
    content_type = next((v for k, v in row["http_headers"] if k.lower() == "content-type"), None)
    try:
        feed = parse_file(path, f"http://127.0.0.1:8097/{row['path']}", content_type)
    except ParseError:
        return
    if row["path"].endswith(".json"):
        assert len(feed.entries) == 2
