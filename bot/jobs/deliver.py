"""The unit of work "deliver due alerts": claim destinations, send their alerts, record outcomes.

Per destination in order (oldest first), destinations side by side; one worker at a time per
destination (a lease on the destination, renewed by the heartbeat), so a channel's pace and order
hold across workers. At-least-once with idempotency: the attempt is recorded before the sink is
called and the outcome after; a delivery found "in flight" after a crash asks the sink whether it
already landed, one never attempted is simply sent.

Outcomes: sent; a real attempt that failed -> retried with jittered backoff, counted against
``MAX_ATTEMPTS`` (then ``rejected``); rate limited or not sent (nothing reached the platform) ->
not counted, the destination pauses and the rest of its queue waits untouched; permanent ->
the destination stops and keeps every pending alert, including this one, until it is resumed.
Pending alerts older than the age limit are marked ``expired`` with the reason.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import cast

from bot.delivery.sinks import BatchSink, Sink
from bot.domain.address import Address
from bot.domain.alert import display_address
from bot.domain.delivery import Delivery
from bot.domain.errors import (
    DeliveryError,
    NotSentError,
    PermanentDeliveryError,
    RateLimitedError,
    TransientDeliveryError,
    UnknownOutcomeError,
)
from bot.jobs.followups import SKIPPED, WAIT_FOR_FIRST, prepare_followup
from bot.jobs.heartbeat import BEAT_SECONDS, LEASE, Heartbeat, worker_id
from bot.pipeline.controls import admit
from bot.storage import UNCERTAIN, DelivererStorage
from bot.storage.records import Backlog, DestinationBatch

log = logging.getLogger(__name__)


def log_context(delivery: Delivery) -> dict[str, object]:
    """The fields a JSON log line carries for this delivery (bot/cli/log_format.py)."""
    return {"delivery": delivery.id, "story": delivery.alert.story or None}

MAX_ATTEMPTS = 12  # real attempts (requests that reached the platform and failed)
RATE_LIMIT_PAUSE = 5.0  # seconds, when a rate limit names no time
NOT_SENT_PAUSE = 30.0  # seconds, when the platform could not be reached
BATCH = 50  # deliveries a batch sink (jsonl) takes at once, marked in one transaction each way
AdminNotice = Callable[[Delivery, str], Awaitable[None]]
Reaper = Callable[[datetime], Awaitable[int]]  # frees the leases of ended workers (liveness)


class Outcome(enum.Enum):
    SENT = "sent"
    RETRY = "retry"  # this delivery later; the queue goes on
    PAUSED = "paused"  # this destination later; the queue stops for this round
    STOPPED = "stopped"  # the destination stopped; its alerts are held
    REJECTED = "rejected"
    SKIPPED = "skipped"  # a follow-up the destination does not want (followups off): filtered


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What a delivery run did (sent, expired, rejected) and what is left undelivered
    (retrying, waiting for a token, held by a stopped destination)."""

    sent: int = 0
    retrying: int = 0
    waiting: int = 0
    stopped: int = 0
    expired: int = 0
    rejected: int = 0
    elsewhere: int = 0  # pending, but another worker is delivering them right now
    scheduled: int = 0  # follow-ups waiting for their slot: on time, not undelivered

    @property
    def retried(self) -> int:  # the older name
        return self.retrying

    @property
    def undelivered(self) -> int:
        return self.retrying + self.waiting + self.stopped + self.expired + self.rejected

    def __add__(self, other: DeliveryReport) -> DeliveryReport:
        return DeliveryReport(*(getattr(self, f.name) + getattr(other, f.name)
                                for f in fields(self)))

    def with_backlog(self, backlog: Backlog) -> DeliveryReport:
        """Undelivered counts as they stand now (pending alerts of every destination)."""
        return replace(self, retrying=backlog.retrying, waiting=backlog.waiting,
                       stopped=backlog.stopped, elsewhere=backlog.elsewhere,
                       scheduled=backlog.scheduled)


def retry_delay(attempts: int, retry_after: float | None, jitter: float = 0.5) -> timedelta:
    """Server's Retry-After if given (plus up to 10 %), else 30 s doubling per attempt, capped at
    an hour, spread by +-25 %. ``jitter`` in [0, 1) (0.5 = no spread) keeps this pure."""
    if retry_after is not None:
        return timedelta(seconds=max(retry_after, 0.0) * (1 + 0.1 * jitter))
    base = min(30 * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=base * (0.75 + 0.5 * jitter))


async def log_admin_notice(delivery: Delivery, reason: str) -> None:
    log.error("destination %s stopped: %s. Fix it, then resume it.",
              display_address(delivery.address), reason)


