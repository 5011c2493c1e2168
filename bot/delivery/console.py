"""The ``console`` sink (humans): alerts printed as plain text, best effort.

The terminal cannot be read back, so an alert whose outcome was in doubt when newsbot crashed is
printed again. (The JSON-lines sink, exactly once, is bot/delivery/jsonl.py.)
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from bot.domain.alert import Alert
from bot.domain.delivery import Delivery, SendResult

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one writer per file
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)


def also_covered(alert: Alert, merged: tuple[str, ...] = ()) -> str:
    """A follow-up under its story's alert: the other outlet, its title and link (and the
    outlets of later reports merged into it)."""
    more = [o for o in dict.fromkeys(merged) if o and o != alert.feed]
    return f"   ↳ Also covered by {alert.feed}: {alert.title}" + (
        f"\n     {alert.url}" if alert.url else "") + (
        f"\n     and by {', '.join(more)}" if more else "")


def format_console(alert: Alert) -> str:
    """A plain-text alert: title, where and when, why, summary, link."""
    when = alert.published.strftime("%Y-%m-%d %H:%M UTC") if alert.published else "undated"
    tags = " · ".join(filter(None, [", ".join(alert.companies), ", ".join(alert.topics)]))
    lines = [f"━━ {alert.title}", f"   {alert.feed} · {when} · {tags}"]
    if alert.reasons:
        lines.append(f"   subscribed: {', '.join(alert.reasons)}")
    if alert.summary:
        lines.append(f"   {alert.summary}")
    if hit := alert.hit_sentence:
        lines.append(f"   why: “{hit}”")
    if alert.url:
        lines.append(f"   {alert.url}")
    return "\n".join(lines) + "\n"


class ConsoleSink:
    """Prints alerts; best effort after a crash (see the module docstring)."""

    platform = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    async def send(self, delivery: Delivery) -> SendResult:
        # control characters from feeds must not drive the terminal
        shown = (also_covered(delivery.alert, delivery.also_covered)
                 if delivery.reply_to_story is not None
                 else format_console(delivery.alert))  # issue 12: a follow-up is one line
        text = "".join(ch if ch.isprintable() or ch == "\n" else " " for ch in shown)
        self.stream.write(text + "\n")
        self.stream.flush()
        return SendResult()

    async def find_sent(self, delivery: Delivery) -> str | None:
        return None  # the console cannot be read back

    async def close(self) -> None:
        return None


# --- the file, under an exclusive lock ------------------------------------------------------------


