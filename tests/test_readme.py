"""The README's two set-up commands stay true: CI runs the same test command."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def setup_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", quick, re.S)]


def test_readme_starts_with_exactly_two_setup_commands() -> None:
    run, test = setup_commands()
    assert run == "pip install -e . && newsbot demo"
    assert test == "pip install -e '.[dev]' && pytest"


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert setup_commands()[1] in ci
    assert "NEWSBOT_REQUIRE_POSTGRES=1" in ci


def test_every_cli_command_is_documented() -> None:
    from bot.cli.parser import build_parser

    text = (REPO / "README.md").read_text(encoding="utf-8")
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:  # type: ignore[union-attr]
        assert f"newsbot {name}" in text, name
