"""`newsbot cluster`: which story each article of a JSON-lines file belongs to.

One JSON line per input article, in input order: ``{"id": ..., "story": ...}`` where ``story`` is
the id of the first article of its story (so a story's first article names itself). This output is
a contract (evaluations read it); ``--explain`` adds ``joined`` (the earlier article it matched)
and ``reason``.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from bot.cli.jsonl_input import read_articles
from bot.cli.tools import print_json, report_input_errors
from bot.config.settings import Settings
from bot.domain.errors import NewsbotError
from bot.pipeline.stories import StoryWindow
from bot.pipeline.story_features import story_features


def published_at(value: str | None) -> datetime | None:
    """An ISO 8601 or RFC 822 date as aware UTC (naive = UTC); None when absent or unreadable."""
    if not value or not value.strip():
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError, IndexError):
            return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


async def cmd_cluster(args: argparse.Namespace, settings: Settings) -> int:
    if not 0 < args.window <= 24 * 366:
        raise NewsbotError("--window must be more than 0 and at most 8784 hours (a year)")
    window = StoryWindow(timedelta(hours=args.window))
    errors: list[str] = []
    for art in read_articles(args.articles, errors):
        features = story_features(art.title, art.text)
        match = window.add(art.id, features, published_at(art.published))
        line: dict[str, str] = {"id": art.id, "story": match.story if match else art.id}
        if args.explain:
            line.update(joined=match.joined if match else "",
                        reason=match.reason if match else "first report of this story")
        print_json(line)
    return report_input_errors(errors)
