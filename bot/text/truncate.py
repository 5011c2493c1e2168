"""Small text helpers shared by parsing, summaries and renderers: control characters out,
grapheme-safe truncation."""

from __future__ import annotations

import re

import regex

_GRAPHEME = regex.compile(r"\X")
ELLIPSIS = "…"

# C0 controls but tab and newline, DEL, C1 controls, lone surrogates (from JSON "\ud800" escapes:
# not encodable as UTF-8, so no database or chat platform takes them)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _control_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {cp: None for cp in [*range(0x20), 0x7F] if cp not in (9, 10)}
    table[0x0D] = "\n"  # a lone carriage return ends a line (CRLF is folded first)
    table.update({cp: " " for cp in (0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x1F)})  # spaces to str.split
    for cp in range(0x80, 0xA0):  # C1 from text mis-decoded as Latin-1: cp1252 meant ’ “ € …
        try:
            table[cp] = bytes([cp]).decode("cp1252")
        except UnicodeDecodeError:
            table[cp] = None
    table.update({cp: "\ufffd" for cp in range(0xD800, 0xE000)})
    return table


_CONTROL_TABLE = _control_table()


def strip_controls(text: str) -> str:
    """``text`` without control characters other than tab and newline: NUL and the other C0
    controls deleted (the ones ``str.split`` counts as whitespace become a space), CR and CRLF
    turned into a newline, C1 controls read as the cp1252 characters
    they almost always are (U+0092 -> ’), lone surrogates replaced by U+FFFD."""
    if not _CONTROLS.search(text):
        return text
    return text.replace("\r\n", "\n").translate(_CONTROL_TABLE)


def utf16_len(text: str) -> int:
    """Length as Discord and Slack count it in some limits (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def truncate(text: str, limit: int, *, ellipsis: str = ELLIPSIS, measure: str = "chars") -> str:
    """Cut ``text`` to at most ``limit`` (code points, or UTF-16 units with measure="utf16").

    Never splits a grapheme cluster (emoji with modifiers, flags, combining marks); prefers to cut
    at a word boundary; marks the cut with ``ellipsis``. Text that fits is returned unchanged.
    """
    size = utf16_len if measure == "utf16" else len
    if size(text) <= limit:
        return text
    budget = limit - size(ellipsis)
    if budget <= 0:
        return ellipsis[: max(limit, 0)]
    kept: list[str] = []
    used = 0
    for cluster in _GRAPHEME.findall(text):
        n = size(cluster)
        if used + n > budget:
            break
        kept.append(cluster)
        used += n
    head = "".join(kept)
    at_boundary = text[len(head) : len(head) + 1].isspace()
    # back off to the last whitespace so no word is cut, unless that throws away most of the text
    cut = max(head.rfind(" "), head.rfind("\n"))
    if not at_boundary and cut >= len(head) // 2:
        head = head[:cut]
    return head.rstrip() + ellipsis
