"""What a start costs (issue 16): `run --once` from cron pays only for what it uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from bot.storage.sql.db import MIGRATIONS, script_head

OPEN_TWICE = """
import asyncio, sys
from bot.storage import open_storage

async def main(url):
    storage = await open_storage(url)
    await storage.dispose()

asyncio.run(main(sys.argv[1]))
print("alembic" in sys.modules)
"""


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert script_head() == ScriptDirectory.from_config(cfg).get_current_head()


def test_a_database_at_the_head_opens_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}"

    def opened() -> str:
        return subprocess.run([sys.executable, "-c", OPEN_TWICE, url], capture_output=True,
                              text=True, check=True, timeout=120).stdout.strip()

    assert opened() == "True"  # a new database: migrated by Alembic
    assert opened() == "False"  # up to date: one query, no Alembic


RUN_ONCE_IMPORTS = """
import sys
from bot.cli.parser import build_parser
build_parser()
import bot.app, bot.cli.run
print(",".join(m for m in ("alembic", "bot.chat", "discord", "slack_sdk", "slack_bolt")
               if m in sys.modules))
"""


def test_run_once_does_not_import_the_chat_layer_or_alembic() -> None:
    out = subprocess.run([sys.executable, "-c", RUN_ONCE_IMPORTS], capture_output=True,
                         text=True, check=True, timeout=120).stdout.strip()
    assert out == ""


async def test_config_sync_writes_a_watchlist_only_when_it_changed(storage, clock) -> None:
    from bot.domain.watchlist import Company, Topic, Watchlist

    first = Watchlist(companies=(Company("Acme", aliases=("ACME",)), Company("Beta")),
                      topics=(Topic("Funding", ("funding round",)),))
    await storage.ensure_tenant("local", clock.now, name="operator")
    assert await storage.sync_watchlist("local", first, clock.now)  # new: written
    assert await storage.watchlist("local") is first  # (and not read back)
    again = Watchlist(companies=(Company("Acme", aliases=("ACME",)), Company("Beta")),
                      topics=(Topic("Funding", ("funding round",)),))
    assert not await storage.sync_watchlist("local", again, clock.now)  # the same: not written
    assert await storage.watchlist("local") is again  # and the poller reads that very object
    changed = Watchlist(companies=(Company("Acme", aliases=("ACME",)), Company("Gamma")),
                        topics=again.topics)
    assert await storage.sync_watchlist("local", changed, clock.now)
    assert [c.name for c in (await storage.watchlist("local")).companies] == ["Acme", "Gamma"]
    longer = Watchlist(companies=(*changed.companies, Company("Delta")), topics=again.topics)
    assert await storage.sync_watchlist("local", longer, clock.now)  # one more: written
    assert await storage.sync_watchlist("local", changed, clock.now)  # one fewer: written
