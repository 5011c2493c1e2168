"""Composition root: builds storage, the HTTP fetcher, sinks, the poll and deliver units.

Nothing else constructs these; tests build an App with their own clock, sinks or fetcher.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config.apply import sync_operator_config
from bot.config.operator import OperatorConfig, load_config
from bot.config.settings import Settings
from bot.delivery.console import ConsoleSink
from bot.delivery.discord_sink import make_discord_sinks
from bot.delivery.jsonl import JsonlSink
from bot.delivery.sinks import Sink
from bot.domain.alert import display_address
from bot.domain.delivery import Delivery
from bot.domain.story import FOLLOWUP_GAP
from bot.jobs.deliver import Deliverer, DeliveryReport, log_context
from bot.jobs.digest import DigestJob
from bot.jobs.heartbeat import LEASE, Heartbeat, worker_id
from bot.jobs.liveness import Liveness
from bot.jobs.looplag import LoopLag
from bot.jobs.notices import Notices
from bot.jobs.poll_feed import FeedFetcher, Fetched, Poller, PollOutcome
from bot.net.fetcher import Fetcher
from bot.net.netguard import NetGuard
from bot.storage import Storage, open_storage
from bot.web.metrics import Metrics, TimedFetcher, metered

if TYPE_CHECKING:  # Slack's libraries are imported only when Slack is configured
    from bot.adapters.slack.oauth import Workspaces
    from bot.chat.service import CommandService
    from bot.delivery.slack_sink import SlackTokens

log = logging.getLogger(__name__)

FEED_LEASE = LEASE  # short: renewed by the heartbeat while a poll runs
POLL_BATCH = 200  # feeds claimed, fetched and stored together
CHEAP_BATCHES = 4  # after a batch of 304s, claim this many batches' worth at once
# what a missing sink needs, for the "waiting for a token" reason and the warning at start
TOKEN_HINTS = {"slack": "SLACK_BOT_TOKEN", "discord": "DISCORD_TOKEN"}


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CycleReport:
    polled: int = 0
    failed: int = 0
    new_articles: int = 0
    alerts: int = 0
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


EXIT_OK, EXIT_FEEDS_FAILED, EXIT_UNDELIVERED, EXIT_BOTH = 0, 3, 4, 5


def run_summary(report: CycleReport) -> tuple[str, int]:
    """`run --once`: the summary line and the exit status (0 all good, 3 some feeds failed,
    4 some alerts not delivered, 5 both)."""
    d = report.delivery
    line = (f"polled {report.polled} feed(s) ({report.failed} failed), "
            f"{report.new_articles} new article(s), {report.alerts} alert(s) queued; "
            f"alerts: {d.sent} sent, {d.retrying} retrying, {d.waiting} waiting for a token, "
            f"{d.stopped} held by a stopped destination, {d.expired} expired, "
            f"{d.rejected} rejected" + (f", {d.elsewhere} being delivered by another worker"
                                        if d.elsewhere else "")
            + (f", {d.scheduled} follow-up(s) due later (one per story every "
               f"{FOLLOWUP_GAP.total_seconds() / 60:g} min)" if d.scheduled else ""))
    failed, undelivered = report.failed > 0, d.undelivered > 0
    if failed and undelivered:
        return line, EXIT_BOTH
    return line, EXIT_FEEDS_FAILED if failed else EXIT_UNDELIVERED if undelivered else EXIT_OK


def default_sinks(settings: Settings, base_dir: Path | None = None, *,
                  slack_tokens: SlackTokens | None = None) -> dict[str, Sink]:
    """Console and jsonl always; Slack and Discord when their tokens are in the environment
    (Slack for several workspaces: each workspace's token, ``slack_tokens``)."""
    sinks: dict[str, Sink] = {"console": ConsoleSink(), "jsonl": JsonlSink(base_dir)}
    if settings.slack_bot_token is not None or slack_tokens is not None:
        from bot.delivery.slack_sink import make_slack_sink  # (slack_sdk is imported only then)

        if slack := make_slack_sink(settings, base_url=settings.slack_api_url,
                                    tokens=slack_tokens):
            sinks["slack"] = slack
    sinks.update(make_discord_sinks(settings, api_base=settings.discord_api_url))
    return sinks


class App:
    def __init__(self, settings: Settings, storage: Storage, config: OperatorConfig,
                 fetcher: FeedFetcher, sinks: Mapping[str, Sink],
                 clock: Callable[[], datetime] = utcnow, owned: tuple[Any, ...] = ()) -> None:
        self.settings = settings
        self.storage = storage
        self.config = config
        self.fetcher = fetcher
        self.sinks = dict(sinks)
        self.clock = clock
        self.metrics = Metrics(clock)  # its own registry: /metrics (bot/web)
        self.poller = Poller(storage, TimedFetcher(fetcher, self.metrics),
                             concurrency=settings.concurrency)
        self.digests = DigestJob(storage)  # channel controls: held alerts -> digests
        self.notices = Notices(storage)  # admin notices in chat
        self.owner = worker_id()
        self.liveness = Liveness(storage, self.owner)  # started by open(); see jobs/liveness.py
        self.deliverer = Deliverer(storage, metered(self.sinks, self.metrics), clock,
                                   self.destination_stopped, owner=self.owner,
                                   reap=self.liveness.reap,
                                   max_age=timedelta(days=settings.delivery_max_age_days))
        self._owned = owned
        self.slack_workspaces: Workspaces | None = None  # Slack for several workspaces
        self.loop_lag = LoopLag()  # event-loop stalls, for the logs and /metrics

    @cached_property
    def commands(self) -> CommandService:
        """The chat commands (built, and bot/chat imported, when an adapter or a test first
        asks: `run --once` never does)."""
        from bot.chat.service import CommandService
        from bot.net.download import GuardedDownload

        guard = NetGuard(allow_networks=self.settings.allow_networks)
        return CommandService(self.storage, defaults=self.config.watchlist, clock=self.clock,
                              url_vetter=guard.vet, download=GuardedDownload(guard))

    @classmethod
    async def open(cls, settings: Settings, *, config: OperatorConfig | None = None,
                   sinks: Mapping[str, Sink] | None = None, fetcher: FeedFetcher | None = None,
                   clock: Callable[[], datetime] = utcnow, sync: bool = True,
                   storage: Storage | None = None) -> App:
        """Load config, open (and migrate) the database, build the units; sync config/ in."""
        config = config or load_config(settings.config_dir)
        storage = storage or await open_storage(settings.database_url)
        owned: list[Any] = []
        if fetcher is None:
            real = await Fetcher.create(max_bytes=settings.max_feed_bytes,
                                        total_timeout=settings.fetch_timeout,
                                        per_host=settings.fetch_per_host,
                                        guard=NetGuard(allow_networks=settings.allow_networks))
            owned.append(real)
            fetcher = real
        try:  # Slack for several workspaces: installations in the database (a bad key: error)
            workspaces = None
            if settings.slack_workspaces:
                from bot.adapters.slack.oauth import build_workspaces

                workspaces = build_workspaces(settings, storage)
        except BaseException:
            await storage.dispose()
            raise
        tokens = workspaces.tokens if workspaces else None
        app = cls(settings, storage, config, fetcher,
                  sinks or default_sinks(settings, slack_tokens=tokens), clock, tuple(owned))
        app.slack_workspaces = workspaces
        try:
            await app.liveness.start()
            await app.liveness.reap(clock())  # a crashed worker's leases are free at once
            if sync:
                await sync_operator_config(storage, config, clock())
        except BaseException:  # a failed start closes every session it opened
            await app.close()
            raise
        await app.check_sinks()
        return app

    async def check_sinks(self) -> None:
        """Destinations whose platform has no sink wait for a token (one warning names them);
        the others stop waiting, so their queued alerts go out now."""
        reasons = {p: f"waiting for a token: {env} is not set" for p, env in TOKEN_HINTS.items()}
        waiting = await self.storage.mark_waiting(self.sinks, reasons)
        if waiting:
            log.warning("%d destination(s) wait for a token, their alerts are kept until it is "
                        "set: %s", len(waiting), ", ".join(waiting[:20])
                        + (f" and {len(waiting) - 20} more" if len(waiting) > 20 else ""))

    async def destination_stopped(self, delivery: Delivery, reason: str) -> None:
        """Tell the admins: the log, and the tenant's audit log (`newsbot audit`, `/news list`)."""
        tenant = await self.storage.destination_tenant(delivery.destination_id)
        log.error("destination %s stopped after a permanent error: %s. Its alerts are kept: fix "
                  "the cause, then /news resume in the channel (admins), subscribe there, or "
                  "restart with it in config/.",
                  display_address(delivery.address), reason,
                  extra={"tenant": tenant, **log_context(delivery)})
        await self.notices.destination_stopped(delivery.destination_id, delivery.address, reason,
                                               self.clock())
        await self.storage.audit(tenant, "newsbot", "destination.stopped",
                                 display_address(delivery.address),
                                 before={"active": True}, after={"active": False, "reason": reason},
                                 now=self.clock())

    async def poll_due(self, *, all_feeds: bool = False, since: datetime | None = None
                       ) -> list[PollOutcome]:
        """Poll every due feed, a batch at a time: while one batch is stored, the next is
        fetched. With ``all_feeds`` (`run --once`) every followed feed is polled once, except
        those another worker polled after ``since`` (default: now; `run --once` passes the
        moment its process started); no feed is made due for others."""
        start = self.clock()
        since = (since or start) if all_feeds else None
        attempted: set[int] = set()
        outcomes: list[PollOutcome] = []
        storing: asyncio.Task[list[PollOutcome]] | None = None
        cheap: bool | None = None  # the last batch was all 304s (or failures); None: first
        async with Heartbeat(self.deliverer.renew):
            await self.liveness.reap(start)
            # after a batch of 304s the next batch (four batches' worth: fewer ends of batch
            # where the fetches drain) is claimed while this one is fetched: a claim is a few
            # database round trips, as long as fetching 200 feeds that answer 304. The first
            # batch's successor is claimed ahead at the usual size; after a batch with
            # documents the next is claimed when needed: fetching and parsing
            # take far longer than a claim, and a batch claimed ahead is one that another
            # worker, idle at the end of a shared cycle, could have polled
            claim = partial(self._claim, start, since, attempted)
            claiming: asyncio.Task[list[Any]] | None = asyncio.create_task(claim(POLL_BATCH))
            try:
                while claiming is not None and (feeds := await claiming):
                    claiming = (None if cheap is False else asyncio.create_task(
                        claim(POLL_BATCH * CHEAP_BATCHES if cheap else POLL_BATCH)))
                    fetched = await self.poller.fetch_many(feeds, self.clock())
                    cheap = all(not isinstance(x, Fetched) or x.result.not_modified
                                for x in fetched)
                    if storing is not None:
                        outcomes += await storing
                    storing = asyncio.create_task(self.poller.store_many(fetched, self.clock()))
                    claiming = claiming or asyncio.create_task(claim(POLL_BATCH))
            finally:
                if claiming is not None:
                    await self._give_back(claiming)
                if storing is not None:
                    outcomes += await storing
        return outcomes

    async def _give_back(self, claiming: asyncio.Task[list[Any]]) -> None:
        """A claim made ahead that will not be polled (the cycle stopped early): its leases
        are released, so other workers need not wait for them to expire."""
        if not claiming.done():
            claiming.cancel()
            await asyncio.wait([claiming])
        if claiming.cancelled() or claiming.exception() is not None:
            return  # nothing claimed, or the claim failed (the poll's own error says why)
        if feeds := claiming.result():
            await self.storage.release_feeds([f.id for f in feeds], self.owner)

    async def _claim(self, now: datetime, since: datetime | None, attempted: set[int],
                     limit: int) -> list[Any]:
        """The next batch; with ``since``, a feed this call already tried (a poll postponed
        by a busy database) is given back, not tried again."""
        feeds = await self.storage.claim_due_feeds(now, limit, FEED_LEASE, self.owner,
                                                   not_polled_since=since)
        again = [f.id for f in feeds if f.id in attempted]
        if again:
            await self.storage.release_feeds(again, self.owner)
        feeds = [f for f in feeds if f.id not in attempted]
        attempted.update(f.id for f in feeds)
        return feeds

    async def deliver_due(self) -> DeliveryReport:
        """Deliver until a round sends nothing; the undelivered counts are the backlog after."""
        report = DeliveryReport()
        while True:
            step = await self.deliverer.run_due()
            report += step
            if step.sent == 0:  # nothing left, or only retries: those wait for their time
                return report.with_backlog(
                    await self.storage.backlog(self.sinks, self.clock(), self.owner))

    async def cycle(self, *, all_feeds: bool = False, since: datetime | None = None
                    ) -> CycleReport:
        """One full cycle: poll what is due (``all_feeds``, ``since``: see ``poll_due``), then
        deliver what is due."""
        self.metrics.cycle_started(self.clock())
        outcomes = await self.poll_due(all_feeds=all_feeds, since=since)
        self.metrics.record_polls(outcomes)
        await self.digests.run(self.clock())
        await self.notices.run(self.clock())
        delivery = await self.deliver_due()
        return CycleReport(
            polled=len(outcomes), failed=sum(not o.ok for o in outcomes),
            new_articles=sum(o.new_articles for o in outcomes),
            alerts=sum(o.alerts for o in outcomes), delivery=delivery)

    async def close(self) -> None:
        for sink in self.sinks.values():
            await sink.close()
        for resource in self._owned:
            await resource.close()
        await self.liveness.close()
        await self.storage.dispose()
