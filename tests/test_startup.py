"""Starting and stopping `newsbot run`: settings refused up front, chat adapters that never hold
polling up, and signals that end the process within seconds whatever it is doing."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fakes.fake_slack import Failure, fake_slack
from runhelpers import Run, clean_env, eventually, start_run

from bot.adapters.background import BackgroundAdapter
from bot.adapters.slack.app import start_slack
from bot.cli import main
from bot.config.settings import Settings
from bot.domain.errors import ConfigError

STOP_BUDGET = 5.0  # what the README promises after SIGTERM/SIGINT
MARGIN = 3.0  # a noisy shared machine: the promise plus a generous margin

BAD_SETTINGS = [
    ("NEWSBOT_TICK_SECONDS", "-5", "NEWSBOT_TICK_SECONDS must be a number between 1 and 86400 "
                                   "(got -5)"),
    ("NEWSBOT_TICK_SECONDS", "0", "between 1 and 86400 (got 0)"),
    ("NEWSBOT_TICK_SECONDS", "soon", "NEWSBOT_TICK_SECONDS must be a number"),
    ("NEWSBOT_CONCURRENCY", "0", "NEWSBOT_CONCURRENCY must be a whole number between 1 and 256"),
    ("NEWSBOT_CONCURRENCY", "2.5", "(got 2.5)"),
    ("NEWSBOT_MAX_FEED_BYTES", "-1", "between 1024 and 1073741824 (got -1)"),
    ("NEWSBOT_PARSE_WORKERS", "0", "NEWSBOT_PARSE_WORKERS must be a whole number between 1 and 16"),
    ("NEWSBOT_PARSE_WORKERS", "many", "(got many)"),
    ("NEWSBOT_FETCH_TIMEOUT", "-3", "NEWSBOT_FETCH_TIMEOUT must be a number between 1 and 600"),
    ("NEWSBOT_DELIVERY_MAX_AGE_DAYS", "0", "more than 0 and at most 365 (got 0)"),
    ("NEWSBOT_SLACK_PORT", "99999", "between 0 and 65535"),
    ("NEWSBOT_LOG_LEVEL", "LOUD", "NEWSBOT_LOG_LEVEL must be one of DEBUG, INFO, WARNING"),
    ("NEWSBOT_SLACK_MODE", "websocket", "NEWSBOT_SLACK_MODE must be one of 'socket' or 'http'"),
    ("NEWSBOT_SLACK_API_URL", "slack.com/api", "NEWSBOT_SLACK_API_URL must be an http(s) URL"),
    ("NEWSBOT_DISCORD_API_URL", "file:///etc/passwd", "must be an http(s) URL"),
    ("NEWSBOT_FETCH_ALLOW_NETWORKS", "10.0.0.0/8, intranet",
     "NEWSBOT_FETCH_ALLOW_NETWORKS must be comma-separated networks such as 10.0.0.0/8; "
     "'intranet' is not one"),
    ("NEWSBOT_FETCH_ALLOW_NETWORKS", "10.1.2.3/8", "'10.1.2.3/8' is not one"),
]


@pytest.mark.parametrize(("variable", "value", "message"), BAD_SETTINGS)
def test_a_bad_setting_is_refused_before_anything_runs(variable, value, message, tmp_path,
                                                        monkeypatch, capsys) -> None:
    monkeypatch.setenv(variable, value)
    db = tmp_path / "db.sqlite"
    assert main(["run", "--db", f"sqlite+aiosqlite:///{db}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("newsbot: ") and message in err
    assert not db.exists()


def test_settings_at_the_edges_of_their_ranges_are_accepted(monkeypatch) -> None:
    for variable, value in [("NEWSBOT_TICK_SECONDS", "1"), ("NEWSBOT_CONCURRENCY", "256"),
                            ("NEWSBOT_MAX_FEED_BYTES", "1024"), ("NEWSBOT_LOG_LEVEL", "debug"),
                            ("NEWSBOT_SLACK_MODE", " HTTP "), ("NEWSBOT_SLACK_PORT", "0"),
                            ("NEWSBOT_SLACK_API_URL", "https://slack-gov.com/api/"),
                            ("NEWSBOT_FETCH_ALLOW_NETWORKS", " 10.0.0.0/8,,fd00::/8 ")]:
        monkeypatch.setenv(variable, value)
    settings = Settings()
    assert (settings.tick_seconds, settings.concurrency, settings.log_level,
            settings.slack_mode) == (1, 256, "DEBUG", "http")
    assert [str(n) for n in settings.allow_networks] == ["10.0.0.0/8", "fd00::/8"]


def test_newsbot_run_with_a_negative_tick_exits_2_at_once(tmp_path) -> None:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=tmp_path, timeout=60,
                          env=clean_env(NEWSBOT_TICK_SECONDS="-5"), capture_output=True, text=True)
    elapsed = time.monotonic() - started
    assert done.returncode == 2
    assert done.stderr.strip() == ("newsbot: NEWSBOT_TICK_SECONDS must be a number between 1 "
                                   "and 86400 (got -5)")
    assert elapsed < STOP_BUDGET + MARGIN  # the issue: "exits non-zero in under 5 s"
    assert not (tmp_path / "data").exists()  # no database was created


# --- loopback servers that never answer -----------------------------------------------------------
@asynccontextmanager
async def silent_server() -> AsyncIterator[tuple[str, list[asyncio.StreamWriter]]]:
    """Accepts connections and never answers (a hung API or feed host)."""
    connections: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        await reader.read()  # until the client hangs up

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


async def first_connection(connections: list[asyncio.StreamWriter]) -> None:
    while not connections:  # noqa: ASYNC110 - the list is filled by the server's handler
        await asyncio.sleep(0.02)


def assert_clean_exit(run: Run, code: int, took: float) -> None:
    log = run.stderr
    print(f"stopped in {took:.2f}s")  # the figure the README promises (pytest -rP shows it)
    assert code == 0, log[-3000:]
    assert took < STOP_BUDGET + MARGIN, f"took {took:.1f}s to stop"
    assert "Traceback" not in log and "Unclosed" not in log, log[-3000:]


# --- signals --------------------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_stops_run_while_a_feed_hangs_mid_fetch(sig, tmp_path) -> None:
    async with silent_server() as (base, connections):
        run = await start_run(tmp_path, [f"{base}/slow.xml"], "--no-chat-adapters")
        try:
            assert await eventually(lambda: bool(connections), 60, run), run.stderr
            code, took = await run.stop(sig)
        finally:
            await run.kill()
    assert_clean_exit(run, code, took)
    assert "cancelled by the stop" in run.stderr  # the hung cycle was abandoned, not awaited


STUCK = """
import asyncio, logging, sys, time
from bot.cli.run import install_signal_handlers
logging.basicConfig(stream=sys.stderr)

