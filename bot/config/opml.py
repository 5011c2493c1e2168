"""OPML feed lists in and out (`newsbot feeds import` / `feeds export`): pure steps, bytes -> data.

Reading uses expat from the standard library with every entity declaration refused (billion
laughs, external entities) and no DTD loaded; nested outlines are flattened; each outline that
cannot be a feed is reported by number and title, the others are kept. Writing is OPML 2.0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import urlsplit
from xml.etree import ElementTree
from xml.parsers import expat

from bot.config.yaml_files import brief
from bot.domain.article import FeedSource
from bot.domain.errors import ConfigError


@dataclass(frozen=True, slots=True)
class OpmlImport:
    feeds: tuple[FeedSource, ...]
    problems: tuple[str, ...]  # one line per refused outline


class _Refused(Exception):
    pass


def _outlines(data: bytes) -> list[dict[str, str]]:
    """The attributes of every <outline> in document order (nesting flattened)."""
    found: list[dict[str, str]] = []
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse_entity(name: str, *_: object) -> None:
        raise _Refused(f"entity declarations are not allowed (found {name!r})")

    def refuse_external(*_: object) -> int:
        raise _Refused("external entities are not allowed")

    open_outlines: list[int | None] = []  # per open element: its index in found, or None

    def start(tag: str, attrs: dict[str, str]) -> None:
        if tag.lower() != "outline":
            open_outlines.append(None)
            return
        if open_outlines and open_outlines[-1] is not None:
            found[open_outlines[-1]][" folder"] = "yes"  # (a key no attribute can have)
        open_outlines.append(len(found))
        found.append({k.lower(): v for k, v in attrs.items()})

    def end(_tag: str) -> None:
        open_outlines.pop()

    parser.EntityDeclHandler = refuse_entity
    parser.UnparsedEntityDeclHandler = refuse_entity
    parser.ExternalEntityRefHandler = refuse_external
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise ConfigError(f"refused: {exc}") from None
    except expat.ExpatError as exc:
        raise ConfigError(f"not valid XML: {exc}") from None
    return found


def _feed_url(url: str) -> str | None:
    """The problem with an outline's xmlUrl, or None when it is a usable http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return f"xmlUrl must start with http:// or https:// (got {brief(url, 120)})"
    if not parts.hostname:
        return f"xmlUrl has no host (got {brief(url, 120)})"
    return None


def parse_opml(data: bytes, known: Iterable[str] = ()) -> OpmlImport:
    """The feeds of an OPML document; ``known`` URLs (already followed) are reported, not kept.
    A document that is not XML (or declares entities) is a ConfigError; a bad outline is not."""
    feeds: list[FeedSource] = []
    problems: list[str] = []
    seen = {url: "already followed" for url in known}
    outlines = _outlines(data)
    if not outlines:
        raise ConfigError("no <outline> elements: is this an OPML file?")
    for i, attrs in enumerate(outlines, start=1):
        title = (attrs.get("title") or attrs.get("text") or "").strip()
        where = f"outline #{i}" + (f" ({brief(title, 80)})" if title else "")
        url = (attrs.get("xmlurl") or "").strip()
        if not url:
            if " folder" not in attrs:  # a folder's feeds are its nested outlines
                problems.append(f"{where}: no xmlUrl")
            continue
        problem = _feed_url(url) or (f"duplicate: {seen[url]}" if url in seen else None)
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        seen[url] = f"also {where}"
        feeds.append(FeedSource(url=url, title=title))
    return OpmlImport(tuple(feeds), tuple(problems))


def render_opml(feeds: Sequence[tuple[str, str]], now: datetime, title: str = "newsbot feeds"
                ) -> str:
    """OPML 2.0 for (url, title) pairs, one flat list of rss outlines."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = title
    ElementTree.SubElement(head, "dateCreated").text = format_datetime(now)
    body = ElementTree.SubElement(root, "body")
    for url, name in feeds:
        ElementTree.SubElement(body, "outline", type="rss", text=name or url,
                               title=name or url, xmlUrl=url)
    ElementTree.indent(root)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + ElementTree.tostring(root, encoding="unicode") + "\n")
