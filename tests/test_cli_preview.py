"""`newsbot preview`: one JSON line per matched article, the exact Slack/Discord payload."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bot.cli.preview import add_preview_parser, cmd_preview
from bot.config.settings import Settings

WATCHLIST = """\
companies:
  - name: Nvidia
    aliases: [NVDA]
  - name: Apple
    exclude: [apple pie]
topics:
  - name: Funding
    keywords: [invest*, funding round]
"""
ARTICLES = [
    {"id": "a1", "title": "Nvidia to invest in a lab", "url": "https://news.example.com/a1",
     "text": "Nvidia will invest 1bn. <!channel> @everyone <@U123> [x](javascript:alert(1))",
     "published": "2026-11-20T10:00:00Z"},
    {"id": "a2", "title": "Baking", "text": "A recipe for apple pie."},
    {"id": "a3", "title": "Start-up lands a funding round", "text": "It raised 5m."},
]


def run(tmp_path: Path, platform: str, capsys: pytest.CaptureFixture[str],
        extra: list[str] | None = None, lines: list[str] | None = None) -> tuple[int, list[dict]]:
    (tmp_path / "watchlist.yaml").write_text(WATCHLIST, encoding="utf-8")
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines or [json.dumps(a) for a in ARTICLES]) + "\n", encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_preview_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["preview", "--platform", platform, *(extra or []), str(src)])
    import asyncio

    code = asyncio.run(cmd_preview(args, Settings(config_dir=tmp_path)))
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines()]


def test_slack_payloads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, payloads = run(tmp_path, "slack", capsys)
    assert code == 0 and len(payloads) == 2  # the apple pie is no alert
    first = payloads[0]
    assert set(first) >= {"text", "blocks"}
    dumped = json.dumps(first)
    assert "<!channel>" not in dumped and "<@U123>" not in dumped
    assert "&lt;!channel&gt;" in dumped
    assert payloads[1]["blocks"][0]["text"]["text"] == "Start-up lands a funding round"


def test_discord_payloads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, payloads = run(tmp_path, "discord", capsys)
    assert code == 0 and len(payloads) == 2
    assert all(p["allowed_mentions"] == {"parse": []} for p in payloads)
    embed = payloads[0]["embeds"][0]
    assert embed["url"] == "https://news.example.com/a1"
    assert embed["timestamp"] == "2026-11-20T10:00:00+00:00"
    assert "@everyone" not in json.dumps(payloads[0]).replace("@\u200beveryone", "")


def test_explicit_watchlist_and_bad_lines(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.yaml"
    other.write_text("companies:\n  - name: Apple\n", encoding="utf-8")
    code, payloads = run(tmp_path, "slack", capsys, ["--watchlist", str(other)],
                         [json.dumps(ARTICLES[0]), "not json",
                          json.dumps({"id": "b", "title": "Apple results", "text": "Sales."})])
    assert code == 1  # the bad line is reported, the good ones still print
    assert [p["blocks"][0]["text"]["text"] for p in payloads] == ["Apple results"]
