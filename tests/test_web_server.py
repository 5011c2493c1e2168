"""/healthz, /readyz, /metrics and the status page: real App, real database, real HTTP (loopback).

The App has a feed that answers 500 (titled with markup) and two alerts pending behind a 429.
"""

from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from webhelpers import HOSTILE, busy_app, serve

from bot.web.health import TICKS, head_revision


def samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(exposition) for s in family.samples}


@pytest.fixture
async def app(db_url, tmp_path, clock, feed_server):
    app = await busy_app(db_url, tmp_path, clock, feed_server)
    yield app
    await app.close()


async def test_health_ready_and_metrics_while_a_feed_fails_and_alerts_are_pending(
        app, clock) -> None:
    clock.advance(minutes=1)  # the pending alerts are a minute old now (within 3 ticks)
    async with serve(app) as web:
        assert (await web.get("/healthz"))[:2] == (200, "ok\n")
        assert (await web.get("/readyz"))[:2] == (200, "ready\n")
        status, body, headers = await web.get("/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    got = samples(body)
    assert got[("newsbot_polls_total", (("outcome", "failed"),))] == 1
    assert got[("newsbot_polls_total", (("outcome", "ok"),))] == 1
    assert got[("newsbot_fetch_seconds_count", ())] == 2
    assert got[("newsbot_articles_new_total", ())] == 2
    assert got[("newsbot_alerts_queued_total", ())] == 2
    assert got[("newsbot_alerts", (("state", "pending"),))] == 2
    assert got[("newsbot_alerts", (("state", "sent"),))] == 0
    assert got[("newsbot_outbox_oldest_pending_age_seconds", ())] == 60
    assert got[("newsbot_deliveries_total", (("outcome", "rate_limited"),
                                             ("platform", "rec")))] >= 1
    assert got[("newsbot_rate_limited_total", (("platform", "rec"),))] >= 1
    assert got[("newsbot_feeds_failing", ())] == 1
    assert got[("newsbot_database_up", ())] == 1
    assert got[("newsbot_destinations_stopped", ())] == 0
    assert ("newsbot_event_loop_lag_max_seconds", ()) in got


async def test_every_metric_name_starts_with_newsbot(app) -> None:
    async with serve(app) as web:
        body = (await web.get("/metrics"))[1]
    names = {f.name for f in text_string_to_metric_families(body)}
    assert len(names) >= 12
    assert [n for n in names if not n.startswith("newsbot_")] == []


async def test_two_apps_in_one_process_keep_their_own_counts(app, db_url, tmp_path, clock,
                                                             feed_server) -> None:
    other = await busy_app(db_url, tmp_path / "b", clock, feed_server)
    try:
        async with serve(other) as web:
            got = samples((await web.get("/metrics"))[1])
    finally:
        await other.close()
    # the second App polled the same (already seen) feeds once: its own counter, not the sum
    assert got[("newsbot_polls_total", (("outcome", "failed"),))] == 1


async def test_readyz_is_503_when_the_scheduler_stops_ticking(app, clock) -> None:
    settings = app.settings
    clock.advance(seconds=TICKS * settings.tick_seconds + settings.fetch_timeout + 1)
    async with serve(app) as web:
        status, body, _ = await web.get("/readyz")
        jstatus, jbody, _ = await web.get("/readyz", headers={"Accept": "application/json"})
        assert (await web.get("/healthz"))[0] == 200  # alive, just not ready
    assert status == 503 and "scheduler stalled" in body
    answer = json.loads(jbody)
    assert jstatus == 503 and answer["ready"] is False
    assert answer["revision"] == head_revision()


async def test_readyz_is_503_when_the_database_is_behind_the_migrations(app) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from bot.storage.sql.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    older = [r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions()][1]
    async with app.storage.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": older})
    async with serve(app) as web:
        status, body, _ = await web.get("/readyz")
    assert status == 503
    assert f"database schema at {older}, newest is {head_revision()}" in body
    assert "newsbot db upgrade" in body


async def test_readyz_is_503_before_the_first_cycle(db_url, tmp_path, clock) -> None:
    from apphelpers import open_app

    from bot.delivery.console import ConsoleSink
    from bot.domain.watchlist import Watchlist

    app = await open_app(db_url, tmp_path, clock, feeds=[], watchlist=Watchlist(),
                         sinks={"console": ConsoleSink()}, address="console")
    try:
        async with serve(app) as web:
            status, body, _ = await web.get("/readyz")
    finally:
        await app.close()
    assert status == 503 and "not started a cycle yet" in body


async def test_status_page_shows_the_failing_feed_and_pending_alerts_escaped(app) -> None:
    await app.storage.audit("local", "U<b>admin</b>", "feed.add", HOSTILE, before=None,
                            after={"title": HOSTILE}, now=app.clock())
    async with serve(app) as web:
        status, page, headers = await web.get("/status")
        assert (await web.get("/"))[1] == page
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src" not in headers["Content-Security-Policy"]  # no scripts at all
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "Evil &amp; Co" in page
    assert "failing (1x)" in page and "HTTP 500" in page  # the feed's status and its error
    assert "Nvidia news 1" in page and "rec:main" in page  # the pending alerts, and where to
    assert "feed.add" in page and "U&lt;b&gt;admin&lt;/b&gt;" in page  # the audit log
    assert "ready" in page


async def test_status_page_requires_the_token_when_one_is_set(app) -> None:
    token = "s3cret-token"
    async with serve(app, token=token) as web:
        assert (await web.get("/status"))[0] == 401
        assert (await web.get("/status?token=wrong"))[0] == 401
        assert (await web.get("/status", headers={"Authorization": "Bearer nope"}))[0] == 401
        assert (await web.get(f"/status?token={token}"))[0] == 200
        ok = await web.get("/status", headers={"Authorization": f"Bearer {token}"})
        assert ok[0] == 200 and "Good news" in ok[1]
        assert (await web.get("/healthz"))[0] == 200  # probes need no token


async def test_a_long_cycle_that_keeps_fetching_counts_as_ticking(app, clock) -> None:
    settings = app.settings
    clock.advance(seconds=TICKS * settings.tick_seconds + settings.fetch_timeout + 1)
    async with serve(app) as web:
        assert (await web.get("/readyz"))[0] == 503
        await app.poll_due(all_feeds=True)  # inside a cycle: fetches, no new cycle start
        assert (await web.get("/readyz"))[:2] == (200, "ready\n")


async def test_an_unreachable_database_is_not_ready_but_metrics_and_health_answer(app) -> None:
    from bot.storage import Storage
    from bot.storage.sql.db import make_engine

    ours = app.storage
    app.storage = Storage(make_engine("postgresql+asyncpg://postgres@127.0.0.1:9/newsbot"))
    try:
        async with serve(app) as web:
            ready = await web.get("/readyz")
            metrics = await web.get("/metrics")
            page = await web.get("/status")
            health = await web.get("/healthz")
    finally:
        await app.storage.dispose()
        app.storage = ours
    assert ready[0] == 503 and "not ready: database unreachable" in ready[1]
    assert metrics[0] == 200
    assert samples(metrics[1])[("newsbot_database_up", ())] == 0
    assert samples(metrics[1])[("newsbot_polls_total", (("outcome", "failed"),))] == 1
    assert page[0] == 503 and "the database did not answer" in page[1]
    assert health[0] == 200
