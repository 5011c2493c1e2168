"""Stable keys, canonical URLs and in-feed dedup."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.article import Entry
from bot.pipeline.keys import (
    article_key,
    canonical_url,
    content_hash,
    story_key,
    to_articles,
)
from bot.pipeline.parse import parse_feed

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "feeds"


def entry(guid: str | None = None, url: str | None = None, title: str = "T",
          text: str = "body") -> Entry:
    return Entry(guid=guid, url=url, title=title, text=text)


@pytest.mark.parametrize(("url", "expected"), [
    ("HTTPS://Example.COM:443/a/b/?utm_source=x&b=2&a=1&fbclid=z#frag",
     "https://example.com/a/b/?a=1&b=2"),
    ("http://example.com", "http://example.com/"),
    ("http://example.com:80/", "http://example.com/"),
    ("http://example.com:8080/x", "http://example.com:8080/x"),
    ("https://example.com/p?Utm_Medium=rss&UTM_CAMPAIGN=c&gclid=1&mc_cid=2&mc_eid=3&ref=tw",
     "https://example.com/p"),
    ("https://example.com/p?CMP=share_btn&id=7", "https://example.com/p?id=7"),
    ("https://example.com/p?q=a+b", "https://example.com/p?q=a%20b"),
    ("https://example.com/p?q=a%20b", "https://example.com/p?q=a%20b"),
    ("https://example.com/%7euser/%e2%82%ac", "https://example.com/~user/%E2%82%AC"),
    ("https://user:pw@Example.com./p", "https://example.com/p"),
    ("https://example.com/a/", "https://example.com/a/"),  # trailing slash kept off the root
    ("https://example.com/a", "https://example.com/a"),
    ("https://example.com/p?b=&a", "https://example.com/p?a=&b="),
    ("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"),
    ("  https://example.com/x  ", "https://example.com/x"),
    ("ftp://example.com/x", "ftp://example.com/x"),
    ("not a url", "not a url"),
    ("http://example.com:99999/", "http://example.com:99999/"),  # invalid port: left alone
])
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_is_idempotent() -> None:
    once = canonical_url("HTTP://A.example/x/?z=1&utm_term=t&a=%2F#top")
    assert canonical_url(once) == once


def test_article_key_prefers_guid_then_url_then_hash() -> None:
    assert article_key(entry(guid=" g-1 ", url="https://e.example/a")) == "guid:g-1"
    assert article_key(entry(url="https://E.example/a?utm_source=rss")) == "url:https://e.example/a"
    key = article_key(entry(title="Title", text="Text"))
    assert key.startswith("hash:") and len(key) == len("hash:") + 32


def test_content_hash_ignores_case_width_and_spacing() -> None:
    a = entry(title="Contoso  raises FUNDS", text="It   raised\n\nmoney.")
    b = entry(title="contoso raises funds", text="It raised money.")
    c = entry(title="Contoso raises funds", text="It raised more money.")
    assert content_hash(a) == content_hash(b) != content_hash(c)


def test_keys_are_stable_across_polls() -> None:
    body = (FIXTURES / "rss2_mixed.xml").read_bytes()
    first = [a.key for a in to_articles("f", parse_feed(body).entries)]
    second = [a.key for a in to_articles("f", parse_feed(body).entries)]
    assert first == second
    assert first[0] == "guid:nw-1001"


def test_long_guid_is_hashed() -> None:
    key = article_key(entry(guid="x" * 5000))
    assert key.startswith("guid#") and len(key) < 100
    assert key == article_key(entry(guid="x" * 5000))


def test_story_key_joins_feeds_by_canonical_url() -> None:
    a = entry(guid="feed-a-1", url="https://news.example/story?utm_source=a")
    b = entry(guid="feed-b-99", url="https://NEWS.example/story#top", title="Other title")
    assert story_key(a) == story_key(b) == "url:https://news.example/story"
    assert article_key(a) != article_key(b)


def test_story_key_without_url_uses_content() -> None:
    assert story_key(entry(title="Same", text="same")) == story_key(entry(title="SAME",
                                                                          text="Same"))


def test_to_articles_keeps_first_of_duplicates_in_feed_order() -> None:
    feed = parse_feed((FIXTURES / "rss2_mixed.xml").read_bytes(),
                      url="https://news.northwind.example/feed.rss")
    articles = to_articles("https://news.northwind.example/feed.rss", feed.entries)
    assert [a.title for a in articles] == [
        "Contoso raises €40m in Series B", "Fabrikam opens Lyon office",
        "Tailspin Toys cuts 200 jobs", "Click me"]
    first = articles[0]
    assert first.key == "guid:nw-1001"
    assert first.story == "url:https://news.northwind.example/2024/05/contoso-series-b"
    assert first.feed_url == "https://news.northwind.example/feed.rss"
    assert first.published == datetime(2024, 5, 14, 7, 30, tzinfo=UTC)
    assert articles[1].key == "url:https://news.northwind.example/2024/05/fabrikam-lyon"
    assert articles[2].key.startswith("hash:")


def test_entries_without_anything_collapse_by_content() -> None:
    entries = [entry(title="Same title", text="first body"),
               entry(title="Same title", text="second body"),
               entry(title="Same title", text="first body")]
    assert [a.text for a in to_articles("f", entries)] == ["first body", "second body"]


def test_empty_feed() -> None:
    assert to_articles("f", []) == ()
