"""`why`, `preview` and `newsbot preview --explain` say which cues decided each ambiguous company
name, in words a channel member reads, escaped and inside the platforms' limits."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import pytest
from commands_helpers import User, make_service
from feedserver import Item, rss
from test_chat_why_preview import FEED, StaticFetcher, link, poll

from bot.adapters.discord.groups import reply_content
from bot.adapters.slack.reply import render_reply
from bot.chat.preview import explain_evidence
from bot.cli.preview import add_preview_parser, cmd_preview
from bot.config.settings import Settings
from bot.domain.watchlist import Company, Watchlist
from bot.pipeline.evidence import EVIDENCE_MAX, explain_lines, reading
from bot.pipeline.match import compile_watchlist

WATCHED = Watchlist(companies=(
    Company("Apple", context=("iPhone", "shares")), Company("Shell", senses=("sea", "beach*")),
    Company("Ford", context=("cars",), people=("Doug Ford",)),
    Company("Next", exclude=("Next <time>",)), Company("Nvidia")))


def explained(text: str, title: str = "") -> list[str]:
    matcher = compile_watchlist(WATCHED)
    return explain_lines([reading(s) for s in matcher.explain(title, text)])


def test_the_deciding_cues_are_quoted_from_the_text() -> None:
    (apple,) = explained("Apple's chief executive said the shares would recover.")
    assert apple.startswith("Apple: counted — ")
    assert "(possessive + business noun)" in apple and "“Apple's chief" in apple
    assert "“shares” (context)" in apple
    (shell,) = explained("She collected sea shells by the Shell at the harbour.")
    assert shell.startswith("Shell: not counted — ") and "“sea” (sense word)" in shell


def test_vetoed_occurrences_quote_the_exclusion_or_the_person_as_written() -> None:
    lines = explained("Doug Ford said tariffs hurt. Next Spring, Ford cars will be recalled.")
    assert "Ford: counted — “cars” (context)" in lines[0]
    assert "Ford: not counted — “Doug Ford” (a person named like the company)" in lines
    assert "Next: not counted — “Next Spring” (exclusion)" in lines


def test_names_that_are_not_ambiguous_need_no_explanation_and_matching_is_unchanged() -> None:
    matcher = compile_watchlist(WATCHED)
    text = "Nvidia said it would invest. Apple's chief executive said shares rose."
    before = matcher.match("", text)
    assert [s.name for s in matcher.explain("", text)] == ["Apple"]
    assert matcher.match("", text) == before and before.companies == ("Nvidia", "Apple")


def test_many_companies_stay_inside_the_budget() -> None:
    companies = tuple(Company(f"Name{chr(97 + i)}", context=("x" * 40,)) for i in range(20))
    text = " ".join(f"Name{chr(97 + i)} said {'x' * 40} would rise." for i in range(20))
    lines = explain_lines([reading(s) for s in
                           compile_watchlist(Watchlist(companies)).explain("", text)])
    assert sum(len(line) + 1 for line in lines) <= EVIDENCE_MAX < 1024
    assert lines[-1].startswith("… and ") and len(lines) <= 7
    block = explain_evidence([reading(s) for s in
                              compile_watchlist(Watchlist(companies)).explain("", text)])
    assert len(block) <= EVIDENCE_MAX and block.startswith("Ambiguous names:\n• Namea: counted")


@pytest.fixture
async def channel(storage, clock):
    service = make_service(storage, clock)
    admin = User(service, admin=True)
    assert (await admin("watch add company Apple context iPhone, shares")).ok
    assert (await admin("watch add company Shell senses sea, beach* people Shell Smith")).ok
    assert (await admin("subscribe company Apple")).ok
    return service, admin


async def test_preview_says_which_cues_decided(channel) -> None:
    _, admin = channel
    reply = await admin("preview Apple's chief executive said iPhone sales fell. "
                        "Children collected sea shells; a Shell lay on the sand.")
    assert reply.ok and len(reply.alerts) == 1 and reply.alerts[0].companies == ("Apple",)
    lines = reply.text.splitlines()
    assert lines[0].startswith("Matched Apple") and lines[1] == "Ambiguous names:"
    assert lines[2].startswith("• Apple: counted (2 times) — “iPhone” (context)")  # title, text
    assert "(possessive + business noun)" in lines[2]
    assert lines[3].startswith("• Shell: not counted (2 times) — “sea” (sense word)")
    assert lines[4] == "This channel gets it under: Apple."
    nothing = await admin("preview Children collected sea shells; a Shell lay on the sand.")
    assert nothing.alerts == () and "• Shell: not counted" in nothing.text


async def test_why_explains_a_rejected_name_escaped_for_each_platform(channel, storage,
                                                                      clock) -> None:
    service, admin = channel
    assert (await admin("feeds add " + FEED)).ok
    fetcher = StaticFetcher()
    await poll(storage, fetcher, clock)
    clock.advance(minutes=20)
    hostile = ("Shell Smith, <!channel> @everyone **now**, said the beach was busy. "
               "Apple, <!here> @everyone *today*, said iPhone sales rose.")
    fetcher.body = rss([Item("h1", "Beach day", hostile, link=link("beach"))])
    await poll(storage, fetcher, clock)
    reply = await User(service)("why " + link("beach"))
    assert "• Shell: not counted — “Shell Smith” (a person named like the company)" in reply.text
    assert "• Apple: counted — “Apple, <!here> @everyone *today*, said”" in reply.text
    slack = json.dumps(render_reply(reply))
    assert "<!here>" not in slack and "&lt;!here&gt;" in slack
    discord = reply_content(reply)
    assert "@everyone" not in discord and "\\*today\\*" in discord and len(discord) <= 2000
    assert "Apple: counted" in discord


WATCHLIST_YAML = """\
companies:
  - name: Shell
    senses: [sea, beach*]
  - name: Nvidia
"""


def run_cli(tmp_path: Path, platform: str, capsys: pytest.CaptureFixture[str],
            articles: list[dict]) -> list[dict]:
    (tmp_path / "watchlist.yaml").write_text(WATCHLIST_YAML, encoding="utf-8")
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(a) for a in articles) + "\n", encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_preview_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["preview", "--platform", platform, "--explain", str(src)])
    assert asyncio.run(cmd_preview(args, Settings(config_dir=tmp_path))) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


ARTICLES = [
    {"id": "a", "title": "Results", "text": "Shell said profits rose; Nvidia <!channel> too."},
    {"id": "b", "title": "Holiday", "text": "We found sea shells *and* a Shell @everyone here."},
    {"id": "c", "title": "Weather", "text": "Rain all week."},
]


def test_cli_preview_explain_slack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = run_cli(tmp_path, "slack", capsys, ARTICLES)
    why = first["blocks"][-1]["text"]["text"]
    assert why.startswith("*Why:* Shell: counted — “Shell said”") and len(why) <= 3000
    assert second["blocks"][-1]["text"]["text"].startswith("*Why:* Shell: not counted")
    assert "<!channel>" not in json.dumps(first)


def test_cli_preview_explain_discord(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = run_cli(tmp_path, "discord", capsys, ARTICLES)
    field = first["embeds"][0]["fields"][-1]
    assert field["name"] == "Why" and field["value"].startswith("Shell: counted")
    assert len(field["value"]) <= 1024
    value = second["embeds"][0]["fields"][-1]["value"]
    assert value.startswith("Shell: not counted") and len(value) <= 1024
    assert all(p["allowed_mentions"] == {"parse": []} for p in (first, second))
