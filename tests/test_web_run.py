"""The server's life in `newsbot run` (a real subprocess), its settings, and `newsbot --version`."""

from __future__ import annotations

import asyncio
import socket
import urllib.error
import urllib.request

import pytest
from pydantic import ValidationError
from runhelpers import eventually, start_run

from bot.cli import main
from bot.config.settings import Settings, package_version, settings_errors

STOP_BUDGET = 5.0  # what the README promises after SIGTERM
MARGIN = 10.0  # a noisy machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


async def test_run_serves_health_and_readiness_and_stops_within_the_budget(tmp_path) -> None:
    port = free_port()
    run = await start_run(tmp_path, [], "--no-chat-adapters", NEWSBOT_HTTP_PORT=str(port))
    base = f"http://127.0.0.1:{port}"
    answers: dict[str, tuple[int, str]] = {}

    def polled() -> bool:  # the local feed's first poll is in the metrics
        answers["metrics"] = get(base + "/metrics")
        return 'newsbot_polls_total{outcome="ok"} 1.0' in answers["metrics"][1]

    try:
        assert await eventually(polled, 60, run), (answers, run.stderr[-2000:])
        assert await asyncio.to_thread(get, base + "/readyz") == (200, "ready\n")
        assert await asyncio.to_thread(get, base + "/healthz") == (200, "ok\n")
        code, took = await run.stop()
    finally:
        await run.kill()
    assert code == 0 and took < STOP_BUDGET + MARGIN, run.stderr[-2000:]
    assert f"status page on http://127.0.0.1:{port}/" in run.stderr
    assert "Traceback" not in run.stderr and "Unclosed" not in run.stderr
    assert (await asyncio.to_thread(get, base + "/healthz"))[0] == 0  # gone with the process


async def test_run_refuses_a_port_in_use_with_a_clear_message(tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = await start_run(tmp_path, [], "--no-chat-adapters", NEWSBOT_HTTP_PORT=str(port))
        try:
            code = await asyncio.wait_for(run.proc.wait(), 60)
        finally:
            await run.kill()
    assert code == 1
    assert f"newsbot: cannot serve /healthz, /metrics and the status page on 127.0.0.1:{port}" \
        in run.stderr
    assert "Traceback" not in run.stderr


def settings_problem(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for key in ("NEWSBOT_HTTP_HOST", "NEWSBOT_HTTP_PORT", "NEWSBOT_STATUS_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    try:
        Settings()
    except ValidationError as exc:
        return settings_errors(exc)
    return []


def test_a_public_host_without_a_status_token_is_refused(monkeypatch) -> None:
    [line] = settings_problem(monkeypatch, NEWSBOT_HTTP_HOST="0.0.0.0")
    assert line.startswith("NEWSBOT_STATUS_TOKEN must be set when NEWSBOT_HTTP_HOST (0.0.0.0) "
                           "is not a loopback address")
    assert line.endswith("(got not set)")
    assert settings_problem(monkeypatch, NEWSBOT_HTTP_HOST="0.0.0.0",
                            NEWSBOT_STATUS_TOKEN="   ") == [line]  # blank is no token
    assert settings_problem(monkeypatch, NEWSBOT_HTTP_HOST="0.0.0.0",
                            NEWSBOT_STATUS_TOKEN="t0ken") == []
    assert settings_problem(monkeypatch, NEWSBOT_HTTP_HOST="0.0.0.0", NEWSBOT_HTTP_PORT="0") == []
    for loopback in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        assert settings_problem(monkeypatch, NEWSBOT_HTTP_HOST=loopback) == []


def test_bad_http_settings_name_the_variable_and_the_range(monkeypatch) -> None:
    assert settings_problem(monkeypatch, NEWSBOT_HTTP_PORT="70000") == [
        "NEWSBOT_HTTP_PORT must be a whole number between 0 and 65535 (got 70000)"]
    assert settings_problem(monkeypatch, NEWSBOT_HTTP_HOST="my host")[0].startswith(
        "NEWSBOT_HTTP_HOST must be a host name or IP address")


def test_the_token_never_appears_in_the_settings_repr(monkeypatch) -> None:
    monkeypatch.setenv("NEWSBOT_STATUS_TOKEN", "do-not-print-me")
    assert "do-not-print-me" not in repr(Settings())


def test_version_prints_the_installed_version(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"newsbot {package_version()}"
    assert package_version() == "0.1.0"  # pyproject's version, as installed
