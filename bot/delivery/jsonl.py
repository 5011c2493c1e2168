"""The ``jsonl:PATH`` sink (scripts): one JSON line per alert, exactly once after a crash.

Every line carries the outbox row's id under ``delivery``. A line is written with one ``write`` of
the whole line, then ``fsync``, under an exclusive ``flock`` (several workers may share a file), so
a kill -9 never leaves half a line. When a delivery is in doubt (``Delivery.uncertain``: the
previous attempt may have written it), ``find_sent`` and ``send`` look for its line in the last
``TAIL_BYTES`` of the file first and do not write it again. A last line cut by a power loss or a
full disk (no newline at the end, not valid JSON) is removed before the next write, so it is never
glued to the next line; its delivery was never recorded as sent and is written again whole.
"""


from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.domain.address import Address
from bot.domain.alert import Alert
from bot.domain.delivery import Delivery, SendResult
from bot.domain.errors import PermanentDeliveryError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one writer per file
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

TAIL_BYTES = 1 << 20  # how far back an in-doubt delivery is looked for (~300+ alerts)
JSONL_KEYS = ("destination", "feed", "url", "title", "published", "companies", "topics",
              "summary", "evidence")


def jsonl_record(alert: Alert, delivery: int | None = None) -> dict[str, object]:
    """The `jsonl:PATH` contract: one alert a line with these keys (and ``delivery``, the outbox
    row's id, when the line is written by the outbox)."""
    data = alert.to_json()
    record: dict[str, object] = {key: data[key] for key in JSONL_KEYS}
    if delivery is not None:
        record["delivery"] = delivery
    return record


def _record(delivery: Delivery) -> dict[str, object]:
    record = jsonl_record(delivery.alert, delivery.id)
    if delivery.reply_to_story is not None:  # issue 12: a later report of an alerted story
        record["followup_of"] = delivery.reply_to_story
    return record


class JsonlSink:
    """Appends one JSON object a line to the file named by the destination (`jsonl:PATH`).

    ``message_id`` is the byte offset of the alert's line in the file.
    """

    platform = "jsonl"

    def __init__(self, base_dir: Path | None = None, *, tail_bytes: int = TAIL_BYTES) -> None:
        self.base_dir = base_dir or Path.cwd()
        self.tail_bytes = tail_bytes
        self._lock = asyncio.Lock()

    def _path(self, delivery: Delivery) -> Path:
        target = Address.parse(delivery.address).target
        if not target:
            raise PermanentDeliveryError(f"{delivery.address!r} names no file (jsonl:PATH)")
        return self.base_dir / target

    async def send(self, delivery: Delivery) -> SendResult:
        record = _record(delivery)
        path = self._path(delivery)
        check = record if delivery.uncertain else None
        try:
            async with self._lock:
                offset = await asyncio.to_thread(append_once, path, record, check,
                                                 self.tail_bytes)
        except OSError as exc:
            raise PermanentDeliveryError(f"cannot write {path}: {exc.strerror}") from exc
        return SendResult(message_id=str(offset))

    async def send_many(self, deliveries: Sequence[Delivery]) -> list[SendResult]:
        """Write the lines of a prefix of ``deliveries`` (of one file; at least the first) with
        one ``write`` and one ``fsync``; the prefix is at most half the tail a delivery in doubt
        is looked for in, so after a crash each of its lines is found."""
        path = self._path(deliveries[0])
        lines: list[bytes] = []
        size = 0
        for delivery in deliveries:
            if delivery.address != deliveries[0].address:
                break
            line = _line(_record(delivery))
            if lines and size + len(line) > self.tail_bytes // 2:
                break
            lines.append(line)
            size += len(line)
        try:
            async with self._lock:
                offsets = await asyncio.to_thread(append_lines, path, lines, self.tail_bytes)
        except OSError as exc:
            raise PermanentDeliveryError(f"cannot write {path}: {exc.strerror}") from exc
        return [SendResult(message_id=str(offset)) for offset in offsets]

    async def find_sent(self, delivery: Delivery) -> str | None:
        """The offset of this delivery's line if it is in the file's tail, else None."""
        path = self._path(delivery)
        record = _record(delivery)
        try:
            async with self._lock:
                offset = await asyncio.to_thread(find_in_file, path, record, self.tail_bytes)
        except OSError as exc:
            raise PermanentDeliveryError(f"cannot read {path}: {exc.strerror}") from exc
        return None if offset is None else str(offset)

    async def close(self) -> None:
        return None


