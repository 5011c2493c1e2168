"""One aiohttp server beside the scheduler (``newsbot run``): health, readiness, metrics, status.

- ``/healthz``: 200 while the process answers;
- ``/readyz``: 200 when the database answers at the newest migration and the scheduler ticks,
  else 503 with the reasons (text, or JSON with ``Accept: application/json``);
- ``/metrics``: Prometheus text (outbox gauges read from the database at each scrape);
- ``/`` and ``/status``: the operator's status page, every tenant; protected by
  NEWSBOT_STATUS_TOKEN (``Authorization: Bearer`` or ``?token=``) when it is set, which
  bot/config/settings.py requires when the server listens beyond loopback.
"""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.config.settings import Settings, package_version
from bot.domain.errors import ConfigError, StorageError
from bot.web.health import Readiness, readiness
from bot.web.queries import OutboxCounts, outbox_counts, status_snapshot
from bot.web.status import SECURITY_HEADERS, render_status

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

STOP_TIMEOUT = 1.0  # seconds open requests get at shutdown (inside the SIGTERM budget)


def authorised(request: web.Request, token: str | None) -> bool:
    if token is None:
        return True
    header = request.headers.get("Authorization", "")
    bearer = header[:7].lower() == "bearer "
    given = header[7:].strip() if bearer else request.query.get("token", "")
    return hmac.compare_digest(given.encode(), token.encode())


class WebServer:
    def __init__(self, app: App, *, host: str, port: int, token: str | None) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.token = token
        self._runner: web.AppRunner | None = None

    def routes(self) -> web.Application:
        web_app = web.Application()
        web_app.add_routes([web.get("/healthz", self.healthz), web.get("/readyz", self.readyz),
                            web.get("/metrics", self.metrics), web.get("/", self.status),
                            web.get("/status", self.status)])
        return web_app

    async def start(self) -> None:
        runner = web.AppRunner(self.routes(), access_log=None, shutdown_timeout=STOP_TIMEOUT)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(f"cannot serve /healthz, /metrics and the status page on "
                              f"{self.host}:{self.port} (NEWSBOT_HTTP_HOST/NEWSBOT_HTTP_PORT; "
                              f"0 turns it off): {exc.strerror or exc}") from exc
        self._runner = runner
        log.info("health, metrics and status page on http://%s:%d/ (/healthz /readyz /metrics)",
                 self.host, self.bound_port)

    @property
    def bound_port(self) -> int:
        """The real port (the one the OS picked when ``port`` is 0)."""
        if self._runner is None or not self._runner.addresses:
            return self.port
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def ready(self) -> Readiness:
        s = self.app.settings
        return await readiness(self.app.storage, self.app.metrics.progress_at,
                               self.app.clock(), tick=s.tick_seconds, grace=s.fetch_timeout)

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(self, request: web.Request) -> web.Response:
        ready = await self.ready()
        status = 200 if ready.ready else 503
        if "application/json" in request.headers.get("Accept", ""):
            return web.json_response({"ready": ready.ready, "reasons": list(ready.reasons),
                                      "revision": ready.revision}, status=status)
        text = "ready\n" if ready.ready else "".join(f"not ready: {r}\n" for r in ready.reasons)
        return web.Response(text=text, status=status)

    async def metrics(self, request: web.Request) -> web.Response:
        try:
            counts: OutboxCounts | None = await outbox_counts(self.app.storage, self.app.clock())
        except (StorageError, OSError) as exc:  # OSError: the connection itself failed
            log.warning("/metrics: the outbox gauges are stale: %s", exc)
            counts = None
        self.app.metrics.refresh(counts, self.app.loop_lag.snapshot())
        return web.Response(body=self.app.metrics.exposition(),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def status(self, request: web.Request) -> web.Response:
        if not authorised(request, self.token):
            return web.Response(status=401, text="status page: give NEWSBOT_STATUS_TOKEN as "
                                "'Authorization: Bearer TOKEN' or ?token=TOKEN\n",
                                headers={"WWW-Authenticate": 'Bearer realm="newsbot"'})
        try:
            snap = await status_snapshot(self.app.storage, self.app.clock())
        except (StorageError, OSError) as exc:  # OSError: the connection itself failed
            return web.Response(status=503, text=f"status page: the database did not answer: "
                                f"{exc}\n")
        page = render_status(snap, await self.ready(), package_version())
        return web.Response(text=page, content_type="text/html", headers=SECURITY_HEADERS)


async def start_web(app: App, settings: Settings) -> WebServer | None:
    """The server ``newsbot run`` starts beside the scheduler (None when NEWSBOT_HTTP_PORT=0)."""
    if settings.http_port == 0:
        return None
    token = settings.status_token.get_secret_value() if settings.status_token else None
    server = WebServer(app, host=settings.http_host, port=settings.http_port, token=token)
    await server.start()
    return server
