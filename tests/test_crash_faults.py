"""Fault suite: kill -9 of real `newsbot run` processes mid-delivery loses nothing, doubles nothing.

Real processes (``python -m bot run --no-chat-adapters``) on a real database (a SQLite file, or a
fresh PostgreSQL database), fed by a loopback feed server, delivering to a jsonl file, the fake
Slack API and the fake Discord API (``NEWSBOT_SLACK_API_URL`` / ``NEWSBOT_DISCORD_API_URL``).
Each process is killed with SIGKILL at random moments while alerts go out; a last process then
runs until the outbox is empty. Every alert must have arrived exactly once on every sink.
The kill moments are drawn from a seeded generator, so a failure can be replayed.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import _skip_or_fail_without_postgres, postgres_url
from fakes.fake_discord import TOKEN as DISCORD_TOKEN
from fakes.fake_discord import FakeDiscord
from fakes.fake_slack import FakeSlack
from feedserver import FeedServer, Item, rss

REPO = Path(__file__).resolve().parents[1]
FEEDS, ITEMS = 3, 8  # 24 alerts per destination
SLACK_CHANNEL, DISCORD_CHANNEL = "CFAULTS", "424242"

WATCHLIST = """\
companies:
  - name: Acme Robotics
    aliases: [Acme]