@contextmanager
def _locked(path: Path, flags: int) -> Iterator[int]:
    fd = os.open(path, flags, 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)  # closing releases the lock


def append_once(path: Path, record: dict[str, Any], check: dict[str, Any] | None,
                tail_bytes: int = TAIL_BYTES) -> int:
    """Append ``record`` as one line unless ``check`` is already in the tail; the line's offset.

    One ``write`` of the whole line, then ``fsync``: a line is on disk whole before the
    delivery is recorded as sent.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    line = _line(record)
    with _locked(path, os.O_RDWR | os.O_CREAT | os.O_APPEND) as fd:
        if check is not None and (found := _find(fd, check, tail_bytes)) is not None:
            return found
        offset = _repair_tail(fd, path, tail_bytes)
        _write_all(fd, line)
        return offset


def append_lines(path: Path, lines: Sequence[bytes], tail_bytes: int = TAIL_BYTES) -> list[int]:
    """Append whole ``lines`` (each ending in a newline) with one ``write`` and one ``fsync``;
    their offsets. None of them is in doubt (never attempted before)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path, os.O_RDWR | os.O_CREAT | os.O_APPEND) as fd:
        offset = _repair_tail(fd, path, tail_bytes)
        offsets = []
        for line in lines:
            offsets.append(offset)
            offset += len(line)
        _write_all(fd, b"".join(lines))
        return offsets


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def _write_all(fd: int, data: bytes) -> None:
    """Then ``fsync``: the lines are on disk whole before their deliveries are recorded sent."""
    written = 0
    while written < len(data):  # a regular file takes it in one go unless the disk fills
        written += os.write(fd, data[written:])
    os.fsync(fd)


def find_in_file(path: Path, record: dict[str, Any], tail_bytes: int = TAIL_BYTES) -> int | None:
    """The offset of the line equal to ``record`` among the last ``tail_bytes``, else None."""
    if not path.exists():
        return None
    with _locked(path, os.O_RDONLY) as fd:
        return _find(fd, record, tail_bytes)


def _tail(fd: int, tail_bytes: int) -> tuple[int, bytes]:
    size = os.fstat(fd).st_size
    start = max(size - tail_bytes, 0)
    return start, os.pread(fd, size - start, start)


def _find(fd: int, record: dict[str, Any], tail_bytes: int) -> int | None:
    wanted = json.loads(json.dumps(record))  # as it reads back from the file
    start, chunk = _tail(fd, tail_bytes)
    offset = start
    for i, raw in enumerate(chunk.split(b"\n")):
        if not (i == 0 and start > 0):  # the first piece of a cut tail is not a whole line
            try:
                if json.loads(raw) == wanted:
                    return offset
            except ValueError:
                pass
        offset += len(raw) + 1
    return None


def _repair_tail(fd: int, path: Path, tail_bytes: int) -> int:
    """Make the file end with a newline; return where the next line starts.

    A last line without its newline that is valid JSON gets its newline; one that is not (cut
    by a power loss or a full disk) is removed.
    """
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":  # the usual case: read one byte
        return size
    start, chunk = _tail(fd, tail_bytes)
    cut = chunk.rfind(b"\n") + 1
    if cut == 0 and start > 0:  # a last line longer than the tail: keep it, end it
        os.write(fd, b"\n")
        return start + len(chunk) + 1
    try:
        json.loads(chunk[cut:])
    except ValueError:
        os.ftruncate(fd, start + cut)
        log.warning("%s: removed an incomplete last line (%d bytes) left by a crash", path,
                    len(chunk) - cut)
        return start + cut
    os.write(fd, b"\n")
    return start + len(chunk) + 1
