"""Stable article keys, canonical URLs and story keys. Pure.

- ``article_key``: what makes an entry "already seen" in its feed, stable across polls:
  ``guid:<guid>``, else ``url:<canonical link>``, else ``hash:<sha256 of normalised title+text>``.
  Guids longer than ``MAX_KEY_GUID`` characters are keyed by their hash (``guid#<sha256>``) so keys
  stay index-friendly.
- ``story_key``: the same news across feeds: ``url:<canonical link>``, else the content hash.
  (Near-duplicate text detection can refine this later without changing article keys.)

Canonical URL rules (``canonical_url``), chosen so that links that load the same page compare
equal while links that might not are left apart:

- scheme and host lower-cased; user name/password dropped; default ports (http 80, https 443)
  dropped; a trailing dot on the host dropped;
- the empty path becomes ``/``; other paths are kept as written (``/a`` and ``/a/`` can be
  different resources on real servers, so a trailing slash is NOT stripped), except that percent
  escapes are upper-cased and escapes of unreserved characters (``%7E`` -> ``~``) decoded;
- the fragment is dropped (it never reaches the server);
- query parameters named in ``TRACKING_PARAMS`` or starting with a ``TRACKING_PREFIXES`` prefix
  (case-insensitive) are removed; the rest are sorted by name then value and re-encoded the same
  way (``+`` and ``%20`` both become ``%20``); blank values are kept (``?a=&b`` -> ``?a=&b=``).
Anything that is not an absolute http(s) URL is returned stripped but otherwise unchanged.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from bot.domain.article import Article, Entry

TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "hsa_", "__hs", "_hs", "oly_")
TRACKING_PARAMS: frozenset[str] = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
    "ttclid", "igshid", "li_fat_id", "mc_cid", "mc_eid", "mkt_tok", "_ga", "_gl", "ref",
    "ref_src", "ref_url", "referrer", "cmpid", "cmp", "ncid", "ocid", "icid", "s_cid", "wt.mc_id",
    "sr_share", "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3",
    "at_custom4", "spm", "vero_id", "rb_clickid", "__twitter_impression", "fb_action_ids",
    "fb_action_types", "fb_ref", "fb_source", "action_object_map", "action_type_map",
    "action_ref_map", "sc_cid", "xtor",
})
MAX_KEY_GUID = 500
HASH_HEX = 32  # 128 bits of sha256: collisions are not a practical concern at feed volumes

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _normalise_escapes(part: str) -> str:
    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else f"%{match.group(1).upper()}"

    return _PCT.sub(fix, part)


def _is_tracking(name: str) -> bool:
    folded = name.lower()
    return folded in TRACKING_PARAMS or folded.startswith(TRACKING_PREFIXES)


def _canonical_query(query: str) -> str:
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not _is_tracking(k)]
    return urlencode(sorted(pairs), quote_via=quote, safe="/:@!$'()*,;~")


def canonical_url(url: str) -> str:
    """The canonical form of an http(s) URL (rules in the module docstring)."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return text
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return text
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _normalise_escapes(parts.path) or "/"
    return urlunsplit((scheme, netloc, path, _canonical_query(parts.query), ""))


def _normalise_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def content_hash(entry: Entry) -> str:
    """Short sha256 hex of the case-, width- and whitespace-normalised title and text."""
    blob = f"{_normalise_text(entry.title)}\n{_normalise_text(entry.text)}"
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:HASH_HEX]


def article_key(entry: Entry) -> str:
    """Stable key of an entry within its feed: guid, else canonical link, else content hash."""
    if entry.guid and entry.guid.strip():
        guid = entry.guid.strip()
        if len(guid) <= MAX_KEY_GUID:
            return "guid:" + guid
        return "guid#" + hashlib.sha256(guid.encode("utf-8")).hexdigest()[:HASH_HEX]
    if entry.url:
        return "url:" + canonical_url(entry.url)
    return "hash:" + content_hash(entry)


def story_key(entry: Entry) -> str:
    """The same news in any feed: canonical link first, else the content hash."""
    if entry.url:
        return "url:" + canonical_url(entry.url)
    return "hash:" + content_hash(entry)


def to_articles(feed_url: str, entries: Sequence[Entry]) -> tuple[Article, ...]:
    """Key every entry; keep the first of entries sharing a key; feed order is preserved."""
    seen: set[str] = set()
    articles: list[Article] = []
    for entry in entries:
        key = article_key(entry)
        if key in seen:
            continue
        seen.add(key)
        articles.append(Article(
            key=key, story=story_key(entry), feed_url=feed_url, url=entry.url,
            title=entry.title, text=entry.text, published=entry.published,
            author=entry.author, lang=entry.lang,
        ))
    return tuple(articles)
