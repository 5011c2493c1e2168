"""The unit of work "deliver due alerts": claim outbox rows, send through the sink, record.

At-least-once with idempotency: a delivery is marked sent only after its sink accepted it; a
retried delivery whose earlier outcome is unknown (a timeout after sending, or a crash while the
row was leased) asks the sink whether it already landed.
Per destination in order, destinations side by side; a slow or rate-limited channel does not hold
up the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..errors import PermanentDeliveryError, TransientDeliveryError, UnknownOutcomeError
from ..models import Delivery, display_address
from ..sinks import Sink
from ..storage import Storage
from ..storage.outbox import UNCERTAIN

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
LEASE = timedelta(minutes=5)
AdminNotice = Callable[[Delivery, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    rejected: int = 0
    stopped: int = 0  # destinations stopped for good (admins told)

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(self.sent + other.sent, self.retried + other.retried,
                              self.rejected + other.rejected, self.stopped + other.stopped)


def retry_delay(attempts: int, retry_after: float | None) -> timedelta:
    """Server's Retry-After if given, else 30 s doubling per attempt, capped at an hour."""
    if retry_after is not None:
        return timedelta(seconds=max(retry_after, 0.0))
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


async def log_admin_notice(delivery: Delivery, reason: str) -> None:
    log.error("destination %s stopped: %s. Fix it, then resume it.",
              display_address(delivery.address), reason)


class Deliverer:
    def __init__(self, storage: Storage, sinks: Mapping[str, Sink],
                 clock: Callable[[], datetime], notify_admins: AdminNotice = log_admin_notice
                 ) -> None:
        self.storage = storage
        self.sinks = sinks
        self.clock = clock
        self.notify_admins = notify_admins

    async def run_due(self, limit: int = 200) -> DeliveryReport:
        """Deliver every due delivery (up to ``limit``); returns what happened."""
        claimed = await self.storage.claim_deliveries(self.clock(), limit, LEASE)
        by_destination: dict[int, list[Delivery]] = {}
        for d in claimed:
            by_destination.setdefault(d.destination_id, []).append(d)
        reports = await asyncio.gather(*(self._run_destination(ds)
                                         for ds in by_destination.values()))
        return sum(reports, DeliveryReport())

    async def _run_destination(self, queue: list[Delivery]) -> DeliveryReport:
        report = DeliveryReport()
        for i, delivery in enumerate(queue):
            outcome = await self.deliver(delivery)
            report += outcome
            if outcome.stopped:  # destination stopped: give the rest back
                for rest in queue[i + 1:]:
                    await self.storage.release(rest.id)
                break
        return report

    async def deliver(self, delivery: Delivery) -> DeliveryReport:
        sink = self.sinks.get(delivery.address.split(":", 1)[0])
        if sink is None:
            return await self._reject(delivery, "no sink is configured for this platform "
                                      "(missing token?)", stop=False)
        try:
            message_id = await sink.find_sent(delivery) if delivery.uncertain else None
            if message_id is None:
                message_id = (await sink.send(delivery)).message_id
        except PermanentDeliveryError as exc:
            return await self._reject(delivery, str(exc), stop=True)
        except UnknownOutcomeError as exc:
            return await self._retry(delivery, UNCERTAIN + str(exc), exc.retry_after)
        except TransientDeliveryError as exc:
            return await self._retry(delivery, str(exc), exc.retry_after)
        except Exception as exc:  # noqa: BLE001 - a sink bug must not stop the others; retry
            log.exception("sink %s failed on delivery %d", sink.platform, delivery.id)
            return await self._retry(delivery, f"{exc.__class__.__name__}: {exc}", None)
        await self.storage.mark_sent(delivery.id, message_id, self.clock())
        return DeliveryReport(sent=1)

    async def _retry(self, delivery: Delivery, error: str, retry_after: float | None
                     ) -> DeliveryReport:
        if delivery.attempts >= MAX_ATTEMPTS:
            return await self._reject(delivery, f"gave up after {delivery.attempts} attempts: "
                                      f"{error}", stop=False)
        when = self.clock() + retry_delay(delivery.attempts, retry_after)
        log.warning("delivery %d to %s will retry at %s: %s", delivery.id,
                    display_address(delivery.address),
                    when.isoformat(timespec="seconds"), error)
        await self.storage.mark_retry(delivery.id, error, when)
        return DeliveryReport(retried=1)

    async def _reject(self, delivery: Delivery, error: str, *, stop: bool) -> DeliveryReport:
        await self.storage.mark_rejected(delivery.id, error)
        if stop:
            await self.storage.stop_destination(delivery.destination_id, error)
            await self.notify_admins(delivery, error)
            return DeliveryReport(rejected=1, stopped=1)
        log.error("delivery %d to %s rejected: %s", delivery.id,
                  display_address(delivery.address), error)
        return DeliveryReport(rejected=1)
