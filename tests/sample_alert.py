"""One realistic alert for the renderer tests; each test changes what it probes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.domain.alert import Alert, Match


def make_alert(destination: str, **changes: Any) -> Alert:
    fields: dict[str, Any] = dict(
        destination=destination,
        feed="Example Business News",
        url="https://news.example.com/nvidia-raises",
        title="Nvidia raises $2bn in new funding round",
        published=datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        companies=("Nvidia",),
        topics=("Funding",),
        summary="Nvidia said on Wednesday it raised $2bn. Investors included several funds.",
        evidence=(
            Match("company", "Nvidia", "nvidia", "title", 0, 6,
                  "Nvidia raises $2bn in new funding round"),
        ),
        reasons=("Nvidia",),
    )
    fields.update(changes)
    return Alert(**fields)
