"""Watchlist YAML <-> ``Watchlist``: validation that names the entry and the problem.

STUB (issue 6 deepens it): minimal validation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import WatchlistError
from .models import Company, Topic, Watchlist


def parse_watchlist(data: Any, source: str = "watchlist") -> Watchlist:
    """Build a Watchlist from parsed YAML/JSON; raise WatchlistError naming entry and problem."""
    if data is None:
        return Watchlist()
    if not isinstance(data, dict):
        raise WatchlistError(f"{source}: expected a mapping with 'companies' and 'topics'")
    companies = tuple(
        Company(
            name=c["name"],
            aliases=tuple(c.get("aliases") or ()),
            case_sensitive=bool(c.get("case_sensitive", False)),
            context=tuple(c.get("context") or ()),
            exclude=tuple(c.get("exclude") or ()),
        )
        for c in data.get("companies") or ()
    )
    topics = tuple(
        Topic(name=t["name"], keywords=tuple(t.get("keywords") or ()))
        for t in data.get("topics") or ()
    )
    return Watchlist(companies=companies, topics=topics)


def load_watchlist(path: str | Path) -> Watchlist:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise WatchlistError(f"{path}: cannot read watchlist: {exc}") from exc
    return parse_watchlist(data, str(path))


def watchlist_to_dict(watchlist: Watchlist) -> dict[str, Any]:
    """The YAML shape again (for storage and `watch list`)."""
    return {
        "companies": [
            {
                "name": c.name,
                "aliases": list(c.aliases),
                "case_sensitive": c.case_sensitive,
                "context": list(c.context),
                "exclude": list(c.exclude),
            }
            for c in watchlist.companies
        ],
        "topics": [{"name": t.name, "keywords": list(t.keywords)} for t in watchlist.topics],
    }
