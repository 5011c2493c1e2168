"""Small things a new user ran into (issue 15): each with a clear message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli import WATCHLIST

from bot.cli import main
from bot.cli.parser import build_parser
from bot.config.operator import load_config
from bot.domain.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def test_a_latin1_line_is_reported_by_number_and_a_bom_is_accepted(tmp_path, capsys) -> None:
    (tmp_path / "w.yaml").write_text(WATCHLIST, encoding="utf-8")
    first = json.dumps({"id": "a", "title": "Nvidia raises a funding round"})
    second = json.dumps({"id": "b", "title": "Société Nvidia"}, ensure_ascii=False)
    third = json.dumps({"id": "c", "title": "Nvidia again"})
    data = (b"\xef\xbb\xbf" + first.encode() + b"\n" + second.encode("latin-1") + b"\n"
            + third.encode() + b"\n")
    (tmp_path / "in.jsonl").write_bytes(data)
    assert main(["match", "--watchlist", str(tmp_path / "w.yaml"),
                 str(tmp_path / "in.jsonl")]) == 1
    out, err = capsys.readouterr()
    assert [line.split(":")[0] for line in out.splitlines() if not line.startswith(" ")] == \
        ["a", "c"]
    assert "line 2: not UTF-8 (invalid byte 0xe9" in err and "Traceback" not in err


def test_db_upgrade_says_what_it_did(tmp_path, capsys) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["db", "upgrade", "--db", db]) == 0
    assert "created the tables of a new database at " in capsys.readouterr().err
    assert main(["db", "upgrade", "--db", db]) == 0
    assert "is up to date (schema " in capsys.readouterr().err


def test_feeds_check_of_nothing_or_a_folder_is_a_clear_error(tmp_path, capsys) -> None:
    assert main(["feeds", "check", ""]) == 1
    assert "feeds check needs a feed: give an http(s) URL or a file path" in \
        capsys.readouterr().err
    assert main(["feeds", "check", str(tmp_path)]) == 1
    assert "not a file" in capsys.readouterr().err


@pytest.mark.parametrize("verbose", [True, False])
def test_verbose_works_after_the_subcommand(tmp_path, caplog, capsys, verbose) -> None:
    db = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["db", "upgrade", *(["-v"] if verbose else []), "--db", db]) == 0
    migrations = [r for r in caplog.records if r.name.startswith("alembic")]
    assert bool(migrations) == verbose
    assert build_parser().parse_args(["feeds", "export", "-v"]).verbose
    assert build_parser().parse_args(["-v", "audit"]).verbose
    assert not build_parser().parse_args(["audit"]).verbose


def test_discord_webhooks_are_named_where_destinations_are_explained(tmp_path) -> None:
    (tmp_path / "channels.yaml").write_text("destinations:\n  - to: telegram:123\n")
    with pytest.raises(ConfigError, match="discord-webhook:URL"):
        load_config(tmp_path)
    assert "discord-webhook:URL" in (REPO / "config" / "channels.yaml").read_text()


def test_a_path_feed_to_a_missing_file_is_refused_at_load(tmp_path) -> None:
    (tmp_path / "feeds.yaml").write_text("feeds:\n  - url: https://a.example/\n"
                                         "  - path: ../nowhere.rss\n")
    with pytest.raises(ConfigError, match=r"feeds.yaml: feed #2: 'path' '../nowhere.rss' is "
                                          r"not a file"):
        load_config(tmp_path)


def test_help_lists_every_command(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("run", "demo", "feeds", "match", "summarize", "preview", "db", "audit",
                    "import/export"):
        assert command in out



def test_feeds_yaml_reports_every_bad_entry_not_only_the_first(tmp_path) -> None:
    (tmp_path / "feeds.yaml").write_text(
        "feeds:\n  - url: ftp://a.example/\n  - path: nowhere.rss\n"
        "  - url: https://b.example/\n    interval_minutes: -3\n"
        "  - url: https://c.example/\n  - url: https://c.example/\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    lines = str(caught.value).splitlines()
    assert lines[0].endswith("feeds.yaml: 4 problems")
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "feed #1", "feed #2", "feed #3", "feed #5"]
    assert "listed twice (also feed #4)" in lines[4]


def test_html_input_offsets_index_the_extracted_text_as_documented(tmp_path, capsys) -> None:
    from bot.text.clean import html_to_text

    html = "<p>Intro <b>bold</b> &amp; text.</p><p>Then Nvidia said hi.</p>"
    articles = tmp_path / "h.jsonl"
    articles.write_text(json.dumps({"id": "h", "title": "t", "html": html}) + "\n")
    watchlist = tmp_path / "w.yaml"
    watchlist.write_text(WATCHLIST)
    assert main(["match", "--watchlist", str(watchlist), "--json", str(articles)]) == 0
    (match,) = json.loads(capsys.readouterr().out)["matches"]
    assert match["field"] == "text"
    assert html_to_text(html)[match["start"]:match["end"]] == "Nvidia"
    documented = (REPO / "docs" / "reference.md").read_text(encoding="utf-8")
    assert "for `html` input, `field` is `text`" in documented