async def main():
    install_signal_handlers(asyncio.Event())
    print("ready", flush=True)
    time.sleep(120)  # the loop is blocked (a CPU-bound step, a call that never returns)

asyncio.run(main())
"""


def test_the_deadline_ends_a_process_whose_loop_is_stuck(tmp_path) -> None:
    with subprocess.Popen([sys.executable, "-c", STUCK], cwd=tmp_path, env=clean_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline() == "ready\n"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(60)
        finally:
            proc.kill()
        took = time.monotonic() - started
        log = proc.stderr.read()
    assert code == 1 and "shutdown deadline passed" in log
    assert took < STOP_BUDGET + MARGIN


# --- chat adapters never hold polling and delivery up ---------------------------------------------
SLACK_ENV = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test"}


async def test_alerts_flow_and_sigterm_stops_while_slack_answers_503(tmp_path) -> None:
    async with fake_slack() as fake:
        fake.script("apps.connections.open", *[Failure(status=503)] * 100)
        run = await start_run(tmp_path, [], NEWSBOT_SLACK_API_URL=fake.api_url, **SLACK_ENV)
        try:
            assert await eventually(lambda: len(run.alerts) == 3, 30, run), run.stderr
            assert await eventually(lambda: len(fake.calls_to("apps.connections.open")) >= 2,
                                    30, run)  # retried in the background, with backoff
            code, took = await run.stop()
        finally:
            await run.kill()
    assert_clean_exit(run, code, took)
    assert "Slack could not start" in run.stderr


async def test_alerts_flow_and_sigterm_stops_while_slack_and_discord_never_answer(
        tmp_path) -> None:
    async with silent_server() as (base, connections):
        run = await start_run(tmp_path, [], NEWSBOT_SLACK_API_URL=f"{base}/api/",
                              NEWSBOT_DISCORD_API_URL=f"{base}/discord", DISCORD_TOKEN="d-test",
                              **SLACK_ENV)
        try:
            assert await eventually(lambda: len(run.alerts) == 3, 30, run), run.stderr
            assert await eventually(lambda: len(connections) >= 2, 30, run)  # both are waiting
            code, took = await run.stop()
        finally:
            await run.kill()
    assert_clean_exit(run, code, took)


async def test_no_chat_adapters_polls_and_delivers_without_touching_slack(tmp_path) -> None:
    async with fake_slack() as fake:
        run = await start_run(tmp_path, [], "--no-chat-adapters",
                              NEWSBOT_SLACK_API_URL=fake.api_url, **SLACK_ENV)
        try:
            assert await eventually(lambda: len(run.alerts) == 3, 30, run), run.stderr
            code, took = await run.stop()
        finally:
            await run.kill()
    assert_clean_exit(run, code, took)
    assert fake.calls == []  # no apps.connections.open, no websocket


# --- the background start, in process -------------------------------------------------------------
def slack_settings(api_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name, value in SLACK_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    return Settings(slack_api_url=api_url)


class _NoCommands:
    async def handle(self, invocation: object) -> object:
        raise AssertionError("no command expected")


async def test_slack_connects_once_its_api_recovers(monkeypatch, caplog) -> None:
    async with fake_slack() as fake:
        fake.script("apps.connections.open", Failure(status=503), Failure(status=503))
        settings = slack_settings(fake.api_url, monkeypatch)
        adapter = BackgroundAdapter("Slack", lambda: start_slack(settings, _NoCommands()),
                                    permanent=(ConfigError,), first_delay=0.01)
        adapter.begin()
        await asyncio.wait_for(adapter.wait_started(), 30)
        try:
            assert adapter.attempts == 3 and adapter.runtime is not None
            assert len(fake.calls_to("apps.connections.open")) == 3
        finally:
            await adapter.stop()
    assert caplog.text.count("Slack could not start") == 2


async def test_a_refused_app_token_is_not_retried(monkeypatch, caplog) -> None:
    async with fake_slack() as fake:
        fake.script("apps.connections.open", Failure(error="invalid_auth"))
        settings = slack_settings(fake.api_url, monkeypatch)
        adapter = BackgroundAdapter("Slack", lambda: start_slack(settings, _NoCommands()),
                                    permanent=(ConfigError,), first_delay=0.01)
        adapter.begin()
        await asyncio.wait_for(adapter.wait_started(), 30)
        await adapter.stop()
    assert adapter.attempts == 1 and adapter.runtime is None
    assert "Slack cannot start: Slack refused SLACK_APP_TOKEN (invalid_auth)" in caplog.text
    assert "xapp-test" not in caplog.text


async def test_stopping_a_start_that_hangs_closes_its_sessions(monkeypatch, caplog) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    async with silent_server() as (base, connections):
        settings = slack_settings(f"{base}/api/", monkeypatch)
        adapter = BackgroundAdapter("Slack", lambda: start_slack(settings, _NoCommands()))
        adapter.begin()
        await asyncio.wait_for(first_connection(connections), 30)
        await asyncio.wait_for(adapter.stop(), STOP_BUDGET + MARGIN)
    assert adapter.runtime is None
    gc.collect()
    await asyncio.sleep(0)
    assert "Unclosed" not in caplog.text


def test_the_readme_documents_the_ranges_and_the_flag() -> None:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for variable, _, _ in BAD_SETTINGS:
        assert f"`{variable}`" in text, variable
    assert "--no-chat-adapters" in text
