"""parse_feed on golden fixture feeds (written for these tests) and on bytes that are not feeds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.article import Entry
from bot.domain.errors import ParseError
from bot.jobs.parse_workers import parse_feed_async
from bot.pipeline.parse import MAX_TEXT, MAX_TITLE, parse_feed, resolve_link

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "feeds"
RSS_URL = "https://news.northwind.example/feed.rss"
ATOM_URL = "https://blog.adatum.example/news/feed.atom"
JSON_URL = "https://woodgrove.example/feed.json"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- golden feeds ---------------------------------------------------------------------------------
def test_rss2_golden() -> None:
    feed = parse_feed(fixture("rss2_mixed.xml"), url=RSS_URL)
    assert feed.title == "Northwind & Partners Wire"
    assert feed.lang == "en-gb"
    assert feed.bozo is None
    assert feed.entries == (
        Entry(guid="nw-1001",
              url="https://news.northwind.example/2024/05/contoso-series-b"
                  "?utm_source=rss&utm_medium=feed",
              title="Contoso raises €40m in Series B",
              text="Contoso, the logistics start-up, said on Tuesday it had raised €40 million."
                   "\n\nThe round was led by Fabrikam Ventures.",
              published=utc(2024, 5, 14, 7, 30), author="Jane Roe", lang="en-gb"),
        Entry(guid=None, url="https://news.northwind.example/2024/05/fabrikam-lyon#comments",
              title="Fabrikam opens Lyon office", text="Fabrikam will hire 80 engineers in Lyon.",
              published=utc(2024, 5, 13, 17, 5), lang="en-gb"),
        Entry(guid=None, url=None, title="Tailspin Toys cuts 200 jobs",
              text="Tailspin Toys announced layoffs on Sunday.",
              published=utc(2024, 5, 12, 18, 0), lang="en-gb"),
        Entry(guid="nw-1004", url=None, title="Click me", text="A link that must not survive.",
              published=None, lang="en-gb"),
        Entry(guid="nw-1001", url="https://news.northwind.example/2024/05/contoso-series-b",
              title="Contoso raises €40m in Series B (updated)",
              text="The edited copy of the first item.", published=utc(2024, 5, 14, 9, 0),
              lang="en-gb"),
    )


def test_atom_golden() -> None:
    feed = parse_feed(fixture("atom_mixed.xml"), url=ATOM_URL)
    assert feed.title == "Adatum Newsroom"
    assert feed.entries == (
        Entry(guid="tag:adatum.example,2024:entry-7",
              url="https://blog.adatum.example/news/2024/litware-partnership",
              title="Adatum & Litware sign partnership",
              text="Adatum and Litware signed a five-year partnership on Saturday."
                   "\n\nTerms were not disclosed.",
              published=utc(2024, 6, 1, 8, 15), author="Sam Poe", lang="en"),
        Entry(guid="tag:adatum.example,2024:entry-8",
              url="https://blog.adatum.example/fr/2024/proseware",
              title="Adatum rachète Proseware",
              text="Adatum a annoncé le rachat de Proseware pour 12 millions d'euros.",
              published=utc(2024, 5, 31, 4, 45), lang="fr"),
        Entry(guid=None, url="https://blog.adatum.example/news/2024/no-id",
              title="No id, no date",
              text="First paragraph.\n\nSecond paragraph is longer than the summary.",
              published=None, lang="en"),
    )


def test_json_feed_golden() -> None:
    feed = parse_feed(fixture("jsonfeed_mixed.json"), url=JSON_URL,
                      content_type="application/feed+json")
    assert (feed.title, feed.lang, feed.bozo) == ("Woodgrove Bank Updates", "de-de", None)
    assert feed.entries == (
        Entry(guid="wg-501", url="https://woodgrove.example/presse/2024/fusion",
              title="Woodgrove & Contoso prüfen Fusion",
              text="Die Woodgrove Bank und Contoso prüfen eine Fusion."
                   "\n\nEine Entscheidung wird im Herbst erwartet.",
              published=utc(2024, 7, 1, 7, 0), author="Erika Muster", lang="de-de"),
        Entry(guid="502", url="https://other.example/story?id=9", title="Plain text item",
              text="Line one.\n\nLine two, plain text with <angle> brackets kept.",
              published=utc(2024, 7, 2, 10, 30), author="Woodgrove Presse", lang="en"),
        Entry(guid=None, url=None, title="Bad link, blank id, odd date", text="A summary only.",
              published=utc(2024, 7, 3, 8, 0), author="Woodgrove Presse", lang="de-de"),
        Entry(guid="wg-504", url="https://woodgrove.example/presse/2024/naive",
              title="Naive date", text="Text.", published=utc(2024, 7, 4, 12, 0),
              author="Woodgrove Presse", lang="de-de"),
    )


def test_json_feed_detected_without_content_type() -> None:
    feed = parse_feed(fixture("jsonfeed_mixed.json"), url=JSON_URL, content_type="text/plain")
    assert len(feed.entries) == 4


def test_relative_links_without_feed_url_are_dropped() -> None:
    feed = parse_feed(fixture("jsonfeed_mixed.json"))
    # no url given: the JSON Feed's own feed_url is the base
    assert feed.entries[0].url == "https://woodgrove.example/presse/2024/fusion"
    rss = parse_feed(b'<rss version="2.0"><channel><title>t</title><item><title>a</title>'
                     b"<link>/only/relative</link></item></channel></rss>")
    assert rss.entries[0].url is None


async def test_parse_feed_async_matches_sync() -> None:
    body = fixture("atom_mixed.xml")
    assert await parse_feed_async(body, url=ATOM_URL) == parse_feed(body, url=ATOM_URL)


# --- links ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("link", "expected"), [
    ("/a/b", "https://example.com/a/b"),
    ("https://x.example/p?q=1", "https://x.example/p?q=1"),
    ("javascript:alert(1)", None),
    ("JaVaScRiPt:alert(1)", None),
    ("file:///etc/passwd", None),
    ("data:text/html,hi", None),
    ("mailto:a@example.com", None),
    ("https://x.example/a|b<c>", "https://x.example/a%7Cb%3Cc%3E"),
    ("https://x.example/with space", None),
    ("", None),
])
def test_resolve_link(link: str, expected: str | None) -> None:
    assert resolve_link(link, "https://example.com/feed") == expected


# --- hostile or broken input ----------------------------------------------------------------------
@pytest.mark.parametrize(("body", "reason"), [
    (b"", "empty"),
    (b"   \n\t ", "empty"),
    (b"<!DOCTYPE html><html><head><title>Hi</title></head><body><p>page</p></body></html>",
     "HTML page"),
    (b"just some words, nothing else", "neither XML nor JSON"),
    (b'{"hello": "world"}', "jsonfeed.org"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": 3}', "items"),
    (b"{not json at all", "invalid JSON"),
    (b"[1, 2, 3]", "neither XML nor JSON"),
    (b'<?xml version="1.0"?><note><to>x</to></note>', "no RSS, Atom or RDF"),
])
def test_not_a_feed_raises_parse_error(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse_feed(body, url="https://example.com/feed")


def test_json_array_with_json_content_type_is_rejected() -> None:
    with pytest.raises(ParseError):
        parse_feed(b"[1, 2, 3]", content_type="application/json")


def test_deeply_nested_json_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_feed(b'{"version": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")


def test_body_that_is_a_local_path_is_not_opened(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text('<rss version="2.0"><channel><title>SECRET</title></channel></rss>')
    with pytest.raises(ParseError):
        parse_feed(str(secret).encode())


def test_empty_but_valid_feed_has_no_entries() -> None:
    feed = parse_feed(b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>')
    assert (feed.title, feed.entries) == ("Quiet", ())


def test_malformed_feed_with_entries_is_kept_with_bozo() -> None:
    body = (b'<rss version="2.0"><channel><title>Broken & co</title>'
            b"<item><title>Still here</title><guid>g1</guid></item></channel>")
    feed = parse_feed(body)
    assert feed.bozo is not None
    assert [e.title for e in feed.entries] == ["Still here"]


def test_absurd_field_sizes_are_capped() -> None:
    title = "Huge " * 100_000
    body = "x " * 400_000
    raw = (f'<rss version="2.0"><channel><title>t</title><item><title>{title}</title>'
           f"<description>{body}</description></item></channel></rss>").encode()
    entry = parse_feed(raw).entries[0]
    assert len(entry.title) <= MAX_TITLE and entry.title.startswith("Huge Huge")
    assert len(entry.text) <= MAX_TEXT and entry.text.startswith("x x")


def test_json_feed_garbage_fields_do_not_crash() -> None:
    doc = {"version": "https://jsonfeed.org/version/1", "title": ["not", "a", "string"],
           "items": [{"id": None, "url": 42, "title": {"x": 1}, "content_html": 7,
                      "date_published": "yesterday", "authors": "nobody", "language": 5}]}
    feed = parse_feed(json.dumps(doc).encode())
    assert feed.title == ""
    assert feed.entries == (Entry(guid=None, url=None, title="", text=""),)


def test_dates_in_several_formats() -> None:
    dates = ["Tue, 14 May 2024 09:30:00 +0200", "14 May 2024 07:30:00 GMT",
             "2024-05-14T07:30:00Z", "2024-05-14T09:30:00+02:00", "Tue, 14 May 2024 03:30:00 EDT"]
    items = "".join(f"<item><title>{i}</title><pubDate>{d}</pubDate></item>"
                    for i, d in enumerate(dates))
    feed = parse_feed(f'<rss version="2.0"><channel><title>d</title>{items}</channel></rss>'
                      .encode())
    assert {e.published for e in feed.entries} == {utc(2024, 5, 14, 7, 30)}


def test_latin1_feed_with_http_charset() -> None:
    body = ('<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel>'
            "<title>Caf\u00e9</title><item><title>Cr\u00e8me br\u00fbl\u00e9e</title></item>"
            "</channel></rss>").encode("iso-8859-1")
    feed = parse_feed(body, content_type="application/rss+xml; charset=iso-8859-1")
    assert feed.entries[0].title == "Crème brûlée"


def test_file_feed_url_falls_back_to_the_feeds_own_link_for_relative_links() -> None:
    feed = parse_feed(fixture("rss2_mixed.xml"), url="file:///srv/feeds/rss2_mixed.xml")
    assert feed.entries[0].url == ("https://news.northwind.example/2024/05/contoso-series-b"
                                   "?utm_source=rss&utm_medium=feed")
