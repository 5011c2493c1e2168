"""Storage contract: the same behaviour on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.domain.alert import Alert, Subscription
from bot.domain.article import Article, FeedSource
from bot.domain.watchlist import Company, Topic, Watchlist
from bot.storage import NewDelivery, PollRecord, Storage
from bot.storage.sql.db import current_revision, upgrade

WATCHLIST = Watchlist(companies=(Company("Nvidia", aliases=("NVDA",)),),
                      topics=(Topic("Funding", ("invest*",)),))


def article(key: str, story: str | None = None) -> Article:
    return Article(key=key, story=story or f"url:https://news.example.com/{key}",
                   feed_url="https://news.example.com/feed", url=f"https://news.example.com/{key}",
                   title=f"Title {key}", text="Nvidia invests.")


def alert(dest: str, story: str) -> Alert:
    return Alert(destination=dest, feed="News", url=None, title="t", published=None,
                 companies=("Nvidia",), topics=(), summary="s", story=story)


def seen(feed_id: int, now, articles: tuple[Article, ...],
         deliveries: tuple[NewDelivery, ...] = ()) -> PollRecord:
    """A poll that saw ``articles`` and queued ``deliveries``."""
    return PollRecord(feed_id=feed_id, now=now, next_poll_at=now, etag=None, last_modified=None,
                      articles=articles, deliveries=deliveries, primed_follows=())


async def feed_with_follow(storage: Storage, clock, tenant: str = "local") -> int:
    await storage.ensure_tenant(tenant, clock(), defaults=WATCHLIST)
    source = FeedSource("https://news.example.com/feed", "News")
    feed_id = await storage.ensure_feed(source, clock())
    await storage.follow(tenant, feed_id, title="News", backfill=0, source="config", now=clock())
    return feed_id


async def test_migrations_are_idempotent_and_at_head(storage: Storage) -> None:
    await upgrade(storage.engine)
    assert await current_revision(storage.engine) == "0008"


async def test_new_tenant_starts_from_defaults_and_tenants_are_isolated(storage, clock) -> None:
    assert await storage.ensure_tenant("slack:T1", clock(), defaults=WATCHLIST)
    assert not await storage.ensure_tenant("slack:T1", clock(), defaults=Watchlist())
    await storage.ensure_tenant("discord:9", clock(), defaults=WATCHLIST)
    await storage.replace_watchlist("discord:9", Watchlist(companies=(Company("Airbus"),)), clock())
    assert await storage.watchlist("slack:T1") == WATCHLIST
    assert [c.name for c in (await storage.watchlist("discord:9")).companies] == ["Airbus"]
    d1 = await storage.ensure_destination("slack:T1", "slack:C1", clock())
    await storage.add_subscription(d1, Subscription(company="Nvidia"), clock())
    assert await storage.destinations("discord:9") == ()
    (dest,) = await storage.destinations("slack:T1")
    assert dest.subscriptions == (Subscription(company="Nvidia"),)


async def test_a_due_feed_is_leased_to_one_claimer_only(storage, clock) -> None:
    await feed_with_follow(storage, clock)
    first, second = await asyncio.gather(
        storage.claim_due_feeds(clock(), 10, timedelta(minutes=5)),
        storage.claim_due_feeds(clock(), 10, timedelta(minutes=5)))
    assert len(first) + len(second) == 1
    assert await storage.claim_due_feeds(clock(), 10, timedelta(minutes=5)) == []
    clock.advance(minutes=6)  # an expired lease (crashed worker) is claimable again
    assert len(await storage.claim_due_feeds(clock(), 10, timedelta(minutes=5))) == 1


async def test_unfollowed_feeds_are_not_polled(storage, clock) -> None:
    feed_id = await feed_with_follow(storage, clock)
    await storage.unfollow("local", feed_id)
    assert await storage.claim_due_feeds(clock(), 10, timedelta(minutes=5)) == []


async def test_record_poll_stores_articles_and_one_delivery_per_destination_and_story(
        storage, clock) -> None:
    feed_id = await feed_with_follow(storage, clock)
    dest = await storage.ensure_destination("local", "console", clock())
    story = "url:https://news.example.com/same"
    rec = PollRecord(feed_id=feed_id, now=clock(), next_poll_at=clock() + timedelta(minutes=15),
                     etag='"v1"', last_modified=None,
                     articles=(article("a", story), article("b", story)),
                     deliveries=(NewDelivery(dest, "a", alert("console", story)),
                                 NewDelivery(dest, "b", alert("console", story))),
                     primed_follows=())
    assert await storage.record_poll(rec) == 1  # same story twice -> one delivery
    assert await storage.record_poll(rec) == 0  # replayed poll -> nothing new
    assert await storage.known_keys(feed_id, ["a", "b", "c"]) == {"a", "b"}
    (feed,) = await storage.feed_follows("local")
    assert feed.etag == '"v1"' and feed.last_success_at == clock()


async def claim(storage: Storage, clock, owner: str = "w1") -> list:
    """The deliveries ``owner`` claims now (every destination it can lease)."""
    batches = await storage.claim_destinations(clock(), owner=owner, lease=timedelta(seconds=45),
                                               platforms=["console", "slack"])
    return [d for b in batches for d in b.deliveries]


async def test_deliveries_are_claimed_once_and_recorded(storage, clock) -> None:
    feed_id = await feed_with_follow(storage, clock)
    dest = await storage.ensure_destination("local", "console", clock())
    await storage.record_poll(seen(feed_id, clock(), (article("a"),),
                                   (NewDelivery(dest, "a", alert("console", "s1")),)))
    (claimed,) = await claim(storage, clock)
    assert claimed.attempts == 0 and claimed.alert.companies == ("Nvidia",)
    assert await claim(storage, clock, "w2") == []  # the destination is leased to w1
    await storage.begin_attempt(claimed.id, clock())
    await storage.mark_retry(claimed.id, "500", clock() + timedelta(seconds=30))
    await storage.release_destination(dest, "w1")
    assert await claim(storage, clock, "w2") == []  # not due yet
    clock.advance(seconds=31)
    (again,) = await claim(storage, clock, "w2")
    assert again.attempts == 1 and not again.uncertain
    await storage.mark_sent(again.id, "msg-1", clock())
    (state,) = await storage.delivery_states()
    assert (state.status, state.message_id, state.sent_at) == ("sent", "msg-1", clock())


async def test_stopped_destination_keeps_its_deliveries_pending(storage, clock) -> None:
    feed_id = await feed_with_follow(storage, clock)
    dest = await storage.ensure_destination("local", "slack:C1", clock())
    await storage.record_poll(seen(feed_id, clock(), (article("a"),),
                                   (NewDelivery(dest, "a", alert("slack:C1", "s1")),)))
    await storage.stop_destination(dest, "channel_not_found")
    assert await claim(storage, clock) == []
    assert await storage.destination_state(dest) == (False, "channel_not_found")
    assert await storage.resume_destination(dest) is True
    assert await storage.resume_destination(dest) is False  # already running
    assert len(await claim(storage, clock)) == 1


async def test_audit_log_is_per_tenant_and_newest_first(storage, clock) -> None:
    await storage.audit("slack:T1", "U1", "watch.add", "Nvidia", before=None,
                        after={"name": "Nvidia"}, now=clock())
    clock.advance(minutes=1)
    await storage.audit("slack:T1", "U1", "watch.remove", "Nvidia", before={"name": "Nvidia"},
                        after=None, now=clock())
    await storage.audit("discord:9", "42", "feeds.add", "https://x.example.com", before=None,
                        after={}, now=clock())
    entries = await storage.audit_entries("slack:T1")
    assert [e.action for e in entries] == ["watch.remove", "watch.add"]
    assert entries[1].after == {"name": "Nvidia"} and entries[0].at == clock()


async def test_only_a_delivery_caught_in_flight_is_uncertain_after_a_crash(storage, clock) -> None:
    feed_id = await feed_with_follow(storage, clock)
    dest = await storage.ensure_destination("local", "console", clock())
    await storage.record_poll(seen(feed_id, clock(), (article("a"), article("b")), (
        NewDelivery(dest, "a", alert("console", "s1")),
        NewDelivery(dest, "b", alert("console", "s2")))))
    first, second = await claim(storage, clock)
    assert not first.uncertain and first.last_attempt_at is None
    started = clock()
    await storage.begin_attempt(first.id, started)  # ... and the worker dies while sending
    assert await claim(storage, clock, "w2") == []  # its lease still runs
    clock.advance(seconds=46)
    again, untouched = await claim(storage, clock, "w2")
    assert again.uncertain and again.attempts == 1 and again.last_attempt_at == started
    assert not untouched.uncertain and untouched.id == second.id  # never attempted: just send
    await storage.mark_retry(again.id, "boom", clock())
    await storage.release_destination(dest, "w2")
    third, _ = await claim(storage, clock, "w3")
    assert not third.uncertain


async def test_a_heartbeat_keeps_a_lease_and_a_pause_holds_the_destination(storage, clock) -> None:
    feed_id = await feed_with_follow(storage, clock)
    dest = await storage.ensure_destination("local", "console", clock())
    await storage.record_poll(seen(feed_id, clock(), (article("a"),),
                                   (NewDelivery(dest, "a", alert("console", "s1")),)))
    assert len(await claim(storage, clock)) == 1
    for _ in range(4):  # w1 lives on: its heartbeat renews the lease
        clock.advance(seconds=30)
        await storage.renew_leases("w1", clock() + timedelta(seconds=45))
        assert await claim(storage, clock, "w2") == []
    await storage.pause_destination(dest, clock() + timedelta(seconds=10))
    await storage.release_destination(dest, "w1")
    assert await claim(storage, clock, "w2") == []  # paused: the platform said wait
    clock.advance(seconds=10)
    assert len(await claim(storage, clock, "w2")) == 1


async def test_pruning_drops_old_article_text_but_keeps_their_keys(storage, clock) -> None:
    feed_id = await feed_with_follow(storage, clock)
    await storage.record_poll(seen(feed_id, clock(), (article("old"),)))
    clock.advance(days=40)
    await storage.record_poll(seen(feed_id, clock(), (article("new"),)))
    assert await storage.prune_article_text(clock() - timedelta(days=30)) == 1
    assert await storage.known_keys(feed_id, ["old", "new"]) == {"old", "new"}
    assert await storage.prune_article_text(clock() - timedelta(days=30)) == 0


async def test_the_migrations_create_exactly_the_tables_the_code_uses(storage: Storage) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from bot.storage.sql.tables import metadata

    async with storage.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
    assert diff == []


async def test_upgrading_keeps_deliveries_in_flight_in_doubt_and_revives_no_sink_rejections(
        db_url, clock) -> None:
    from sqlalchemy import text

    from bot.storage.sql.db import make_engine

    url, connect_args = db_url
    engine = make_engine(url, connect_args)
    await upgrade(engine, "0001")
    async with engine.begin() as conn:
        for sql in (
            "INSERT INTO tenants (id, name, created_at) VALUES ('local', '', :t)",
            "INSERT INTO destinations (id, tenant_id, address, active, created_at) "
            "VALUES (1, 'local', 'slack:C1', true, :t)",
        ):
            await conn.execute(text(sql), {"t": clock().replace(tzinfo=None)})
        rows = [(1, "pending", clock().replace(tzinfo=None), None),  # leased: in flight
                (2, "rejected", None, "no sink is configured for this platform (missing token?)"),
                (3, "pending", None, None)]
        for i, status, lease, error in rows:
            await conn.execute(text(
                "INSERT INTO deliveries (id, destination_id, story, status, attempts, "
                "next_attempt_at, lease_until, last_error, alert, created_at) VALUES "
                "(:i, 1, :s, :st, 1, :t, :l, :e, :a, :t)"),
                {"i": i, "s": f"s{i}", "st": status, "t": clock().replace(tzinfo=None),
                 "l": lease, "e": error, "a": '{"destination": "slack:C1"}'})
    await upgrade(engine)
    async with engine.connect() as conn:
        found = (await conn.execute(text(
            "SELECT id, status, attempt_started_at IS NOT NULL FROM deliveries ORDER BY id"
        ))).all()
    await engine.dispose()
    assert [tuple(r) for r in found] == [(1, "pending", True), (2, "pending", False),
                                         (3, "pending", False)]


# --- one rule for "the same watched name" (name_key) ----------------------------------------------
async def test_a_watch_is_found_by_its_name_without_accents_or_case(storage, clock) -> None:
    await storage.ensure_tenant("slack:T1", clock(), defaults=Watchlist())
    await storage.put_watch("slack:T1", "company", {"name": "Nestlé"}, clock())
    assert await storage.put_watch("slack:T1", "company", {"name": "NESTLE", "aliases": ["N"]},
                                   clock()) == {"name": "Nestlé"}  # replaced, not added
    assert [c.name for c in (await storage.watchlist("slack:T1")).companies] == ["NESTLE"]
    assert await storage.remove_watch("slack:T1", "company", "nestle") is not None
    assert (await storage.watchlist("slack:T1")).companies == ()


async def test_the_migration_rekeys_old_rows_and_keeps_colliding_ones(db_url, clock) -> None:
    from sqlalchemy import select

    from bot.storage.sql.db import make_engine
    from bot.storage.sql.tables import watches

    url, connect_args = db_url
    engine = make_engine(url, connect_args)
    try:
        await upgrade(engine, "0003")
        store = Storage(engine)
        await store.ensure_tenant("t", clock(), defaults=Watchlist())
        async with engine.begin() as conn:  # as 0003 wrote them: casefold only
            for i, name in enumerate(("Nestlé", "Société Générale", "Societe Generale")):
                await conn.execute(watches.insert().values(
                    tenant_id="t", kind="company", name=name, folded=name.casefold(),
                    spec={"name": name}, position=i, updated_at=clock()))
        await upgrade(engine)
        async with engine.connect() as conn:
            keys = dict((await conn.execute(select(watches.c.name, watches.c.folded))).all())
        assert keys == {"Nestlé": "nestle", "Société Générale": "société générale",
                        "Societe Generale": "societe generale"}  # the twins: both kept
    finally:
        await engine.dispose()
