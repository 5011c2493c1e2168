"""NEWSBOT_LOG_FORMAT=json: one JSON object per line, context fields, secrets masked."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys

from bot.cli import main
from bot.cli.log_format import log_handler
from bot.domain.secrets import protect_logs


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
