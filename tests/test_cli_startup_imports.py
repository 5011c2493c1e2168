"""`newsbot run --once` from cron pays only for what a polling cycle needs: the chat adapters,
the feed parser (it runs in the parse workers) and the other commands' tools are not imported
by the time `run` starts its work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
from bot.cli.commands import handler
from bot.cli.parser import build_parser
handler(build_parser().parse_args(["run", "--once"]))
print(json.dumps(sorted(sys.modules)))
"""


def test_run_once_imports_no_adapter_parser_or_other_command() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=120).stdout
    loaded = set(json.loads(out))
    assert "bot.cli.run" in loaded  # the probe did reach the command
    for absent in ("slack_sdk", "slack_bolt", "discord", "feedparser", "alembic",
                   "bot.adapters.slack", "bot.adapters.discord", "bot.chat.service",
                   "bot.cli.tools", "bot.cli.cluster", "bot.cli.preview", "bot.cli.opml"):
        assert absent not in loaded, f"`run --once` imported {absent}"
