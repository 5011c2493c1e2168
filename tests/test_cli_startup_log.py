"""The start-up log: version, config folder, database with its password masked, adapters."""

from __future__ import annotations

import logging

import pytest

from bot.cli import main
from bot.cli.startup_log import startup_lines
from bot.config.settings import Settings, package_version


@pytest.mark.parametrize("env, slack, discord", [
    ({}, "off (SLACK_BOT_TOKEN is not set)", "off (DISCORD_TOKEN is not set)"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, "off (Socket Mode needs SLACK_APP_TOKEN)",
     "off (DISCORD_TOKEN is not set)"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "NEWSBOT_SLACK_MODE": "http"},
     "off (HTTP mode needs SLACK_SIGNING_SECRET)", "off (DISCORD_TOKEN is not set)"),
    ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "DISCORD_TOKEN": "d"},
     "on (socket mode)", "on"),
])
def test_adapters_are_reported_on_or_off_with_the_reason(monkeypatch, env, slack,
                                                         discord) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN",
                 "NEWSBOT_SLACK_MODE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    lines = startup_lines(Settings())
    assert lines[1] == f"chat adapters: Slack {slack}; Discord {discord}"


def test_the_database_password_is_masked() -> None:
    settings = Settings(database_url="postgresql+asyncpg://bot:hunter2@db:5432/news")
    first = startup_lines(settings)[0]
    assert "hunter2" not in first and "postgresql+asyncpg://bot:***@db:5432/news" in first
    assert first.startswith(f"newsbot {package_version()}: config folder ")


def test_run_logs_where_it_reads_and_writes(tmp_path, caplog) -> None:
    config = tmp_path / "config"
    config.mkdir()
    db = tmp_path / "db.sqlite"
    caplog.set_level(logging.INFO, logger="newsbot")
    assert main(["run", "--once", "--config", str(config), "--db",
                 f"sqlite+aiosqlite:///{db}"]) == 0
    assert f"config folder {config}, database sqlite+aiosqlite:///{db}" in caplog.text
    assert "chat adapters: Slack off (--once); Discord off (--once)" in caplog.text
