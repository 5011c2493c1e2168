"""NEWSBOT_LOG_FORMAT=json: one JSON object per line, context fields, secrets masked."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from apphelpers import open_app
from feedserver import Item, rss

from bot.chat.answer import answer
from bot.chat.types import Invocation
from bot.cli import main
from bot.cli.log_format import log_handler
from bot.domain.article import FeedSource
from bot.domain.errors import PermanentDeliveryError
from bot.domain.secrets import protect_logs
from bot.domain.watchlist import Company, Watchlist


def test_json_lines_carry_context_and_are_masked() -> None:
    out = io.StringIO()
    handler = log_handler("json", out)
    protect_logs(handler)
    logger = logging.getLogger("newsbot.test_json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("posting to %s failed", "https://hooks.slack.com/services/T/B/secret",
                       extra={"tenant": "slack:T1", "feed": 7, "delivery": 9, "story": "s1"})
        token = "xoxb-" + "abc123"  # (so the traceback's source line does not show it)
        try:
            raise ValueError(f"Slack said no to {token}")
        except ValueError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["level"] == "WARNING" and first["logger"] == "newsbot.test_json"
    assert first["message"] == "posting to https://hooks.slack.com/services/*** failed"
    assert (first["tenant"], first["feed"], first["delivery"], first["story"]) == \
        ("slack:T1", 7, 9, "s1")
    assert "time" in first and "tenant" not in second
    assert "abc123" not in second["exception"] and "ValueError" in second["exception"]


def test_a_bad_log_format_is_refused(monkeypatch, capsys) -> None:
    monkeypatch.setenv("NEWSBOT_LOG_FORMAT", "xml")
    assert main(["audit"]) == 2
    err = capsys.readouterr().err
    assert "NEWSBOT_LOG_FORMAT" in err and "'text' or 'json'" in err


def test_the_command_line_logs_json_lines(tmp_path) -> None:
    env = {**os.environ, "NEWSBOT_LOG_FORMAT": "JSON"}
    done = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade", "--db",
                           "sqlite:///rel.db"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert any(r["level"] == "WARNING" and str(tmp_path / "rel.db") in r["message"]
               for r in records), done.stderr


def test_a_failing_feed_logs_its_id_as_a_field(tmp_path, caplog) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (tmp_path / "bad.rss").write_text("this is not a feed")
    (config / "feeds.yaml").write_text("feeds:\n  - path: ../bad.rss\n")
    main(["run", "--once", "--config", str(config), "--db",
          f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"])
    failed = [r for r in caplog.records if "failed" in r.getMessage() and "bad.rss" in
              r.getMessage()]
    assert failed and all(getattr(r, "feed", None) == 1 for r in failed)
    line = json.loads(log_handler("json", io.StringIO()).format(failed[0]))
    assert line["feed"] == 1 and line["level"] == "WARNING"


class _RefusingSink:
    """The platform refuses for good (a removed channel): the destination is stopped."""

    platform = "rec"

    async def send(self, delivery: Any) -> Any:
        raise PermanentDeliveryError("channel_not_found")

    async def find_sent(self, delivery: Any) -> str | None:
        return None

    async def close(self) -> None:
        return None


async def test_real_log_lines_carry_the_tenant_feed_delivery_and_story_ids(
        db_url, tmp_path, clock, feed_server, caplog) -> None:  # type: ignore[no-untyped-def]
    good = feed_server.set("/good.xml", rss([Item("g1", "Nvidia news", "Nvidia will invest.",
                                                  datetime(2026, 11, 20, tzinfo=UTC))]))
    bad = feed_server.set("/broken.xml", b"down", status=500)
    app = await open_app(db_url, tmp_path, clock, sinks={"rec": _RefusingSink()},
                         feeds=[FeedSource(good, "Good", backfill=1), FeedSource(bad, "Bad")],
                         watchlist=Watchlist(companies=(Company("Nvidia"),)), address="rec:main")
    caplog.set_level(logging.INFO)
    try:
        await app.cycle(all_feeds=True)
        bad_id = next(f.id for f in await app.storage.feed_follows("local") if f.url == bad)
    finally:
        await app.close()
    out = io.StringIO()
    handler = log_handler("json", out)
    for record in caplog.records:
        handler.handle(record)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert any(r.get("feed") == bad_id and "HTTP 500" in r["message"] for r in lines), lines
    stopped = next(r for r in lines if "stopped after a permanent error" in r["message"])
    assert stopped["tenant"] == "local" and isinstance(stopped["delivery"], int)
    assert stopped["story"]

    async def broken(invocation: Invocation) -> Any:
        raise RuntimeError("bug")

    caplog.clear()
    commands = type("Broken", (), {"handle": staticmethod(broken)})()
    await answer(commands, Invocation(tenant="discord:42", platform="discord", channel="1",
                                      user="u", text="list"))
    (failed,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failed.tenant == "discord:42"  # type: ignore[attr-defined]
