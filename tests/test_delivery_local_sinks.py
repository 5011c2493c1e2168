"""The console and jsonl sinks: what a line holds, and exactly once after a crash (jsonl)."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.delivery.console import ConsoleSink
from bot.delivery.jsonl import JSONL_KEYS, JsonlSink
from bot.domain.alert import Alert, Match
from bot.domain.delivery import Delivery
from bot.domain.errors import PermanentDeliveryError

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def delivery(i: int, path: str = "out/alerts.jsonl", *, uncertain: bool = False) -> Delivery:
    alert = Alert(destination=f"jsonl:{path}", feed="Test News", url=f"https://n.example/{i}",
                  title=f"Nvidia news {i}", published=NOW, companies=("Nvidia",), topics=(),
                  summary="Nvidia did a thing.",
                  evidence=(Match("company", "Nvidia", "Nvidia", "title", 0, 6, "Nvidia news"),),
                  story=f"story-{i}")
    return Delivery(id=i, destination_id=1, address=f"jsonl:{path}", alert=alert,
                    uncertain=uncertain, last_attempt_at=NOW if uncertain else None)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_each_line_has_the_documented_keys_and_the_delivery_id(tmp_path) -> None:
    sink = JsonlSink(tmp_path)
    first = await sink.send(delivery(1))
    second = await sink.send(delivery(2))
    rows = lines(tmp_path / "out" / "alerts.jsonl")
    assert [r["delivery"] for r in rows] == [1, 2]
    assert set(rows[0]) == {*JSONL_KEYS, "delivery"}
    assert (first.message_id, second.message_id) == ("0", str(len(json.dumps(
        rows[0], ensure_ascii=False)) + 1))  # the byte offset of each line


async def test_an_in_doubt_resend_after_a_crash_is_not_written_twice(tmp_path) -> None:
    sink = JsonlSink(tmp_path)
    written = await sink.send(delivery(1))  # ... and the process died before recording it
    await sink.send(delivery(2))
    restarted = JsonlSink(tmp_path)
    again = delivery(1, uncertain=True)
    assert await restarted.find_sent(again) == written.message_id
    assert (await restarted.send(again)).message_id == written.message_id  # send checks too
    assert await restarted.find_sent(delivery(3, uncertain=True)) is None
    await restarted.send(delivery(3, uncertain=True))
    assert [r["delivery"] for r in lines(tmp_path / "out" / "alerts.jsonl")] == [1, 2, 3]


async def test_a_certain_delivery_is_written_without_reading_the_file(tmp_path) -> None:
    sink = JsonlSink(tmp_path)
    await sink.send(delivery(1))
    await sink.send(delivery(1))  # not in doubt: the outbox says it was never written
    assert len(lines(tmp_path / "out" / "alerts.jsonl")) == 2


async def test_another_alert_under_a_reused_id_is_not_taken_for_the_first(tmp_path) -> None:
    sink = JsonlSink(tmp_path)
    await sink.send(delivery(1))
    other = dataclasses.replace(delivery(1, uncertain=True),
                                alert=dataclasses.replace(delivery(1).alert, title="Other"))
    assert await sink.find_sent(other) is None  # a fresh database reusing ids loses nothing


async def test_only_the_tail_is_searched(tmp_path) -> None:
    sink = JsonlSink(tmp_path, tail_bytes=2000)
    await sink.send(delivery(1))
    for i in range(2, 12):
        await sink.send(delivery(i))
    assert await sink.find_sent(delivery(1, uncertain=True)) is None  # the documented window
    assert await sink.find_sent(delivery(11, uncertain=True)) is not None


async def test_a_torn_last_line_is_removed_not_glued_to_the_next(tmp_path) -> None:
    sink = JsonlSink(tmp_path)
    await sink.send(delivery(1))
    path = tmp_path / "out" / "alerts.jsonl"
    with path.open("ab") as fh:
        fh.write(b'{"destination": "jsonl:out/alerts.jsonl", "feed": "Te')  # power cut
    assert await sink.find_sent(delivery(2, uncertain=True)) is None
    await sink.send(delivery(2, uncertain=True))
    assert [r["delivery"] for r in lines(path)] == [1, 2]


async def test_a_whole_last_line_without_its_newline_is_kept(tmp_path) -> None:
    path = tmp_path / "hand.jsonl"
    path.write_text('{"note": "written by hand"}', encoding="utf-8")
    await JsonlSink(tmp_path).send(delivery(1, "hand.jsonl"))
    assert lines(path)[0] == {"note": "written by hand"} and lines(path)[1]["delivery"] == 1


async def test_concurrent_sends_keep_every_line_whole(tmp_path) -> None:
    sink = JsonlSink(tmp_path)
    await asyncio.gather(*(sink.send(delivery(i)) for i in range(50)))
    assert sorted(r["delivery"] for r in lines(tmp_path / "out" / "alerts.jsonl")) == list(
        range(50))


WRITER = """
import sys
from pathlib import Path
from bot.delivery.jsonl import append_once
path = Path(sys.argv[1])
big = "x" * 3000
print("ready", flush=True)
for i in range(1_000_000):
    append_once(path, {"delivery": i, "summary": big}, None)
"""


def test_kill_9_while_writing_never_leaves_half_a_line(tmp_path) -> None:
    path = tmp_path / "killed.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parent.parent)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    while proc.poll() is None and (not path.exists() or path.stat().st_size < 200_000):
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    data = path.read_bytes()
    assert data.endswith(b"\n")
    rows = [json.loads(line) for line in data.splitlines()]
    assert [r["delivery"] for r in rows] == list(range(len(rows))) and len(rows) >= 60


async def test_an_address_without_a_path_is_refused(tmp_path) -> None:
    with pytest.raises(PermanentDeliveryError, match="names no file"):
        await JsonlSink(tmp_path).send(delivery(1, path=""))


async def test_the_console_prints_safely_and_cannot_be_read_back() -> None:
    out = io.StringIO()
    sink = ConsoleSink(out)
    d = delivery(1)
    d = dataclasses.replace(d, alert=dataclasses.replace(d.alert, title="Nvidia \x1b[31mred"))
    await sink.send(d)
    assert "━━ Nvidia  [31mred" in out.getvalue() and "\x1b" not in out.getvalue()
    assert await sink.find_sent(dataclasses.replace(d, uncertain=True)) is None
