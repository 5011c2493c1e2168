"""Feed bytes -> ParsedFeed (RSS 0.9x/1.0/2.0 and Atom via feedparser, JSON Feed 1/1.1 via json).

Pure: no network, no files, no clock. Raw feedparser dicts and JSON objects stop here; callers get
frozen ``Entry`` values with plain-text titles and bodies, http(s)-only links (relative ones
resolved against the feed URL), aware UTC dates and capped field sizes.

feedparser is always handed a ``BytesIO``, never ``bytes``/``str``: given ``bytes`` it first tries
``open(body)``, so a hostile server answering with the body ``/etc/passwd`` would make it read a
local file (feedparser 6.0.14). Given a URL it would fetch with no timeout or size limit.

Control characters other than tab and newline (NUL first: PostgreSQL refuses it in text) and lone
surrogates never reach an ``Entry`` (``bot.text.truncate.strip_controls``), on the XML and
JSON paths.
XML documents whose shape would make feedparser take minutes are refused before parsing
(``bot.pipeline.feed_limits``); ``bot.jobs.parse_workers.parse_feed_async`` runs the whole parse
in a worker process with a hard time and memory limit, so no document can pin the event loop.
"""

from __future__ import annotations

import html
import io
import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from bot.domain.article import Entry, ParsedFeed
from bot.domain.errors import ParseError
from bot.pipeline.feed_limits import shape_problem
from bot.text.clean import html_to_text
from bot.text.truncate import strip_controls, truncate

MAX_TITLE = 1_000  # characters, after HTML -> text
MAX_TEXT = 100_000
MAX_RAW = 1_000_000  # markup characters looked at per field before conversion
MAX_SHORT = 200  # author
MAX_LANG = 35  # longest sensible BCP 47 tag
MAX_URL = 4_096

_JSON_TYPES = ("application/feed+json", "application/json")
_HTML_TYPES = ("text/html", "application/xhtml+xml", "html", "xhtml")
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31});")
_BOM = b"\xef\xbb\xbf"
_SANITISER_MATTERS = re.compile(  # see needs_sanitiser
    rb"<!(?!\[CDATA\[)|&lt;!|&#0*33;|&#x0*21;|<>|&lt;&gt;"
    rb"|(?:<|&lt;|&#0*60;|&#x0*3c;)\s*/?\s*(?:script|style|object|iframe|frame|embed|applet"
    rb"|noscript|svg|math|template|xmp|plaintext|textarea|select|form|meta|base\b)",
    re.IGNORECASE)
_PROLOG_COMMENTS = re.compile(rb"(?:\xef\xbb\xbf)?(?:\s*<\?[^>]*\?>|\s*<!--(?:(?!-->).)*-->)*",
                              re.DOTALL)
_EPILOG_COMMENTS = re.compile(rb"(?:\s*<!--(?:(?!-->).)*-->)+\s*\Z", re.DOTALL)
_URL_UNSAFE = {ord(ch): f"%{ord(ch):02X}" for ch in '"<>\\^`{|}'}


# --- shared field helpers -------------------------------------------------------------------------
def plain_title(value: str | None, *, is_html: bool = True) -> str:
    """A one-line plain-text title: markup removed, entities decoded once, whitespace collapsed."""
    if not value:
        return ""
    raw = strip_controls(value[:MAX_RAW])
    text = html_to_text(raw) if is_html else raw
    if not is_html and _ENTITY.search(text):
        text = html.unescape(text)  # double-escaped feeds ("Q&amp;amp;A") are common
    return truncate(" ".join(text.split()), MAX_TITLE)


def plain_text(value: str | None, *, is_html: bool = True) -> str:
    r"""Plain text with paragraph breaks ("\n\n"), capped at MAX_TEXT characters."""
    if not value:
        return ""
    raw = strip_controls(value[:MAX_RAW])
    if is_html:
        text = html_to_text(raw)
    else:
        paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n", raw))
        text = "\n\n".join(p for p in paragraphs if p)
    return truncate(text, MAX_TEXT)


def resolve_link(link: Any, base: str) -> str | None:
    """``link`` resolved against ``base``; None unless the result is an absolute http(s) URL."""
    if not isinstance(link, str) or not link.strip() or len(link) > MAX_URL:
        return None
    try:
        absolute = urljoin(base, link.strip()) if base else link.strip()
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ch.isspace() for ch in absolute) or strip_controls(absolute) != absolute:
        return None
    # characters that may not appear raw in a URL, and that break chat link markup (<url|label>)
    return absolute.translate(_URL_UNSAFE)


def _base(*candidates: Any) -> str:
    """The first http(s) URL to resolve relative links against (a file:// feed URL is skipped
    in favour of the feed's own home/feed link)."""
    for candidate in candidates:
        if isinstance(candidate, str) and resolve_link(candidate, ""):
            return candidate.strip()
    return ""


