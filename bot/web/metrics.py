"""Prometheus metrics: counters recorded where outcomes happen, outbox gauges read at scrape time.

Each App has its own ``Metrics`` (its own CollectorRegistry), so tests and several Apps in one
process never collide. Every name starts with ``newsbot_``.

- counters: polls by outcome, fetch latency, new articles, alerts queued (matches), deliveries by
  platform and outcome, rate limits (429s and pacing waits);
- gauges set by ``refresh`` just before a scrape: alerts by state (the outbox), the age of the
  oldest pending alert, stopped and waiting destinations, failing feeds, event-loop lag.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.delivery.sinks import Sink
from bot.domain.article import FetchResult
from bot.domain.delivery import Delivery, SendResult
from bot.domain.errors import (
    NotSentError,
    PermanentDeliveryError,
    RateLimitedError,
    UnknownOutcomeError,
)
from bot.jobs.looplag import LagSnapshot
from bot.jobs.poll_feed import FeedFetcher, PollOutcome
from bot.web.queries import OutboxCounts

ALERT_STATES = ("pending", "sent", "rejected", "expired", "filtered", "held", "digested")
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """The App's metrics; ``clock`` dates the scheduler's progress for /readyz."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.polls = Counter("newsbot_polls", "Feed polls by outcome (ok, not_modified, failed)",
                             ["outcome"], registry=r)
        self.fetch_seconds = Histogram("newsbot_fetch_seconds", "Time to fetch one feed",
                                       buckets=FETCH_BUCKETS, registry=r)
        self.articles = Counter("newsbot_articles_new", "New articles parsed and stored",
                                registry=r)
        self.alerts_queued = Counter("newsbot_alerts_queued",
                                     "Alerts queued: matched articles routed to a destination",
                                     registry=r)
        self.cycles = Counter("newsbot_cycles", "Scheduler cycles completed", registry=r)
        self.deliveries = Counter("newsbot_deliveries", "Send attempts by platform and outcome",
                                  ["platform", "outcome"], registry=r)
        self.rate_limited = Counter("newsbot_rate_limited",
                                    "Sends refused by a platform's rate limit (429) or held by "
                                    "our own pacing", ["platform"], registry=r)
        self.alerts = Gauge("newsbot_alerts", "Alerts in the outbox by state", ["state"],
                            registry=r)
        self.oldest_pending = Gauge("newsbot_outbox_oldest_pending_age_seconds",
                                    "Age of the oldest pending alert (0: none pending)",
                                    registry=r)
        self.stopped = Gauge("newsbot_destinations_stopped",
                             "Destinations stopped after a permanent error", registry=r)
        self.waiting = Gauge("newsbot_destinations_waiting",
                             "Destinations waiting for a platform token", registry=r)
        self.failing_feeds = Gauge("newsbot_feeds_failing",
                                   "Feeds whose last poll failed", registry=r)
        self.lag_max = Gauge("newsbot_event_loop_lag_max_seconds",
                             "Worst event-loop stall since start", registry=r)
        self.lag_recent = Gauge("newsbot_event_loop_lag_recent_max_seconds",
                                "Worst event-loop stall of the last ~10 s", registry=r)
        self.last_cycle = Gauge("newsbot_last_cycle_timestamp_seconds",
                                "When the last scheduler cycle started (Unix time)", registry=r)
        self.database_up = Gauge("newsbot_database_up",
                                 "1 if the database answered the last scrape, else 0", registry=r)
        self.cycle_started_at: datetime | None = None
        self.progress_at: datetime | None = None  # a cycle started, a feed fetched, a send made

    # --- recorded where things happen ---------------------------------------------------------
    def cycle_started(self, now: datetime) -> None:
        self.cycle_started_at = self.progress_at = now
        self.last_cycle.set(now.timestamp())

    def progress(self) -> None:
        """A long cycle (many feeds, paced sends) is still a ticking scheduler."""
        self.progress_at = self.clock()

    def record_polls(self, outcomes: Iterable[PollOutcome]) -> None:
        for o in outcomes:
            self.polls.labels("failed" if not o.ok else
                              "not_modified" if o.not_modified else "ok").inc()
            self.articles.inc(o.new_articles)
            self.alerts_queued.inc(o.alerts)
        self.cycles.inc()

    def record_send(self, platform: str, error: BaseException | None) -> None:
        self.progress()
        self.deliveries.labels(platform, send_outcome(error)).inc()
        if isinstance(error, RateLimitedError):
            self.rate_limited.labels(platform).inc()

    # --- read at scrape time ------------------------------------------------------------------
    def refresh(self, counts: OutboxCounts | None, lag: LagSnapshot) -> None:
        """Set the gauges; ``counts`` None: the database did not answer (the outbox gauges keep
        their last values, newsbot_database_up says 0)."""
        self.lag_max.set(lag.max)
        self.lag_recent.set(lag.recent_max)
        self.database_up.set(0 if counts is None else 1)
        if counts is None:
            return
        for state in {*ALERT_STATES, *counts.alerts}:
            self.alerts.labels(state).set(counts.alerts.get(state, 0))
        self.oldest_pending.set(counts.oldest_pending_age)
        self.stopped.set(counts.stopped)
        self.waiting.set(counts.waiting)
        self.failing_feeds.set(counts.failing_feeds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def send_outcome(error: BaseException | None) -> str:
    """Sent | rate_limited | not_sent | unknown | permanent | transient."""
    if error is None:
        return "sent"
    for kind, name in ((RateLimitedError, "rate_limited"), (NotSentError, "not_sent"),
                       (UnknownOutcomeError, "unknown"), (PermanentDeliveryError, "permanent")):
        if isinstance(error, kind):
            return name
    return "transient"


class TimedFetcher:
    """A FeedFetcher that records how long each fetch took (failures too)."""

    def __init__(self, inner: FeedFetcher, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    untrusted: bool = False) -> FetchResult:
        start = time.monotonic()
        try:
            return await self.inner.fetch(url, etag=etag, last_modified=last_modified,
                                          untrusted=untrusted)
        finally:
            self.metrics.fetch_seconds.observe(time.monotonic() - start)
            self.metrics.progress()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class MeteredSink:
    """A Sink that counts each send by outcome; everything else goes to the real sink."""

    def __init__(self, inner: Sink, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics
        self.platform = inner.platform

    async def send(self, delivery: Delivery) -> SendResult:
        try:
            result = await self.inner.send(delivery)
        except Exception as exc:
            self.metrics.record_send(self.platform, exc)
            raise
        self.metrics.record_send(self.platform, None)
        return result

    async def find_sent(self, delivery: Delivery) -> str | None:
        return await self.inner.find_sent(delivery)

    async def close(self) -> None:
        await self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def metered(sinks: Mapping[str, Sink], metrics: Metrics) -> dict[str, Sink]:
    return {name: MeteredSink(sink, metrics) for name, sink in sinks.items()}
