"""Refuse XML feeds whose shape makes the parser take minutes, before parsing them. Pure.

Measured with feedparser 6.0.14 (tests/bench and the commit that added this module): its strict
parser looks every attribute up by a linear scan of the element's attributes, so one element with
n attributes costs ~n^2/2 steps (10,000 attributes 0.9 s, 20,000 3.7 s, 100,000 ~90 s in 1.3 MB);
everything else measured is linear, at about 100,000 elements a second (2 million empty elements
in 8 MB: 33 s; 500,000 nested elements: 14 s, no worse per element than flat ones). So two limits,
both checked by one C-speed regex pass over the bytes (~90 ms for 10 MB of real feeds):

- at most ``MAX_ATTRIBUTES`` well-formed attributes (``name="value"``) in one tag: with 100, a
  document of such tags costs ~0.4 s more per MB (6 MB: 2.5 s in all); real feeds use < 15;
- at most ``MAX_TAGS`` tags (``<`` characters), about 15 s of parsing here; real feeds, even
  dense 10 MB ones, stay under ~600,000.

What slips past these (other slow shapes) is stopped by the parse time limit instead
(``bot.jobs.parse_workers.parse_feed_async``). The scan reads the bytes as feedparser will:
documents in UTF-16, UTF-32 or EBCDIC (by byte-order mark, first bytes or declared charset) are
scanned decoded.
"""

from __future__ import annotations

import codecs
import re

MAX_ATTRIBUTES = 100
MAX_TAGS = 1_000_000

# one well-formed attribute: whitespace, a name, "=", a quoted value without "<" (possessive
# quantifiers: a failed match never backtracks, so the scan stays linear)
_ATTRIBUTE = rb"""\s++[^\s=<>"'/]++\s*+=\s*+(?:"[^"<]*+"|'[^'<]*+')"""
_TOO_MANY_ATTRIBUTES = re.compile(
    rb"<([^\s<>/?!][^\s<>/]{0,99}+)(?:" + _ATTRIBUTE + rb"){%d}" % (MAX_ATTRIBUTES + 1))
# encodings in which "<" is not the byte "<", recognised as feedparser does by their first bytes
_SIGNATURES = (
    (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"),
    (b"\x00<", "utf-16-be"), (b"<\x00", "utf-16-le"), (b"Lo\xa7\x94", "cp037"),
)
_PROBE = b'<a b="c">'


def shape_problem(body: bytes, content_type: str | None = None) -> str | None:
    """Why ``body`` is refused before parsing ("element <item> has more than 100 attributes
    ..."), or None if its shape is within the limits."""
    view = _as_ascii_compatible(body, content_type)
    tags = view.count(b"<")
    if tags > MAX_TAGS:
        return (f"refused before parsing: {tags:,} tags, more than the limit of {MAX_TAGS:,} "
                "a feed may have")
    found = _TOO_MANY_ATTRIBUTES.search(view)
    if found:
        name = found.group(1).decode("utf-8", errors="replace")[:50]
        return (f"refused before parsing: element <{name}> has more than {MAX_ATTRIBUTES} "
                f"attributes (the limit per element)")
    return None


def _as_ascii_compatible(body: bytes, content_type: str | None) -> bytes:
    for signature, codec in _SIGNATURES:
        if body.startswith(signature):
            return _recode(body, codec)
    charset = _charset(content_type)
    if charset is not None and not _ascii_compatible(charset):
        return _recode(body, charset)
    return body


def _recode(body: bytes, codec: str) -> bytes:
    return body.decode(codec, errors="replace").encode("utf-8", errors="replace")


def _charset(content_type: str | None) -> str | None:
    found = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", content_type or "", re.IGNORECASE)
    return found.group(1) if found else None


def _ascii_compatible(charset: str) -> bool:
    try:
        codecs.lookup(charset)
        return _PROBE.decode(charset) == _PROBE.decode("ascii")
    except (LookupError, UnicodeDecodeError, ValueError):
        return True  # unknown or unusual: feedparser falls back to UTF-8 / Latin-1
