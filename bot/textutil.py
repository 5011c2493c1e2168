"""Small text helpers shared by summaries and renderers: grapheme-safe truncation."""

from __future__ import annotations

import regex

_GRAPHEME = regex.compile(r"\X")
ELLIPSIS = "…"


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
