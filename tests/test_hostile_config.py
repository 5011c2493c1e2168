"""Hostile config and input, as an attacker or a careless operator would write them.

Every case runs the real CLI in-process (``bot.cli.main``): exit code 1, one short message that
names the file, the entry and the problem, no traceback, and the webhook token (set in the
environment, referenced as ``${HOOK}``) in no output and no log record.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from bot.config.operator import load_config

TOKEN = "tOkEn-Zq9x8Yw7-SeCrEt"
HOOK = f"https://discord.com/api/webhooks/987654321/{TOKEN}"
WATCHLIST = "companies:\n  - name: Nvidia\ntopics:\n  - name: Funding\n    keywords: [raises]\n"
FEEDS = "feeds:\n  - url: https://news.example.com/rss\n"
CHANNELS = "destinations:\n  - to: console\n    companies: ['*']\n"
MAX_MESSAGE = 600

# a 600-byte "billion laughs": 9 levels of 9 aliases
BOMB = "lol: &a [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    f"{b}: &{b} [" + ",".join([f"*{a}"] * 9) + "]\n"
    for a, b in zip("abcdefgh", "bcdefghi", strict=True))


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> Run:
    """Write the config files (text or bytes), run ``newsbot run --once`` on them."""
    monkeypatch.setenv("HOOK", HOOK)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DISCORD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    caplog.set_level(logging.DEBUG)

    def go(*, feeds: str | bytes = FEEDS, channels: str | bytes = CHANNELS,
           watchlist: str | bytes = WATCHLIST) -> tuple[int, str, str]:
        cfg = tmp_path / "config"
        cfg.mkdir(exist_ok=True)
        for name, content in (("feeds", feeds), ("channels", channels),
                              ("watchlist", watchlist)):
            path = cfg / f"{name}.yaml"
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        code = main(["run", "--once", "--config", str(cfg),
                     "--db", f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}"])
        out, err = capsys.readouterr()
        for text in (out, err, caplog.text):
            assert TOKEN not in text and TOKEN.lower() not in text.lower()
        assert "Traceback" not in err and "Traceback" not in caplog.text
        return code, out, err

    return go


CASES: dict[str, tuple[dict[str, str | bytes], str]] = {
    # wrong types
    "defaults is a list": ({"feeds": "defaults: [1]\n" + FEEDS},
                           "feeds.yaml: defaults: expected a mapping"),
    "company_and_topic is a number": (
        {"channels": "destinations:\n  - to: console\n    company_and_topic: 5\n"},
        "channels.yaml: destination #1: 'company_and_topic' must be a list, got int 5"),
    "company_and_topic pair is a list": (
        {"channels": "destinations:\n  - to: console\n    company_and_topic: [[Nvidia]]\n"},
        "company_and_topic #1: expected {company: ..., topic: ...}"),
    "mixed-type unknown keys in a feed": (
        {"feeds": "feeds:\n  - url: https://a.example.com/\n    1: x\n    colour: red\n"},
        "feeds.yaml: feed #1: unknown key 1"),
    "mixed-type unknown keys in a watchlist entry": (
        {"watchlist": "companies:\n  - name: Nvidia\n    1: x\n    alias: [a]\n"},
        "unknown key 1"),
    "url is a number": ({"feeds": "feeds:\n  - url: 5\n"}, "feed #1: 'url' must be text"),
    "title is a list": ({"feeds": "feeds:\n  - url: https://a.example.com/\n    title: [a]\n"},
                        "feed #1: 'title' must be text"),
    "interval far too large": (
        {"feeds": "feeds:\n  - url: https://a.example.com/\n    interval_minutes: "
                  + "9" * 40 + "\n"},
        "'interval_minutes' must be a whole number from 1 to 10080"),
    "feeds is a mapping": ({"feeds": "feeds: {url: https://a.example.com/}\n"},
                           "feeds.yaml: 'feeds' must be a list, got dict"),
    "destination is text": ({"channels": "destinations:\n  - console\n"},
                            "destination #1: expected a mapping like {to: console}"),
    "to is a list": ({"channels": "destinations:\n  - to: [console]\n"},
                     "destination #1: needs 'to'"),
    "top level is a list": ({"channels": "- to: console\n"},
                            "channels.yaml: expected a mapping like 'destinations: [...]'"),
    # typos that used to mean "nothing configured"
    "feed: for feeds:": ({"feeds": "feed:\n  - url: https://a.example.com/\n"},
                         "feeds.yaml: top level: unknown key 'feed' (did you mean 'feeds'?)"),
    "destination: for destinations:": (
        {"channels": "destination:\n  - to: console\n"},
        "channels.yaml: top level: unknown key 'destination' (did you mean 'destinations'?)"),
    # duplicates
    "duplicate YAML key": ({"feeds": FEEDS + "feeds: []\n"},
                           "feeds.yaml: not valid YAML: the key 'feeds' is given twice"),
    "duplicate key inside an entry": (
        {"channels": "destinations:\n  - to: console\n    to: jsonl:a.jsonl\n"},
        "the key 'to' is given twice in one mapping"),
    "duplicate destination": (
        {"channels": "destinations:\n  - to: jsonl:a.jsonl\n    companies: [Nvidia]\n"
                     "  - to: JSONL:a.jsonl\n    topics: [Funding]\n"},
        "destination #2: 'JSONL:a.jsonl' is the same destination as destination #1"),
    "duplicate webhook destination": (
        {"channels": "destinations:\n  - to: discord-webhook:${HOOK}\n    companies: ['*']\n"
                     f"  - to: discord-webhook:{HOOK}\n    companies: ['*']\n"},
        "destination #2: 'discord-webhook:https://discord.com/api/webhooks/987654321/***' is "
        "the same destination as destination #1 ('discord-webhook:${HOOK}')"),
    # alias bombs and nesting
    "billion laughs in feeds.yaml": ({"feeds": BOMB}, "feeds.yaml: aliases (*name) expand"),
    "billion laughs in watchlist.yaml": ({"watchlist": BOMB + WATCHLIST},
                                         "watchlist.yaml: aliases (*name) expand"),
    "recursive alias": ({"feeds": "feeds: &x [*x]\n"}, "a YAML alias refers to itself"),
    "deep nesting": ({"feeds": "feeds: " + "[" * 100_000}, "nested too deeply"),
    # encodings
    "latin-1 file": ({"watchlist": "companies:\n  - name: Soci\xe9t\xe9\n".encode("latin-1")},
                     "watchlist.yaml: not UTF-8 text (invalid byte 0xe9 on line 2)"),
    "UTF-16 file": ({"feeds": FEEDS.encode("utf-16")},
                    "feeds.yaml: the file is UTF-16 text, not UTF-8"),
    "NUL byte": ({"feeds": FEEDS + "\x00\n"}, "feeds.yaml: not valid YAML"),
    # mistyped destination kinds with a secret: the expansion is never printed
    "discord-webhok": ({"channels": "destinations:\n  - to: discord-webhok:${HOOK}\n"},
                       "unknown destination kind in 'discord-webhok:${HOOK}' "
                       "(did you mean 'discord-webhook'?)"),
    "discord_webhook": ({"channels": "destinations:\n  - to: discord_webhook:${HOOK}\n"},
                        "did you mean 'discord-webhook'?"),
    "whole address from the environment": ({"channels": "destinations:\n  - to: ${HOOK}\n"},
                                           "unknown destination kind in '${HOOK}'"),
    "webhook pasted with a typo": (
        {"channels": f"destinations:\n  - to: discord-webhok:{HOOK}\n"},
        "unknown destination kind in 'discord-webhok:https://discord.com/api/webhooks/"
        "987654321/***'"),
    "upper-case webhook URL with a typo": (
        {"channels": "destinations:\n  - to: Discord-Webhok:"
                     + HOOK.replace("discord.com/api/webhooks", "DISCORD.COM/API/WEBHOOKS") + "\n"},
        "'Discord-Webhok:https://DISCORD.COM/API/WEBHOOKS/987654321/***'"),
    "watchlist company: for companies:": (
        {"watchlist": "company:\n  - name: Nvidia\n"},
        "unknown key 'company' (did you mean 'companies'?)"),
    "kind without target": ({"channels": "destinations:\n  - to: slack\n"},
                            "slack needs a target"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_hostile_config_is_one_clear_error(run: Run, case: str) -> None:
    files, expected = CASES[case]
    code, out, err = run(**files)
    assert code == 1, err
    assert expected in err, err
    assert err.startswith("newsbot: ") and str(Path("config")) in err
    assert len(err) < MAX_MESSAGE, err  # the alias bomb once gave a 52 MB message


def test_the_bomb_is_about_600_bytes_and_costs_nothing_to_refuse() -> None:
    assert 300 < len(BOMB.encode()) <= 600


def test_destination_kinds_are_case_insensitive(tmp_path: Path) -> None:
    (tmp_path / "channels.yaml").write_text(
        "destinations:\n  - to: Discord-Webhook:${HOOK}\n    companies: ['*']\n"
        "  - to: CONSOLE\n    companies: ['*']\n")
    (tmp_path / "watchlist.yaml").write_text(WATCHLIST)
    config = load_config(tmp_path, env={"HOOK": HOOK})
    assert [d.address for d in config.destinations] == [f"discord-webhook:{HOOK}", "console"]


def test_a_good_config_still_loads(run: Run) -> None:
    code, _, err = run(feeds="defaults: {interval_minutes: 5}\nfeeds: []\n",
                       channels=CHANNELS + "  - to: discord-webhook:${HOOK}\n"
                                           "    company_and_topic: [{company: Nvidia, "
                                           "topic: Funding}]\n")
    assert code == 0, err


# --- JSON lines input -----------------------------------------------------------------------------
def test_hostile_json_lines_are_per_line_errors_and_good_lines_still_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text(WATCHLIST)
    lines = [
        json.dumps({"id": "good-1", "title": "Nvidia raises money"}).encode(),
        b"[" * 100_000 + b"]" * 100_000,
        b'{"id": ' + b"7" * 5000 + b', "title": "Nvidia"}',
        b'{"id": "x", "title": "Nvidia \\ud800 raises"}',
        b"[1, 2]",
        b'"just text"',
        b"not json at all",
        b'{"id": "latin", "title": "Soci\xe9t\xe9"}',
        b'{"id": {"a": 1}, "title": "Nvidia"}',
        b'{"id": "' + b"i" * 300 + b'", "title": "Nvidia"}',
        json.dumps({"id": 10, "title": "Nvidia again"}).encode(),
    ]
    articles = tmp_path / "articles.jsonl"
    articles.write_bytes(b"\n".join(lines) + b"\n")
    code = main(["match", "--watchlist", str(watchlist), "--json", str(articles)])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["good-1", "10"]
    assert err.splitlines() == [
        "newsbot: line 2: JSON nested too deeply",
        "newsbot: line 3: a number has more than 4300 digits",
        "newsbot: line 4: 'title' contains a lone surrogate (like \\ud800), which is not text",
        "newsbot: line 5: expected a JSON object, got a JSON list",
        "newsbot: line 6: expected a JSON object, got a JSON str",
        "newsbot: line 7: not JSON (Expecting value at column 1)",
        "newsbot: line 8: not UTF-8 (invalid byte 0xe9 at byte 31)",
        "newsbot: line 9: 'id' must be a string or a whole number",
        "newsbot: line 10: 'id' is 300 characters long; the limit is 256",
    ]


def test_summarize_reads_hostile_stdin_line_by_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    data = b'{"id": 1, "text": "Nvidia raised money. It was big."}\n\xff\xfe\n[[[]]]\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["summarize", "--json", "-"]) == 1
    out, err = capsys.readouterr()
    assert json.loads(out)["id"] == "1"
    assert err.splitlines() == ["newsbot: line 2: not UTF-8 (invalid byte 0xff at byte 1)",
                                "newsbot: line 3: expected a JSON object, got a JSON list"]


def test_a_hostile_watchlist_for_match_is_a_clear_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    watchlist = tmp_path / "wl.yaml"
    watchlist.write_text(BOMB)
    assert main(["match", "--watchlist", str(watchlist), "-"]) == 1
    err = capsys.readouterr().err
    assert "wl.yaml: aliases (*name) expand" in err and len(err) < MAX_MESSAGE


def test_a_fifo_or_folder_as_config_file_is_refused_without_blocking(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    os.mkfifo(tmp_path / "feeds.yaml")  # opening it to read would wait for a writer forever
    (tmp_path / "channels.yaml").mkdir()
    (tmp_path / "watchlist.yaml").write_text(WATCHLIST)
    args = ["run", "--once", "--config", str(tmp_path),
            "--db", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"]
    assert main(args) == 1
    assert "feeds.yaml: not a regular file" in capsys.readouterr().err
    (tmp_path / "feeds.yaml").unlink()
    assert main(args) == 1
    assert "channels.yaml: not a regular file" in capsys.readouterr().err
