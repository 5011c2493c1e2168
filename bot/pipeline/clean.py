"""HTML and feed boilerplate -> plain text with paragraph breaks. Pure.

STUB (issue 7 deepens it).
"""

from __future__ import annotations

import html
import re

_BLOCK = re.compile(r"(?i)</?(p|div|br|li|h[1-6]|blockquote|tr|section|article)\b[^>]*>")
_TAG = re.compile(r"<[^>]+>")


def html_to_text(markup: str) -> str:
    text = _BLOCK.sub("\n\n", markup)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)
