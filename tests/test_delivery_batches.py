"""A batch sink (jsonl) takes many due alerts of a destination at once: one transaction marks them
attempted, one write and one fsync land them, one transaction marks them sent. A crash or an
error at any point between still ends with every alert in the file exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_delivery_faults import queue
from test_delivery_local_sinks import delivery, lines

from bot.delivery.jsonl import JsonlSink, _record
from bot.domain.delivery import Delivery, SendResult
from bot.domain.errors import PermanentDeliveryError, StorageError
from bot.jobs.deliver import BATCH, Deliverer
from bot.storage import Storage


def delivered(path: Path) -> list[int]:
    return [json.loads(line)["delivery"] for line in path.read_text().splitlines()]


async def test_a_batch_is_written_whole_and_each_line_is_found_after_a_crash(tmp_path) -> None:
    sink = JsonlSink(tmp_path)
    results = await sink.send_many([delivery(i) for i in range(1, 6)])
    rows = lines(tmp_path / "out" / "alerts.jsonl")
    assert [r["delivery"] for r in rows] == [1, 2, 3, 4, 5]
    restarted = JsonlSink(tmp_path)  # the process died before recording them as sent
    for i, result in enumerate(results, start=1):
        assert await restarted.find_sent(delivery(i, uncertain=True)) == result.message_id


async def test_a_batch_stops_where_its_lines_would_outgrow_the_searched_tail(tmp_path) -> None:
    one = len(json.dumps(_record(delivery(1)), ensure_ascii=False)) + 1
    sink = JsonlSink(tmp_path, tail_bytes=4 * one + 10)  # two lines fit half the tail
    results = await sink.send_many([delivery(i) for i in range(1, 6)])
    assert len(results) == 2
    assert [r["delivery"] for r in lines(tmp_path / "out" / "alerts.jsonl")] == [1, 2]


class DiesAfterTheWrite:
    """Storage whose first ``mark_sent_many`` fails, as if the process died just after the
    batch reached the file."""

    def __init__(self, storage: Storage) -> None:
        self.storage, self.died = storage, False

    def __getattr__(self, name: str) -> object:
        return getattr(self.storage, name)

    async def mark_sent_many(self, sent, now) -> None:  # type: ignore[no-untyped-def]
        if not self.died:
            self.died = True
            raise StorageError("killed after the write")
        await self.storage.mark_sent_many(sent, now)


class TornBatchSink(JsonlSink):
    """Writes its batch, then fails as a full disk would: the lines may or may not be there."""

    async def send_many(self, deliveries: list[Delivery]) -> list[SendResult]:  # type: ignore[override]
        await super().send_many(deliveries)
        raise PermanentDeliveryError("No space left on device")


@pytest.mark.parametrize("count", [3, BATCH * 2 + 7])
async def test_many_due_alerts_land_once_each_in_order(storage: Storage, clock, tmp_path,
                                                       count: int) -> None:
    ids = await queue(storage, clock, "jsonl:out.jsonl", count)
    report = await Deliverer(storage, {"jsonl": JsonlSink(tmp_path)}, clock).run_due()
    while (more := await Deliverer(storage, {"jsonl": JsonlSink(tmp_path)}, clock).run_due()
           ).sent:
        report += more
    assert report.sent == count
    assert delivered(tmp_path / "out.jsonl") == ids
    states = await storage.delivery_states()
    assert {s.status for s in states} == {"sent"}
    assert all(s.attempts == 1 for s in states)


async def test_a_crash_between_the_write_and_the_record_neither_loses_nor_doubles(
        storage: Storage, clock, tmp_path) -> None:
    ids = await queue(storage, clock, "jsonl:out.jsonl", 20)
    dying = DiesAfterTheWrite(storage)
    with pytest.raises(StorageError):
        await Deliverer(dying, {"jsonl": JsonlSink(tmp_path)}, clock).run_due()  # type: ignore[arg-type]
    assert delivered(tmp_path / "out.jsonl") == ids  # landed, not recorded
    report = await Deliverer(storage, {"jsonl": JsonlSink(tmp_path)}, clock).run_due()
    assert report.sent == 20
    assert delivered(tmp_path / "out.jsonl") == ids  # found in the file, not written again
    assert {s.status for s in await storage.delivery_states()} == {"sent"}


async def test_a_batch_that_fails_after_writing_is_checked_one_by_one_not_rewritten(
        storage: Storage, clock, tmp_path) -> None:
    ids = await queue(storage, clock, "jsonl:out.jsonl", 10)
    report = await Deliverer(storage, {"jsonl": TornBatchSink(tmp_path)}, clock).run_due()
    assert report.sent == 10 and report.stopped == 0
    assert delivered(tmp_path / "out.jsonl") == ids
    assert {s.status for s in await storage.delivery_states()} == {"sent"}


class DiesBeforeTheWrite(DiesAfterTheWrite):
    """Storage whose first ``begin_attempts`` commits, then the process dies."""

    async def begin_attempts(self, ids, now) -> None:  # type: ignore[no-untyped-def]
        await self.storage.begin_attempts(ids, now)
        if not self.died:
            self.died = True
            raise StorageError("killed before the write")


async def test_a_crash_after_marking_a_batch_attempted_still_sends_each_once(
        storage: Storage, clock, tmp_path) -> None:
    ids = await queue(storage, clock, "jsonl:out.jsonl", 20)
    with pytest.raises(StorageError):
        await Deliverer(DiesBeforeTheWrite(storage), {"jsonl": JsonlSink(tmp_path)},  # type: ignore[arg-type]
                        clock).run_due()
    assert not (tmp_path / "out.jsonl").exists()
    assert all(s.attempt_started_at is not None for s in await storage.delivery_states())
    report = await Deliverer(storage, {"jsonl": JsonlSink(tmp_path)}, clock).run_due()
    assert report.sent == 20
    assert delivered(tmp_path / "out.jsonl") == ids