"""


SYLLABLES = ["ka", "lo", "mi", "ne", "pu", "ra", "si", "to", "ve", "zu", "bar", "del", "fin",
             "gor", "hul", "jem", "kos", "lun", "mar", "nov"]


def event(f: int, i: int) -> str:
    """24 different events of one company, in words of their own (issue 12 joins reports of
    one event from several feeds into one story: these must stay 24 stories)."""
    rng = random.Random(8 * f + i)
    words = " ".join("".join(rng.sample(SYLLABLES, 3)) for _ in range(6))
    return f"{words} {17 + 29 * (8 * f + i)}"


def detail(f: int, i: int) -> str:
    rng = random.Random(1000 + 8 * f + i)
    return " ".join("".join(rng.sample(SYLLABLES, 3)) for _ in range(12)).capitalize() + "."


def write_config(folder: Path, feeds: FeedServer) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["feeds:"]
    for f in range(FEEDS):
        items = [Item(f"f{f}-i{i}", f"Acme Robotics {event(f, i)}",
                      f"Acme Robotics: {event(f, i)}. {detail(f, i)}")
                 for i in range(ITEMS)]
        url = feeds.set(f"/faults{f}.xml", rss(items, title=f"Feed {f}"))
        lines += [f"  - url: {url}", f"    title: Feed {f}", f"    backfill: {ITEMS}"]
    (folder / "feeds.yaml").write_text("\n".join(lines) + "\n")
    (folder / "watchlist.yaml").write_text(WATCHLIST)
    (folder / "channels.yaml").write_text(
        "destinations:\n"
        f"  - to: jsonl:{folder / 'alerts.jsonl'}\n    companies: ['*']\n"
        f"  - to: slack:{SLACK_CHANNEL}\n    companies: ['*']\n"
        f"  - to: discord:{DISCORD_CHANNEL}\n    companies: ['*']\n")
    return folder


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL the subprocesses can open: a SQLite file or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'faults.db'}"
        return
    url = postgres_url()
    if url is None:
        _skip_or_fail_without_postgres()
        return
    import asyncpg

    name = f"faults_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(url.replace("+asyncpg", ""))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def environment(database: str, config: Path, slack: FakeSlack, discord: FakeDiscord
                ) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("NEWSBOT_", "SLACK_", "DISCORD_"))}
    env.update({
        "NEWSBOT_DATABASE_URL": database, "NEWSBOT_CONFIG_DIR": str(config),
        "NEWSBOT_TICK_SECONDS": "1", "NEWSBOT_LOG_LEVEL": "INFO", "NEWSBOT_HTTP_PORT": "0",
        "SLACK_BOT_TOKEN": "xoxb-fault-suite", "NEWSBOT_SLACK_API_URL": slack.api_url,
        "DISCORD_TOKEN": DISCORD_TOKEN, "NEWSBOT_DISCORD_API_URL": discord.base,
        "PYTHONPATH": str(REPO),
    })
    return env


async def start(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:  # (the child keeps its own copy of the descriptor)
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--no-chat-adapters", cwd=str(log.parent),
            env=env, stdin=asyncio.subprocess.DEVNULL, stdout=out,
            stderr=asyncio.subprocess.STDOUT)


def jsonl_ids(path: Path) -> Counter[str]:
    if not path.exists():
        return Counter()
    ids: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            ids[f"{record['url']}"] += 1
    return ids


def slack_ids(slack: FakeSlack) -> Counter[str]:
    return Counter(m.get("text", "") + "|" + str(
        ((m.get("metadata") or {}).get("event_payload") or {}).get("story", ""))
        for m in slack.posted(SLACK_CHANNEL))


def discord_ids(discord: FakeDiscord) -> Counter[str]:
    return Counter(json.dumps(m.body.get("embeds"), sort_keys=True)
                   for m in discord.channel_messages(DISCORD_CHANNEL))


def delivered(config: Path, slack: FakeSlack, discord: FakeDiscord) -> tuple[int, int, int]:
    return (len(jsonl_ids(config / "alerts.jsonl")), len(slack_ids(slack)),
            len(discord_ids(discord)))


async def wait_until(predicate: Any, within: float,
                     procs: list[asyncio.subprocess.Process]) -> bool:
    """Poll ``predicate``; a worker that exits by itself (a start-up error) ends the wait."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return True
        if any(p.returncode is not None for p in procs):
            return predicate()
        await asyncio.sleep(0.2)
    return predicate()


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize("workers", [1, 2])
async def test_repeated_kill9_mid_delivery_loses_none_and_doubles_none(
        database: str, workers: int, tmp_path: Path, feed_server: FeedServer,
        slack: FakeSlack, discord: FakeDiscord) -> None:
    config = write_config(tmp_path / "config", feed_server)
    env = environment(database, config, slack, discord)
    log = tmp_path / "newsbot.log"
    rng = random.Random(f"{database.split(':')[0]}-{workers}")
    total = FEEDS * ITEMS
    kills = 0
    for _round in range(3):  # start, let some alerts out, kill -9 every worker at a random moment
        procs = [await start(env, log) for _ in range(workers)]
        before = sum(delivered(config, slack, discord))
        await wait_until(lambda b=before: sum(delivered(config, slack, discord)) > b, 30, procs)
        await asyncio.sleep(rng.uniform(0.2, 2.5))
        assert all(p.returncode is None for p in procs), log.read_text(errors="replace")[-3000:]
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                kills += 1
            await proc.wait()
        if delivered(config, slack, discord) == (total, total, total):
            break
    restarted = time.monotonic()
    procs = [await start(env, log) for _ in range(workers)]
    try:
        done = await wait_until(lambda: delivered(config, slack, discord) == (total,) * 3, 150,
                                procs)
        took = time.monotonic() - restarted
    finally:
        for proc in procs:
            await stop(proc)
    counts = (jsonl_ids(config / "alerts.jsonl"), slack_ids(slack), discord_ids(discord))
    doubled = [sum(n - 1 for n in c.values() if n > 1) for c in counts]
    print(f"kill -9 x{kills} ({workers} worker(s), {database.split(':')[0]}): delivered "
          f"{delivered(config, slack, discord)} of {total} each, doubled {doubled}, "
          f"rest delivered {took:.0f} s after the last start")
    assert doubled == [0, 0, 0], log.read_text(errors="replace")[-3000:]
    assert done, (delivered(config, slack, discord), log.read_text(errors="replace")[-3000:])
