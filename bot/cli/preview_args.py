"""`newsbot preview`'s arguments, apart from the command (bot/cli/preview.py), so building the
parser does not load the Slack and Discord renderers (slack_sdk) that `run --once` never uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PLATFORMS = ("discord", "slack")


def add_preview_parser(subparsers: Any) -> None:
    preview = subparsers.add_parser(
        "preview", help="print the Slack/Discord payload each matched article would be sent as")
    preview.add_argument("--platform", choices=PLATFORMS, required=True)
    preview.add_argument("--watchlist", type=Path,
                         help="watchlist YAML (default: CONFIG_DIR/watchlist.yaml)")
    preview.add_argument("--explain", action="store_true",
                         help="add which cues decided each ambiguous company name")
    preview.add_argument("--digest", action="store_true",
                         help="print the ONE digest message of all matched articles instead")
    preview.add_argument("articles", nargs="?", default="-", help="JSONL file, or - for stdin")
