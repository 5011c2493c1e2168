"""Watchlist -> compiled matcher; article -> matches with evidence. Pure.

STUB (issue 6 replaces it with the Aho-Corasick matcher): case-insensitive whole-word regex.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..models import Match, MatchResult, Watchlist


class Matcher:
    def __init__(self, watchlist: Watchlist) -> None:
        self.watchlist = watchlist
        self._terms: list[tuple[str, str, str, re.Pattern[str]]] = []
        for c in watchlist.companies:
            for term in (c.name, *c.aliases):
                flags = 0 if c.case_sensitive else re.IGNORECASE
                self._terms.append(("company", c.name, term, re.compile(rf"\b{re.escape(term)}\b", flags)))
        for t in watchlist.topics:
            for kw in t.keywords:
                body = re.escape(kw.rstrip("*")) + (r"\w*" if kw.endswith("*") else "")
                self._terms.append(("topic", t.name, kw, re.compile(rf"\b{body}\b", re.IGNORECASE)))

    def match(self, title: str, text: str) -> MatchResult:
        found: list[Match] = []
        for kind, name, term, pattern in self._terms:
            for field, value in (("title", title), ("text", text)):
                for m in pattern.finditer(value):
                    found.append(Match(kind, name, term, field, m.start(), m.end(), value))  # type: ignore[arg-type]
        companies = tuple(dict.fromkeys(m.name for m in found if m.kind == "company"))
        topics = tuple(dict.fromkeys(m.name for m in found if m.kind == "topic"))
        return MatchResult(companies, topics, tuple(found))


@lru_cache(maxsize=64)
def compile_watchlist(watchlist: Watchlist) -> Matcher:
    """Compile once per distinct watchlist (Watchlist is frozen and hashable)."""
    return Matcher(watchlist)