def _short(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(html_to_text(strip_controls(value[:MAX_RAW])).split())
    return truncate(text, limit) if text else None


def _lang(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    tag = value.strip().replace("_", "-").lower()
    return tag[:MAX_LANG] if tag and re.fullmatch(r"[a-z0-9-]+", tag) else None


def _guid(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    return strip_controls(value.strip()[:MAX_URL]).strip() or None


def _is_html(mime: Any) -> bool:
    return isinstance(mime, str) and mime.split(";", 1)[0].strip().lower() in _HTML_TYPES


def _longest(*texts: str) -> str:
    return max(texts, key=len, default="")


# --- JSON Feed ------------------------------------------------------------------------------------
def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _is_json(body: bytes, content_type: str | None) -> bool:
    head = body.lstrip(_BOM + b" \t\r\n")[:1]
    return head == b"{" or (_mime(content_type) in _JSON_TYPES and head != b"<")


def _json_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _json_author(item: Mapping[str, Any], feed: Mapping[str, Any]) -> str | None:
    for source in (item, feed):
        authors = source.get("authors")
        candidates = authors if isinstance(authors, list) else [source.get("author")]
        for author in candidates:
            if isinstance(author, Mapping) and (name := _short(author.get("name"), MAX_SHORT)):
                return name
    return None


def _json_entry(item: Mapping[str, Any], feed: Mapping[str, Any], base: str) -> Entry:
    html_body = plain_text(item.get("content_html") if isinstance(item.get("content_html"), str)
                           else None)
    text_body = plain_text(item.get("content_text") if isinstance(item.get("content_text"), str)
                           else None, is_html=False)
    summary = plain_text(item.get("summary") if isinstance(item.get("summary"), str) else None,
                         is_html=False)
    title = item.get("title")
    return Entry(
        guid=_guid(item.get("id")),
        url=resolve_link(item.get("url"), base) or resolve_link(item.get("external_url"), base),
        title=plain_title(title if isinstance(title, str) else None, is_html=False),
        text=_longest(html_body, text_body, summary),
        published=_json_date(item.get("date_published")) or _json_date(item.get("date_modified")),
        author=_json_author(item, feed),
        lang=_lang(item.get("language")) or _lang(feed.get("language")),
    )


def _parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    try:
        data = json.loads(body.decode("utf-8-sig", errors="replace"))
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"not a feed: invalid JSON ({exc.__class__.__name__})", url=url) from None
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(version, str) or "jsonfeed.org/version/" not in version:
        raise ParseError("not a feed: JSON without a jsonfeed.org version", url=url)
    items = data.get("items")
    if not isinstance(items, list):
        raise ParseError("not a feed: JSON Feed without an items list", url=url)
    base = _base(url, data.get("feed_url"), data.get("home_page_url"))
    entries = tuple(_json_entry(item, data, base) for item in items if isinstance(item, dict))
    title = data.get("title")
    return ParsedFeed(title=plain_title(title if isinstance(title, str) else None, is_html=False),
                      entries=entries, lang=_lang(data.get("language")))


# --- RSS / Atom via feedparser --------------------------------------------------------------------
def _struct_date(value: Any) -> datetime | None:
    if not isinstance(value, time.struct_time):
        return None
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _entry_date(entry: Mapping[str, Any]) -> datetime | None:
    # plain dict lookups: FeedParserDict maps a missing updated_parsed to published_parsed with a
    # DeprecationWarning
    raw = dict(entry) if not isinstance(entry, dict) else entry
    return (_struct_date(dict.get(raw, "published_parsed"))
            or _struct_date(dict.get(raw, "updated_parsed")))


def _detail_text(detail: Any) -> str:
    if not isinstance(detail, Mapping) or not isinstance(detail.get("value"), str):
        return ""
    return plain_text(detail["value"], is_html=_is_html(detail.get("type")) or
                      detail.get("type") is None)


def _xml_link(entry: Mapping[str, Any], base: str) -> str | None:
    link = resolve_link(entry.get("link"), base)
    if link:
        return link
    for candidate in entry.get("links") or ():
        if isinstance(candidate, Mapping) and candidate.get("rel", "alternate") == "alternate":
            link = resolve_link(candidate.get("href"), base)
            if link:
                return link
    return None


def _xml_title(entry: Mapping[str, Any]) -> str:
    detail = entry.get("title_detail")
    kind = detail.get("type") if isinstance(detail, Mapping) else None
    title = entry.get("title")
    return plain_title(title if isinstance(title, str) else None, is_html=_is_html(kind))


def _xml_lang(entry: Mapping[str, Any], feed_lang: str | None) -> str | None:
    for key in ("title_detail", "summary_detail"):
        detail = entry.get(key)
        if isinstance(detail, Mapping) and (lang := _lang(detail.get("language"))):
            return lang
    return _lang(entry.get("language")) or feed_lang


def _xml_entry(entry: Mapping[str, Any], base: str, feed_lang: str | None) -> Entry:
    contents = [_detail_text(c) for c in entry.get("content") or () if isinstance(c, Mapping)]
    summary = _detail_text(entry.get("summary_detail")) or plain_text(
        entry.get("summary") if isinstance(entry.get("summary"), str) else None)
    return Entry(
        guid=_guid(entry.get("id")),
        url=_xml_link(entry, base),
        title=_xml_title(entry),
        text=_longest(*contents, summary),
        published=_entry_date(entry),
        author=_short(entry.get("author"), MAX_SHORT),
        lang=_xml_lang(entry, feed_lang),
    )


def _not_a_feed_reason(body: bytes, result: Mapping[str, Any]) -> str:
    head = body.lstrip(_BOM + b" \t\r\n")[:512].lower()
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "not a feed: this is an HTML page"
    if not head.startswith(b"<"):
        return "not a feed: the body is neither XML nor JSON"
    exc = result.get("bozo_exception")
    detail = f" ({exc.__class__.__name__}: {str(exc)[:200]})" if exc else ""
    return f"not a feed: no RSS, Atom or RDF structure found{detail}"


def needs_sanitiser(body: bytes) -> bool:
    """Whether feedparser's HTML sanitiser could change what ``html_to_text`` makes of this
    document. It is half of feedparser's time, and for ordinary markup (p, a, img, b, lists,
    CDATA sections) our own conversion to plain text gives exactly the same result; it differs
    on script/style/embedded-object bodies, comments and declarations (``<!``), stray ``<>``,
    and on documents this byte scan cannot read (UTF-16/32: NUL bytes). Those keep it."""
    if b"\x00" in body:
        return True
    # comments before the root element or after it never reach an entry
    start = _PROLOG_COMMENTS.match(body[:4096])  # (bounded: hostile documents are long)
    tail = body[-4096:]
    end = _EPILOG_COMMENTS.search(tail)
    stop = len(body) - len(tail) + end.start() if end else len(body)
    return _SANITISER_MATTERS.search(body, start.end() if start else 0, stop) is not None


def _parse_xml_feed(body: bytes, url: str, content_type: str | None,
                    careful: bool = True) -> ParsedFeed:
    problem = shape_problem(body, content_type)
    if problem:
        raise ParseError(problem, url=url)
    headers: dict[str, str] = {}
    if content_type:  # without a content-type feedparser flags any headers as NonXMLContentType
        headers = {"content-type": content_type, "content-location": url} if url else {
            "content-type": content_type}
    try:
        # (relative links in HTML bodies are not resolved: the bodies become plain text, and
        # the entry links, which we resolve ourselves, are the same either way)
        result = feedparser.parse(io.BytesIO(body), response_headers=headers,
                                  resolve_relative_uris=False, sanitize_html=careful)
    except MemoryError:
        raise  # the worker's memory limit: reported as such by parse_feed_async
    except Exception as exc:  # third-party boundary: feedparser has no error contract
        raise ParseError(f"unreadable feed: {exc.__class__.__name__}: {exc}", url=url) from None
    entries_raw = result.get("entries") or []
    if not result.get("version") and not entries_raw:
        raise ParseError(_not_a_feed_reason(body, result), url=url)
    feed = result.get("feed") or {}
    feed_lang = _lang(feed.get("language"))
    base = _base(url, feed.get("link"))
    entries = tuple(_xml_entry(e, base, feed_lang) for e in entries_raw if isinstance(e, Mapping))
    bozo_exc = result.get("bozo_exception") if result.get("bozo") else None
    return ParsedFeed(
        title=_xml_title(feed),
        entries=entries,
        bozo=bozo_exc.__class__.__name__ if bozo_exc is not None else None,
        lang=feed_lang,
    )


# --- public API -----------------------------------------------------------------------------------
def parse_feed(body: bytes, *, url: str = "", content_type: str | None = None,
               careful: bool | None = None) -> ParsedFeed:
    """Parse feed bytes. ``url`` resolves relative links; ``content_type`` helps decoding.

    Raises ParseError (with the reason) for bytes that are not a feed: empty, HTML, random text,
    JSON that is not a JSON Feed. Malformed feeds that still yield entries are returned, with
    feedparser's complaint in ``ParsedFeed.bozo``.

    ``careful``: run feedparser's HTML sanitiser (True), skip it (False), or decide by the
    document (None, the default: see ``needs_sanitiser``). Either way the result is the same:
    tests/test_parse_fast_path.py checks it over every corpus file.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise ParseError("not a feed: expected bytes", url=url)
    data = bytes(body)
    if not data.strip():
        raise ParseError("not a feed: the body is empty", url=url)
    if _is_json(data, content_type):
        return _parse_json_feed(data, url)
    return _parse_xml_feed(data, url, content_type,
                           needs_sanitiser(data) if careful is None else careful)

