"""compose.yaml and the Dockerfile's HEALTHCHECK, checked without Docker (none runs here).

The compose file must name real CLI commands and real settings, wire the migration before the
workers, and its health checks (and the image's) must actually pass against a running server.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from webhelpers import serve

from bot.cli.parser import build_parser
from bot.config.settings import Settings, env_name

REPO = Path(__file__).resolve().parents[1]
SAMPLE = {"POSTGRES_PASSWORD": "pw-123", "NEWSBOT_STATUS_TOKEN": "status-token",
          "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1", "DISCORD_TOKEN": "d.t.x"}
VARIABLE = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")


def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def newsbot_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services().items() if s.get("build") == "."}


def expand(value: str) -> str:
    return VARIABLE.sub(lambda m: SAMPLE[m.group(1)], value)


def known_variables() -> set[str]:
    names = set()
    for field, info in Settings.model_fields.items():
        names.add(env_name(field))
        alias = info.validation_alias
        names.update(getattr(alias, "choices", ()) or ())
    return names


def test_postgres_16_a_migration_step_and_two_workers() -> None:
    s = services()
    assert s["db"]["image"].startswith("postgres:16")
    assert s["db"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    commands = {name: svc["command"] for name, svc in newsbot_services().items()}
    assert commands.pop("migrate") == ["newsbot", "db", "upgrade"]
    workers = sorted(commands.values())
    assert workers == [["newsbot", "run"], ["newsbot", "run", "--no-chat-adapters"]]


def test_every_command_parses_with_the_real_cli() -> None:
    parser = build_parser()
    for name, svc in newsbot_services().items():
        argv = svc["command"]
        assert argv[0] == "newsbot", name
        parser.parse_args(argv[1:])  # exits (SystemExit) on an unknown command or option


def test_workers_wait_for_the_migration_restart_and_are_health_checked() -> None:
    for name, svc in newsbot_services().items():
        if name == "migrate":
            assert svc["restart"] == "no"
            assert svc["depends_on"]["db"]["condition"] == "service_healthy"
            continue
        assert svc["restart"] == "unless-stopped", name
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "/healthz" in " ".join(svc["healthcheck"]["test"]), name
        assert all(p.startswith("127.0.0.1:") for p in svc["ports"]), "published on loopback"


def test_named_volumes_are_declared() -> None:
    declared = set(compose()["volumes"])
    used = {v.split(":", 1)[0] for svc in services().values() for v in svc.get("volumes", ())
            if not v.startswith((".", "/"))}
    assert used == declared == {"pgdata", "newsbot-data"}


def test_every_variable_is_a_real_setting_and_the_settings_load(monkeypatch) -> None:
    known = known_variables()
    for name, svc in newsbot_services().items():
        env = {k: expand(str(v)) for k, v in svc["environment"].items()}
        assert set(env) <= known, f"{name}: unknown settings {set(env) - known}"
        for key in [k for k in os.environ if k.startswith("NEWSBOT_")]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = Settings()  # the token rule holds: 0.0.0.0 comes with a status token
        assert settings.database_url == "postgresql+asyncpg://newsbot:pw-123@db:5432/newsbot"
    db_env = services()["db"]["environment"]
    assert expand(db_env["POSTGRES_PASSWORD"]) == "pw-123"


def healthcheck_argv(service: str | None) -> list[str]:
    """The health check command: a compose service's, or the Dockerfile's (service None)."""
    if service is not None:
        test = services()[service]["healthcheck"]["test"]
        assert test[0] == "CMD"
        return test[1:]
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    [line] = [ln for ln in text.splitlines() if ln.startswith("HEALTHCHECK")]
    return json.loads(line.split(" CMD ", 1)[1])


async def run_check(argv: list[str], port: int) -> int:
    assert argv[0] == "python"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *argv[1:], env={"NEWSBOT_HTTP_PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    return await asyncio.wait_for(proc.wait(), 60)


@pytest.mark.parametrize("service", [None, "worker", "worker-2"])
async def test_the_health_checks_pass_against_a_running_server_and_fail_without(
        service, tmp_path, clock, feed_server) -> None:
    from apphelpers import open_app

    from bot.delivery.console import ConsoleSink
    from bot.domain.watchlist import Watchlist

    argv = healthcheck_argv(service)
    if service is not None:  # compose probes the container's fixed port: point it at ours
        argv = [a.replace("127.0.0.1:8080", "127.0.0.1:{port}") for a in argv]
    url = f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}"
    app = await open_app((url, {}), tmp_path, clock, feeds=[], watchlist=Watchlist(),
                         sinks={"console": ConsoleSink()}, address="console")
    try:
        async with serve(app) as web:
            port = web.server.bound_port
            ok = await run_check([a.replace("{port}", str(port)) for a in argv], port)
        down = await run_check([a.replace("{port}", str(port)) for a in argv], port)
    finally:
        await app.close()
    assert (ok, down) == (0, 1)
