"""Extractive summary by rules. Pure.

STUB (issue 7 replaces it): lead sentences within the budget.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..models import Match, Summary
from ..textutil import truncate

_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý\"'«“])")


def split_sentences(text: str, lang: str | None = None) -> list[str]:
    out: list[str] = []
    for para in text.split("\n\n"):
        out.extend(s.strip() for s in _SPLIT.split(para) if s.strip())
    return out


def summarise(
    title: str,
    text: str,
    *,
    matches: Sequence[Match] = (),
    max_sentences: int = 3,
    max_chars: int = 600,
    lang: str | None = None,
) -> Summary:
    sentences = split_sentences(text, lang)[:max_sentences]
    kept: list[str] = []
    used = 0
    for s in sentences:
        if used + len(s) > max_chars:
            if not kept:
                kept.append(truncate(s, max_chars))
            break
        kept.append(s)
        used += len(s) + 1
    return Summary(tuple(kept))
