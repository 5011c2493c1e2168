"""A fake Slack Web API on 127.0.0.1: behaviour, not mocks.

Implements ``auth.test``, ``chat.postMessage`` (stores messages with their metadata, like Slack),
``conversations.history`` (newest first, ``oldest``, ``limit``, ``cursor``, metadata only with
``include_all_metadata``), ``users.info``, ``views.publish``, ``files.info`` (files added with
``add_file``, downloaded with the bot token only, like Slack's ``url_private_download``) and a
``/response/...`` endpoint for slash-command ``response_url`` posts. Every call is recorded.

Several workspaces: ``fake.install_code(code, team)`` makes ``oauth.v2.access`` (the app's client
id and secret, Basic auth) answer that code once with a new bot token of ``team``;
``auth.test`` then answers per token (a token the fake never issued is the
default workspace ``TEAM``); ``fake.revoke(team)`` invalidates a workspace's tokens. With
``expires_in``, tokens rotate: ``oauth.v2.access`` with ``grant_type=refresh_token`` issues the
next one. Scripted failures are queued per method:

    fake.script("chat.postMessage", Failure(status=429, retry_after=7))
    fake.script("chat.postMessage", Failure(error="channel_not_found"))
    fake.script("chat.postMessage", Failure(delay=5))          # slow: the message still lands

``fake.rate_limit_every = N`` answers every Nth ``chat.postMessage`` with HTTP 429 and
``Retry-After: rate_limit_retry_after`` (a 429 storm). ``closed_url()`` (tests/fakes/net.py)
gives an address where nothing listens (connection refused).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

TEAM = "T0TEST"
BOT_USER = "UBOT"


@dataclass
class Failure:
    """One scripted answer: an HTTP status, a Slack ``error`` code, and/or a delay first."""

    status: int = 200
    error: str | None = None
    retry_after: float | None = None
    delay: float = 0.0  # sleep before answering; with no status/error the call then succeeds


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None


@dataclass
class FakeSlack:
    base: str = ""
    calls: list[Call] = field(default_factory=list)
    # channel -> its messages, oldest first
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: set[str] | None = None  # None: every channel exists
    responses: list[dict[str, Any]] = field(default_factory=list)  # response_url posts
    scripted: dict[str, list[Failure]] = field(default_factory=dict)
    start: float = field(default_factory=time.time)  # message ts count up from here
    _ts: int = 0
    envelopes: list[dict[str, Any]] = field(default_factory=list)  # sent on Socket Mode connect
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    rate_limit_every: int = 0  # every Nth chat.postMessage answers 429 (0: never)
    rate_limit_retry_after: float = 1.0
    _posts: int = 0
    client_id: str = "111.222"
    client_secret: str = "fake-client-secret"
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> its install
    tokens: dict[str, str] = field(default_factory=dict)  # bot token -> team (issued here)
    refresh: dict[str, str] = field(default_factory=dict)  # refresh token -> team
    revoked: set[str] = field(default_factory=set)
    homes: list[dict[str, Any]] = field(default_factory=list)  # views.publish calls
    _serial: Any = field(default_factory=lambda: itertools.count(1))
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # id -> (name, content)

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def script(self, method: str, *failures: Failure) -> None:
        self.scripted.setdefault(method, []).extend(failures)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posted(self, channel: str | None = None) -> list[dict[str, Any]]:
        if channel is not None:
            return list(self.messages.get(channel, []))
        return [m for ms in self.messages.values() for m in ms]

    def add_message(self, channel: str, **fields: Any) -> dict[str, Any]:
        """Put a message in a channel's history (as someone else posting there would)."""
        self._ts += 1
        message = {"type": "message", "ts": f"{int(self.start) + self._ts}.{self._ts:06d}",
                   **fields}
        self.messages.setdefault(channel, []).append(message)
        return message

    def add_user(self, user: str, *, team: str = TEAM, **flags: bool) -> None:
        self.users[user] = {"id": user, "team_id": team, "name": user.lower(), **flags}

    def install_code(self, code: str, team: str, *, installer: str = "UINSTALL",
                     expires_in: int | None = None, enterprise: str | None = None) -> None:
        """``code`` answers ``oauth.v2.access`` once, installing the app in ``team``."""
        self.codes[code] = {"team": team, "installer": installer, "expires_in": expires_in,
                            "enterprise": enterprise}

    def revoke(self, team: str) -> None:
        self.revoked |= {t for t, owner in self.tokens.items() if owner == team}

    def team_of(self, token: str | None) -> str:
        return self.tokens.get(token or "", TEAM)

    def add_file(self, file_id: str, name: str, content: bytes) -> str:
        """An uploaded file; returns its permalink (what a user copies)."""
        self.files[file_id] = (name, content)
        return f"{self.base}/files/UADMIN/{file_id}/{name}"

    async def handle_file(self, request: web.Request) -> web.StreamResponse:
        found = self.files.get(request.match_info["file"])
        if not request.headers.get("Authorization", "").startswith("Bearer xox"):
            return web.Response(status=302, headers={"Location": f"{self.base}/signin"})
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[1], content_type="application/xml")

    def response_url(self, name: str = "r1") -> str:
        return f"{self.base}/response/{name}"

    async def wait_for(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        """Wait until ``predicate()`` holds after some message or response_url post arrives.

        ``within`` only bounds a hang (a generous deadline, never a speed assertion).
        """
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- HTTP -------------------------------------------------------------------------------------
    async def handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await _args(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth else args.get("token")
        self.calls.append(Call(method, args, token))
        queued = self.scripted.get(method)
        failure = queued.pop(0) if queued else self._storm(method)
        if failure is not None:
            if failure.delay:
                await asyncio.sleep(failure.delay)
            if failure.status != 200 or failure.error:
                return _failure(failure)
        if method == "oauth.v2.access":
            return web.json_response(self._oauth_v2_access(auth, args))
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        if token in self.revoked:
            return web.json_response({"ok": False, "error": "token_revoked"})
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        answer = handler({**args, "_team": self.team_of(token)})
        await self._notify()
        return web.json_response(answer)

    def _storm(self, method: str) -> Failure | None:
        """The scheduled 429 of a rate-limit storm, if this call is one."""
        if method != "chat.postMessage" or not self.rate_limit_every:
            return None
        self._posts += 1
        if self._posts % self.rate_limit_every:
            return None
        return Failure(status=429, retry_after=self.rate_limit_retry_after)

    async def handle_response(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.responses.append({"url": str(request.url), **body})
        await self._notify()
        return web.Response(text="ok", content_type="text/plain")

    # --- methods ----------------------------------------------------------------------------------
    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        team = args["_team"]
        return {"ok": True, "team_id": team, "team": f"Team {team}", "user_id": BOT_USER,
                "bot_id": "BBOT", "user": "newsbot", "url": f"https://{team.lower()}.slack.com/"}

    def _oauth_v2_access(self, auth: str, args: dict[str, Any]) -> dict[str, Any]:
        """The app's credentials (Basic auth or form), then a code or a refresh token."""
        client_id, client_secret = args.get("client_id"), args.get("client_secret")
        if auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return {"ok": False, "error": "invalid_client_id"}
        if args.get("grant_type") == "refresh_token":
            team = self.refresh.pop(args.get("refresh_token", ""), None)
            if team is None:
                return {"ok": False, "error": "invalid_refresh_token"}
            return {"ok": True, "token_type": "bot", **self._issue(team, 43200)}
        install = self.codes.pop(args.get("code", ""), None)
        if install is None:
            return {"ok": False, "error": "invalid_code"}
        team = install["team"]
        enterprise = install["enterprise"]
        return {"ok": True, "app_id": "A0NEWSBOT", "token_type": "bot",
                "scope": "chat:write,commands,users:read", "bot_user_id": BOT_USER,
                "team": {"id": team, "name": f"Team {team}"},
                "enterprise": {"id": enterprise, "name": "Org"} if enterprise else None,
                "is_enterprise_install": False,
                "authed_user": {"id": install["installer"]},
                **self._issue(team, install["expires_in"])}

    def _issue(self, team: str, expires_in: int | None) -> dict[str, Any]:
        token = f"xoxb-{team}-{next(self._serial)}"
        self.tokens[token] = team
        issued: dict[str, Any] = {"access_token": token}
        if expires_in is not None:
            refresh = f"xoxe-1-{team}-{next(self._serial)}"
            self.refresh[refresh] = team
            issued.update(refresh_token=refresh, expires_in=expires_in)
        return issued

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        self.homes.append({"team": args["_team"], "user": args.get("user_id"),
                           "view": _json(args.get("view"))})
        return {"ok": True, "view": {"id": f"V{len(self.homes)}"}}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel", "")
        if self.channels is not None and channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        if not (args.get("text") or args.get("blocks")):
            return {"ok": False, "error": "no_text"}
        thread = args.get("thread_ts")  # a reply in a thread: its parent must be in the channel
        if thread and not any(m["ts"] == thread for m in self.messages.get(channel, [])):
            return {"ok": False, "error": "thread_not_found"}
        message = self.add_message(channel, text=args.get("text", ""),
                                   blocks=_json(args.get("blocks")) or [], bot_id="BBOT",
                                   team=args["_team"])
        if args.get("metadata"):
            message["metadata"] = _json(args["metadata"])
        if thread:
            message["thread_ts"] = thread
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        """Edit a message in place (text and blocks; its metadata stays, as in Slack)."""
        channel = args.get("channel", "")
        found = [m for m in self.messages.get(channel, []) if m["ts"] == args.get("ts")]
        if not found:
            return {"ok": False, "error": "message_not_found"}
        found[0].update(text=args.get("text", ""), blocks=_json(args.get("blocks")) or [],
                        edited={"user": BOT_USER, "ts": args["ts"]})
        return {"ok": True, "channel": channel, "ts": args["ts"], "text": found[0]["text"]}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = args.get("channel", "")
        if self.channels is not None and channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(args.get("oldest") or 0)
        newest_first = [m for m in reversed(self.messages.get(channel, []))
                        if float(m["ts"]) > oldest]
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 100)
        page = newest_first[start:start + limit]
        if str(args.get("include_all_metadata", "")).lower() not in ("1", "true"):
            page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
        more = start + limit < len(newest_first)
        return {"ok": True, "messages": page, "has_more": more,
                "response_metadata": {"next_cursor": str(start + limit) if more else ""}}

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.base.replace("http://", "ws://") + "/socket"}

    async def handle_socket(self, request: web.Request) -> web.StreamResponse:
        """Socket Mode: say hello, deliver queued envelopes, record the app's acks."""
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1})
        for envelope in self.envelopes:
            await ws.send_json(envelope)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.socket_acks.append(json.loads(msg.data))
                await self._notify()
        return ws

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(args.get("user", ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self.files.get(str(args.get("file")))
        if found is None:
            return {"ok": False, "error": "file_not_found"}
        name, content = found
        url = f"{self.base}/files-pri/{args['file']}/download/{name}"
        return {"ok": True, "file": {"id": args["file"], "name": name, "size": len(content),
                                     "url_private": url, "url_private_download": url}}


def _failure(failure: Failure) -> web.Response:
    headers = {}
    if failure.retry_after is not None:
        headers["Retry-After"] = f"{failure.retry_after:g}"
    error = failure.error or ("ratelimited" if failure.status == 429 else "internal_error")
    if failure.status >= 500:
        return web.Response(status=failure.status, text="upstream trouble", headers=headers)
    return web.json_response({"ok": False, "error": error}, status=failure.status,
                             headers=headers)


async def _args(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return args
    if request.content_type == "application/json":
        args.update(await request.json())
    else:
        args.update(parse_qsl(await request.text(), keep_blank_values=True))
    return args


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@asynccontextmanager
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """Run a FakeSlack on 127.0.0.1 (a free port) for the duration of the block."""
    fake = FakeSlack()
    app = web.Application()
    app.router.add_route("*", "/api/{method}", fake.handle_api)
    app.router.add_post("/response/{name}", fake.handle_response)
    app.router.add_get("/socket", fake.handle_socket)
    app.router.add_get("/files-pri/{file}/download/{name}", fake.handle_file)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.base = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()
