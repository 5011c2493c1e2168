"""Local sinks for the embedded default: the console (humans) and JSON lines (scripts)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TextIO

from ..errors import PermanentDeliveryError
from ..models import Alert, Delivery, SendResult


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
    platform = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    async def send(self, delivery: Delivery) -> SendResult:
        # control characters from feeds must not drive the terminal
        text = "".join(ch if ch.isprintable() or ch == "\n" else " "
                       for ch in format_console(delivery.alert))
        self.stream.write(text + "\n")
        self.stream.flush()
        return SendResult()

    async def find_sent(self, delivery: Delivery) -> str | None:
        return None

    async def close(self) -> None:
        return None


def jsonl_record(alert: Alert) -> dict[str, object]:
    """The `jsonl:PATH` contract: one alert a line with these keys."""
    data = alert.to_json()
    return {key: data[key] for key in ("destination", "feed", "url", "title", "published",
                                       "companies", "topics", "summary", "evidence")}


class JsonlSink:
    """Appends one JSON object a line to the file named by the destination (`jsonl:PATH`)."""

    platform = "jsonl"

    def __init__(self, base_dir: Path | None = None) -> None:
        self.base_dir = base_dir or Path.cwd()
        self._lock = asyncio.Lock()

    def _path(self, delivery: Delivery) -> Path:
        return self.base_dir / delivery.address.split(":", 1)[1]

    def _append(self, path: Path, line: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    async def send(self, delivery: Delivery) -> SendResult:
        line = json.dumps(jsonl_record(delivery.alert), ensure_ascii=False)
        path = self._path(delivery)
        try:
            async with self._lock:
                await asyncio.to_thread(self._append, path, line)
        except OSError as exc:
            raise PermanentDeliveryError(f"cannot write {path}: {exc.strerror}") from exc
        return SendResult()

    async def find_sent(self, delivery: Delivery) -> str | None:
        return None

    async def close(self) -> None:
        return None
