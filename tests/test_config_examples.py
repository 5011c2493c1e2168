"""config/examples/ambiguous-companies.yaml is a sound example an admin can copy: it loads, and
the everyday meanings of its names are not alerts (issue 15: "apple pie" matched as Apple)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "examples" / "ambiguous-companies.yaml"

NOT_THE_COMPANY = [
    ("This apple pie uses three kinds of apples.", "text"),
    ("Apple pie is best served warm, with cider.", "text"),
    ("The Best Apple Pie Recipe for Thanksgiving", "title"),
    ("APPLE PIE CONTEST RESULTS", "title"),
    ("Shell collectors walked the beach at low tide.", "text"),
    ("Doug Ford said the province would appeal.", "text"),
    ("The Amazon rainforest lost more trees this year.", "text"),
]
THE_COMPANY = [
    ("Apple said iPhone sales rose 5% in the quarter.", "Apple"),
    ("Shell's profits fell as oil prices dropped.", "Shell"),
    ("Ford recalled 200,000 F-150 pickups on Tuesday.", "Ford"),
]


def _match(tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: list[dict[str, str]]
           ) -> list[list[str]]:
    articles = tmp_path / "a.jsonl"
    articles.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["match", "--watchlist", str(EXAMPLE), "--json", str(articles)]) == 0
    return [json.loads(line)["companies"] for line in capsys.readouterr().out.splitlines()]


def test_everyday_meanings_are_not_the_companies(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    rows = [{"id": str(i), "title": text if field == "title" else "News",
             "text": text if field == "text" else "Nothing more."}
            for i, (text, field) in enumerate(NOT_THE_COMPANY)]
    assert _match(tmp_path, capsys, rows) == [[] for _ in rows]


def test_the_companies_themselves_still_match(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    rows = [{"id": str(i), "title": "Markets", "text": text}
            for i, (text, _) in enumerate(THE_COMPANY)]
    assert _match(tmp_path, capsys, rows) == [[name] for _, name in THE_COMPANY]
