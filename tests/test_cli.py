"""The command-line contracts, run in-process through `bot.cli.parser.main`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import corpora_dir
from feedserver import Item, rss

from bot.cli import main

WATCHLIST = """
companies:
  - name: Mistral AI
    aliases: [Mistral]
    context: [AI, model, start-up]
    exclude: [mistral wind]
  - name: Nvidia
topics:
  - name: Funding
    keywords: [funding round, raises]
"""


@pytest.fixture
def watchlist(tmp_path: Path) -> Path:
    path = tmp_path / "watchlist.yaml"
    path.write_text(WATCHLIST, encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n",
                    encoding="utf-8")
    return path


def test_demo_prints_alerts_for_the_seed_feeds(capsys) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert out.count("━━ ") >= 5
    assert "https://" in out and "why:" in out


def test_match_json_follows_the_contract(tmp_path, watchlist, capsys) -> None:
    articles = write_jsonl(tmp_path / "a.jsonl", [
        {"id": "1", "title": "Mistral raises a funding round",
         "text": "The AI start-up Mistral closed a funding round."},
        {"id": "2", "title": "Weather", "text": "The mistral wind blew all day."},
        {"id": "3", "html": "<p>Nvidia <b>raises</b> prices.</p>"},
    ])
    assert main(["match", "--watchlist", str(watchlist), "--json", str(articles)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in lines] == ["1", "2", "3"]
    first = lines[0]
    assert first["companies"] == ["Mistral AI"] and first["topics"] == ["Funding"]
    for m in first["matches"]:
        assert set(m) == {"kind", "name", "alias", "field", "start", "end", "sentence", "evidence"}
        source = {"title": "Mistral raises a funding round",
                  "text": "The AI start-up Mistral closed a funding round."}[m["field"]]
        assert source[m["start"]:m["end"]].casefold() in {"mistral", "funding round", "raises"}
    assert lines[1]["companies"] == []
    assert lines[2]["companies"] == ["Nvidia"]


def test_bad_input_lines_are_reported_and_the_rest_still_processed(tmp_path, watchlist,
                                                                     capsys) -> None:
    articles = write_jsonl(tmp_path / "a.jsonl", [
        "{not json", {"id": "ok", "title": "Nvidia", "text": ""}, '["a list"]',
        {"id": "bad", "title": 5}])
    assert main(["match", "--watchlist", str(watchlist), "--json", str(articles)]) == 1
    captured = capsys.readouterr()
    assert [json.loads(x)["id"] for x in captured.out.splitlines()] == ["ok"]
    assert "line 1: not JSON" in captured.err and "line 3" in captured.err
    assert "line 4: 'title' must be a string" in captured.err


def test_summarize_json(tmp_path, capsys) -> None:
    text = ("Nvidia agreed to buy a start-up for $700 million on Monday. The deal is its largest "
            "this year. Analysts welcomed it. Shares rose 3% in early trading. More follows.")
    articles = write_jsonl(tmp_path / "a.jsonl",
                           [{"id": "x", "title": "Nvidia buys", "text": text}])
    assert main(["summarize", "--sentences", "2", "--json", str(articles)]) == 0
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert line["id"] == "x" and 1 <= len(line["sentences"]) <= 2
    assert all(s in text for s in line["sentences"])


def test_a_missing_watchlist_is_a_clear_error(tmp_path, capsys) -> None:
    assert main(["match", "--watchlist", str(tmp_path / "nope.yaml"), "-"]) == 1
    assert "nope.yaml" in capsys.readouterr().err


def realfeeds() -> list[Path]:
    base = corpora_dir("realfeeds")
    return sorted(p for p in base.rglob("*") if p.suffix in {".xml", ".rss", ".atom", ".json"})


@pytest.mark.parametrize("index", range(27))
def test_feeds_check_reads_every_real_feed_without_crashing(index, capsys) -> None:
    files = realfeeds()
    if index >= len(files):
        pytest.skip("fewer real feeds than expected")
    code = main(["feeds", "check", str(files[index])])
    captured = capsys.readouterr()
    if files[index].name == "unrecognized.rss":
        assert code == 1 and "ParseError" in captured.err
    else:
        assert code == 0, captured.err
        assert "entries" in captured.out.splitlines()[0]


def test_run_once_twice_posts_nothing_the_second_time(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    recent = datetime.now(UTC) - timedelta(hours=2)  # run --once reads the real clock: max_age
    feed = tmp_path / "news.rss"
    entries = [Item(f"g{i}", f"Nvidia raises funding round {i}", "Nvidia raises money.",
                    recent) for i in range(3)]
    feed.write_bytes(rss(entries))
    config = tmp_path / "config"
    config.mkdir()
    (config / "watchlist.yaml").write_text(WATCHLIST, encoding="utf-8")
    (config / "feeds.yaml").write_text("feeds:\n  - path: ../news.rss\n    backfill: 2\n")
    (config / "channels.yaml").write_text(
        "destinations:\n  - to: jsonl:out/alerts.jsonl\n    companies: ['*']\n")
    db = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    args = ["run", "--once", "--config", str(config), "--db", db]
    out = tmp_path / "out" / "alerts.jsonl"
    assert main(args) == 0
    assert len(out.read_text().splitlines()) == 2
    assert main(args) == 0
    assert len(out.read_text().splitlines()) == 2
    feed.write_bytes(rss([*entries, Item("new", "Nvidia raises again", "Nvidia raises.", recent)]))
    assert main(args) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[-1])["title"] == "Nvidia raises again"


def test_db_upgrade_and_empty_audit(tmp_path, capsys) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["db", "upgrade", "--db", db]) == 0
    assert main(["audit", "--db", db]) == 0
    assert capsys.readouterr().out == ""


def test_a_broken_config_is_refused_with_the_file_and_entry(tmp_path, capsys) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "feeds.yaml").write_text("feeds:\n  - url: ftp://example.com/feed\n")
    assert main(["run", "--once", "--config", str(config),
                 "--db", f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"]) == 1
    err = capsys.readouterr().err
    assert "feeds.yaml: feed #1" in err and "http" in err