class Deliverer:
    """Delivers due alerts through ``sinks`` (platform -> sink); destinations of platforms with
    no sink are not claimed: their alerts wait (for a token) untouched."""

    def __init__(self, storage: DelivererStorage, sinks: Mapping[str, Sink],
                 clock: Callable[[], datetime], notify_admins: AdminNotice = log_admin_notice,
                 *, owner: str | None = None, max_age: timedelta = timedelta(days=7),
                 rng: random.Random | None = None, lease: timedelta = LEASE,
                 beat_seconds: float = BEAT_SECONDS, reap: Reaper | None = None) -> None:
        self.storage = storage
        self.sinks = sinks
        self.clock = clock
        self.notify_admins = notify_admins
        self.owner = owner or worker_id()
        self.max_age = max_age
        self.rng = rng or random.Random()  # jitter, not secrets
        self.lease = lease
        self.beat_seconds = beat_seconds
        self.reap = reap

    async def renew(self) -> None:
        await self.storage.renew_leases(self.owner, self.clock() + self.lease)

    async def run_due(self, limit: int = 50) -> DeliveryReport:
        """One round: expire what is too old, then deliver the due alerts of up to ``limit``
        destinations."""
        now = self.clock()
        days = self.max_age / timedelta(days=1)
        expired = await self.storage.expire_deliveries(now - self.max_age, now, f"{days:g} days")
        report = DeliveryReport(expired=expired)
        if self.reap is not None:  # an ended worker's destinations are free at once
            await self.reap(now)
        batches = await self.storage.claim_destinations(
            now, owner=self.owner, lease=self.lease, platforms=list(self.sinks), limit=limit,
            admit=admit)  # channel controls: digest mode, quiet hours, the hourly cap
        if not batches:
            return report
        async with Heartbeat(self.renew, self.beat_seconds):  # every destination finishes
            results = await asyncio.gather(*(self._run_destination(b) for b in batches),
                                           return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
            report += result
        return report

    async def _run_destination(self, batch: DestinationBatch) -> DeliveryReport:
        report = DeliveryReport()
        queue = list(batch.deliveries)
        try:
            while queue:
                run = self._plain_run(queue)
                if run:  # a batch sink: a run sent with one transaction either side
                    sent, rest = await self.deliver_many(run)
                    report += DeliveryReport(sent=sent)
                    queue[:len(run)] = rest
                    if sent:
                        continue  # else the head goes one by one (in doubt if the sink failed)
                outcome = await self.deliver(queue.pop(0))
                report += _counted(outcome)
                if outcome is Outcome.STOPPED:  # the rest is held with it
                    report += DeliveryReport(stopped=len(queue))
                if outcome in (Outcome.PAUSED, Outcome.STOPPED):
                    break
        finally:
            await self.storage.release_destination(batch.destination_id, self.owner)
        return report

    def _plain_run(self, queue: list[Delivery]) -> list[Delivery]:
        """The deliveries at the head of ``queue`` a batch sink may take together: never
        attempted (nothing to ask the sink first), not follow-ups (each waits for its first)."""
        sink = self.sinks.get(Address.parse(queue[0].address).platform)
        if sink is None or not hasattr(sink, "send_many"):
            return []
        run = []
        for delivery in queue[:BATCH]:
            if delivery.uncertain or delivery.reply_to_story is not None:
                break
            run.append(delivery)
        return run if len(run) > 1 else []

    async def deliver_many(self, run: list[Delivery]) -> tuple[int, list[Delivery]]:
        """Send ``run`` through its batch sink: all marked attempted in one transaction, sent,
        the sent ones marked in one transaction. How many were sent, and what is left of ``run``
        to deliver. If the sink raises, any of them may have landed: none is counted, and all
        are left in doubt (the sink is asked first, one by one), as after a crash."""
        sink = cast(BatchSink, self.sinks[Address.parse(run[0].address).platform])
        now = self.clock()
        await self.storage.begin_attempts([d.id for d in run], now)
        try:
            results = await sink.send_many(run)
        except Exception as exc:
            if not isinstance(exc, DeliveryError):
                log.exception("sink %s failed on a batch of %d", sink.platform, len(run))
            return 0, [replace(d, uncertain=True, last_attempt_at=now, attempts=d.attempts + 1)
                       for d in run]
        await self.storage.mark_sent_many(
            [(d.id, r.message_id or None) for d, r in zip(run, results, strict=False)],
            self.clock())
        rest = run[len(results):]
        for delivery in rest:  # not written (the sink's batch was full): never attempted
            await self.storage.give_back(delivery.id, None)
        return len(results), rest

    async def deliver(self, delivery: Delivery) -> Outcome:
        sink = self.sinks.get(Address.parse(delivery.address).platform)
        if sink is None:  # not claimed in the first place; leave it for a worker with a sink
            return Outcome.PAUSED
        if delivery.reply_to_story is not None:  # issue 12: a follow-up (bot/jobs/followups.py)
            ready = await prepare_followup(self.storage, delivery, self.clock())
            if isinstance(ready, str):
                return await self._followup_waits(delivery, ready)
            delivery = ready
        try:
            found = await sink.find_sent(delivery) if delivery.uncertain else None
        except DeliveryError as exc:
            return await self._failed(delivery, exc, attempted=False)
        except Exception as exc:  # a sink bug must not stop the others
            log.exception("sink %s failed checking delivery %d", sink.platform, delivery.id,
                          extra=log_context(delivery))
            return await self._failed(delivery, TransientDeliveryError(repr(exc)), attempted=False)
        if found is None:
            await self.storage.begin_attempt(delivery.id, self.clock())
            try:
                found = (await sink.send(delivery)).message_id or ""
            except DeliveryError as exc:
                return await self._failed(delivery, exc, attempted=True)
            except Exception as exc:  # a sink bug: maybe sent, check next time
                log.exception("sink %s failed on delivery %d", sink.platform, delivery.id,
                              extra=log_context(delivery))
                return await self._failed(delivery, UnknownOutcomeError(repr(exc)), attempted=True)
        await self.storage.mark_sent(delivery.id, found or None, self.clock())
        return Outcome.SENT

    async def _followup_waits(self, delivery: Delivery, reason: str) -> Outcome:
        if reason == SKIPPED:  # filtered, not sent: it posts nothing, so no hourly cap slot
            await self.storage.mark_filtered(delivery.id, reason)
            return Outcome.SKIPPED
        await self.storage.mark_retry(delivery.id, reason, self.clock() + WAIT_FOR_FIRST,
                                      in_doubt=delivery.uncertain)
        return Outcome.RETRY

    async def _failed(self, delivery: Delivery, exc: DeliveryError, *, attempted: bool
                      ) -> Outcome:
        if isinstance(exc, PermanentDeliveryError):  # refused: a refused send did not land
            return await self._stop(delivery, str(exc), in_doubt=delivery.uncertain
                                    and not attempted)
        assert isinstance(exc, TransientDeliveryError)
        now, jitter = self.clock(), self.rng.random()
        if isinstance(exc, RateLimitedError | NotSentError):  # nothing reached the platform
            if attempted:
                await self.storage.give_back(delivery.id, delivery.last_attempt_at,
                                             error=str(exc))
            default = RATE_LIMIT_PAUSE if isinstance(exc, RateLimitedError) else NOT_SENT_PAUSE
            wait = exc.retry_after if exc.retry_after is not None else default
            await self.storage.pause_destination(delivery.destination_id,
                                                 now + retry_delay(0, wait, jitter))
            return Outcome.PAUSED
        in_doubt = isinstance(exc, UnknownOutcomeError) or delivery.uncertain and not attempted
        error = (UNCERTAIN if in_doubt else "") + str(exc)
        attempts = delivery.attempts + attempted
        if attempted and attempts >= MAX_ATTEMPTS:
            log.error("delivery %d to %s rejected after %d attempts: %s", delivery.id,
                      display_address(delivery.address), attempts, error,
                      extra=log_context(delivery))
            await self.storage.mark_rejected(delivery.id,
                                             f"gave up after {attempts} attempts: {error}")
            return Outcome.REJECTED
        when = now + retry_delay(max(attempts, 1), exc.retry_after, jitter)
        log.warning("delivery %d to %s will retry at %s: %s", delivery.id,
                    display_address(delivery.address), when.isoformat(timespec="seconds"), error,
                    extra=log_context(delivery))
        await self.storage.mark_retry(delivery.id, error, when, in_doubt=in_doubt)
        if exc.retry_after is not None:  # the platform said when: the whole channel waits
            await self.storage.pause_destination(delivery.destination_id, when)
            return Outcome.PAUSED
        return Outcome.RETRY

    async def _stop(self, delivery: Delivery, error: str, *, in_doubt: bool) -> Outcome:
        await self.storage.hold(delivery.id, error, self.clock(), in_doubt=in_doubt)
        await self.storage.stop_destination(delivery.destination_id, error)
        await self.notify_admins(delivery, error)
        return Outcome.STOPPED


def _counted(outcome: Outcome) -> DeliveryReport:
    return {Outcome.SENT: DeliveryReport(sent=1), Outcome.STOPPED: DeliveryReport(stopped=1),
            Outcome.REJECTED: DeliveryReport(rejected=1),
            Outcome.SKIPPED: DeliveryReport()}.get(outcome, DeliveryReport(retrying=1))
