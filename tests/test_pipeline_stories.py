"""Story detection (bot/pipeline/stories.py, story_features.py) and `newsbot cluster`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import story_articles as arts

from bot.cli import main
from bot.pipeline.stories import StoryWindow
from bot.pipeline.story_features import StoryFeatures, story_features

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)


def place(*articles: dict[str, str], step: timedelta = timedelta(hours=1)) -> list[str]:
    """The story id of each article, fed in order one ``step`` apart."""
    window = StoryWindow()
    stories = []
    for i, art in enumerate(articles):
        match = window.add(str(i), story_features(art["title"], art["text"]), T0 + i * step)
        stories.append(match.story if match else str(i))
    return stories


def test_syndicated_copy_and_rewrites_join_the_first_report() -> None:
    assert place(arts.MISTRAL_EN, arts.MISTRAL_SYNDICATED, arts.MISTRAL_REWRITE) == ["0", "0", "0"]


def test_reports_in_other_languages_join_by_names_and_numbers() -> None:
    assert place(arts.MISTRAL_EN, arts.MISTRAL_FR, arts.MISTRAL_DE) == ["0", "0", "0"]


def test_two_events_of_one_company_on_one_day_stay_apart() -> None:
    assert place(arts.MISTRAL_EN, arts.G42, arts.MISTRAL_REWRITE) == ["0", "1", "0"]


@pytest.mark.parametrize("later", [arts.CMA_INQUIRY, arts.MISTRAL_ACQUISITION])
def test_a_new_development_for_the_same_companies_is_a_new_story(later: dict[str, str]) -> None:
    assert place(arts.MISTRAL_EN, later) == ["0", "1"]


def test_the_window_separates_old_news() -> None:
    assert place(arts.MISTRAL_EN, arts.MISTRAL_SYNDICATED, step=timedelta(hours=80)) == ["0", "1"]


def test_amounts_read_the_same_in_every_notation() -> None:
    written = ["$2bn", "2 billion dollars", "2 Milliarden Dollar", "2 milliards de dollars",
               "2.000 millones de dólares", "two billion", "2,000 million"]
    assert {story_features("x", f"It costs {w}.").numbers for w in written} == {("2e+09",)}
    assert story_features("x", "Up 15 per cent, or 15%, 15 Prozent.").numbers == ("15%",)
    assert story_features("x", "In 2024, 12 people came.").numbers == ()


def test_why_a_story_was_joined_is_told() -> None:
    window = StoryWindow()
    window.add("first", story_features(**arts.MISTRAL_EN), T0)
    match = window.add("copy", story_features(**arts.MISTRAL_SYNDICATED), T0)
    assert match is not None and match.joined == "first"
    assert match.reason.startswith("near-copy")
    match = window.add("fr", story_features(**arts.MISTRAL_FR), T0)
    assert match is not None and "mistral ai" in match.reason and "2e+09" in match.reason


def test_signatures_survive_json() -> None:
    features = story_features(**arts.MISTRAL_DE)
    assert StoryFeatures.from_json(json.loads(json.dumps(features.to_json()))) == features


def test_cluster_command_prints_one_story_per_article(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        {"id": "a1", **arts.MISTRAL_EN, "url": "https://one.example/a",
         "published": "2026-03-02T08:00:00Z"},
        {"id": "g", **arts.G42, "published": "2026-03-02T08:30:00+00:00"},
        {"id": 7, **arts.MISTRAL_SYNDICATED, "url": "https://two.example/b?utm_source=x",
         "published": "Mon, 02 Mar 2026 10:00:00 GMT"},
        {"id": "undated", **arts.MISTRAL_FR},
        "not json",
        {"id": "late", **arts.MISTRAL_REWRITE, "published": "2026-03-09T08:00:00Z"},
    ]
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n",
                    encoding="utf-8")
    assert main(["cluster", "--json", str(path)]) == 1  # the bad line is reported
    out = capsys.readouterr()
    assert [json.loads(line) for line in out.out.splitlines()] == [
        {"id": "a1", "story": "a1"}, {"id": "g", "story": "g"}, {"id": "7", "story": "a1"},
        {"id": "undated", "story": "a1"}, {"id": "late", "story": "late"}]
    assert "line 5: not JSON" in out.err
    assert main(["cluster", "--window", "200", "--explain", str(path)]) == 1
    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert last["story"] == "a1" and last["reason"].startswith("same event")


def test_a_short_report_of_the_highlights_joins_the_full_report() -> None:
    assert place(arts.MISTRAL_EN, arts.MISTRAL_HIGHLIGHTS) == ["0", "0"]
    match = StoryWindow()
    match.add("full", story_features(**arts.MISTRAL_EN), T0)
    found = match.add("brief", story_features(**arts.MISTRAL_HIGHLIGHTS), T0)
    assert found is not None and found.reason.startswith("short report")


def test_a_short_report_of_another_event_of_the_company_stays_apart() -> None:
    assert place(arts.MISTRAL_EN, arts.G42_HIGHLIGHTS, arts.MISTRAL_HIGHLIGHTS) == ["0", "1", "0"]


@pytest.mark.parametrize(("first", "second"), [
    ("Acme Robotics shares rise", "Acme Robotics shares fall"),
    ("Acme Robotics news 0-1", "Acme Robotics news 0-2"),
    ("Acme Robotics opens a plant in Lyon", "Acme Robotics opens a plant in Turin"),
])
def test_short_title_only_items_of_one_company_are_not_near_copies(first: str,
                                                                   second: str) -> None:
    assert place({"title": first, "text": ""}, {"title": second, "text": ""}) == ["0", "1"]


def test_the_same_title_alone_from_two_feeds_is_one_story() -> None:
    item = {"title": "Acme Robotics recalls its warehouse robots", "text": ""}
    assert place(item, dict(item)) == ["0", "0"]
