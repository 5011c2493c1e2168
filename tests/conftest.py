"""Shared fixtures: a fake clock, storage on SQLite and (where a server answers) PostgreSQL."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from fakes.fake_discord import FakeDiscord, start_fake_discord
from fakes.fake_slack import FakeSlack, fake_slack
from feedserver import FeedServer, start_feed_server

from bot.storage import Storage, open_storage

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO.parent / "shared" / "corpora"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def corpora_dir(*parts: str) -> Path:
    path = CORPORA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus {path} is not present (../shared/corpora beside the checkout)")
    return path


@dataclass
class FakeClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 29, 12, 0, tzinfo=UTC))


def postgres_url() -> str | None:
    """The test server's URL, or None (with the reason recorded) when none answers."""
    url = os.environ.get("NEWSBOT_TEST_POSTGRES_URL", DEFAULT_PG)
    parsed = urlparse(url.replace("+asyncpg", ""))
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), 1):
            return url
    except OSError:
        return None


def _skip_or_fail_without_postgres() -> None:
    reason = ("no PostgreSQL server at NEWSBOT_TEST_POSTGRES_URL "
              f"({os.environ.get('NEWSBOT_TEST_POSTGRES_URL', DEFAULT_PG)})")
    if os.environ.get("NEWSBOT_REQUIRE_POSTGRES") == "1":
        pytest.fail(reason + " but NEWSBOT_REQUIRE_POSTGRES=1")
    pytest.skip(reason)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, dict]]:
    """(url, connect_args) of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}", {}
        return
    url = postgres_url()
    if url is None:
        _skip_or_fail_without_postgres()
        return
    import asyncpg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    dsn = url.replace("+asyncpg", "")
    conn = await asyncpg.connect(dsn)
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield url, {"server_settings": {"search_path": schema}}
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A loopback HTTP server whose feeds the test sets and changes."""
    server, runner = await start_feed_server()
    yield server
    await runner.cleanup()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """The local fake Slack Web API (and Socket Mode); its message ts count from the real time."""
    async with fake_slack() as srv:
        yield srv


@pytest.fixture
def slack_on_clock(slack: FakeSlack, clock: FakeClock) -> FakeSlack:
    """The fake Slack, its message ts in the test clock's time (for apps that run on ``clock``)."""
    slack.start = clock().timestamp()
    return slack


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    """The local fake Discord REST API."""
    srv, runner = await start_fake_discord()
    yield srv
    await runner.cleanup()


@pytest.fixture
async def storage(db_url: tuple[str, dict]) -> AsyncIterator[Storage]:
    url, connect_args = db_url
    store = await open_storage(url, connect_args=connect_args)
    try:
        yield store
    finally:
        await store.dispose()
