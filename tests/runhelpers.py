"""`newsbot run` as a real subprocess (python -m bot) on a temporary config, SQLite and loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from feedserver import Item, rss

WATCHLIST_YAML = "companies:\n  - name: Nvidia\n  - name: Airbus\ntopics:\n  - name: Funding\n" \
                 "    keywords: [funding round]\n"
CHANNELS_YAML = "destinations:\n  - to: jsonl:out/alerts.jsonl\n    companies: ['*']\n"
CLEAN_ENV = ("SLACK_", "DISCORD_", "NEWSBOT_")


def write_config(base: Path, feeds: list[str], *, alerts: int = 3) -> Path:
    """A config folder: ``feeds`` (URLs) plus one local feed with ``alerts`` Nvidia items."""
    local = base / "local.rss"
    when = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    local.write_bytes(rss([Item(f"n{i}", f"Nvidia news {i}", "Nvidia did a thing.", when)
                           for i in range(alerts)]))
    config = base / "config"
    config.mkdir(exist_ok=True)
    entries = [f"  - url: {url}\n    backfill: 5\n" for url in feeds]
    entries.append(f"  - path: {local}\n    backfill: {alerts}\n")
    (config / "feeds.yaml").write_text("feeds:\n" + "".join(entries), encoding="utf-8")
    (config / "watchlist.yaml").write_text(WATCHLIST_YAML, encoding="utf-8")
    (config / "channels.yaml").write_text(CHANNELS_YAML, encoding="utf-8")
    return config


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any Slack/Discord/newsbot settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEAN_ENV)}
    env.update(extra)
    env.setdefault("NEWSBOT_HTTP_PORT", "0")  # no status server unless the test asks (8080 clash)
    return env


@dataclass
class Run:
    proc: asyncio.subprocess.Process
    base: Path

    @property
    def alerts(self) -> list[str]:
        out = self.base / "out" / "alerts.jsonl"
        return out.read_text().splitlines() if out.exists() else []

    async def stop(self, sig: int = signal.SIGTERM, within: float = 30.0) -> tuple[int, float]:
        """Send ``sig``; the exit status and the seconds it took to exit."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        self.proc.send_signal(sig)
        code = await asyncio.wait_for(self.proc.wait(), within)
        return code, loop.time() - start

    @property
    def stderr(self) -> str:
        return (self.base / "stderr.log").read_text(errors="replace")

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


async def start_run(base: Path, feeds: list[str], *args: str, **env: str) -> Run:
    config = write_config(base, feeds)
    with (base / "stderr.log").open("wb") as log:  # a file: a full pipe would block the bot
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--config", str(config), *args, cwd=base,
            env=clean_env(NEWSBOT_DATABASE_URL=f"sqlite+aiosqlite:///{base / 'db.sqlite'}",
                          NEWSBOT_TICK_SECONDS="1", **env),
            stdout=asyncio.subprocess.DEVNULL, stderr=log)
    return Run(proc, base)


async def eventually(predicate: Callable[[], bool], within: float, run: Run) -> bool:
    """Poll ``predicate`` until true (True), ``within`` seconds pass or the process ends."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline and run.proc.returncode is None:
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return predicate()
