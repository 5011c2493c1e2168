"""A fake Discord REST API on 127.0.0.1: behaviour, not mocks.

What it does like Discord (https://discord.com/developers/docs):
- ``POST /channels/{id}/messages`` with ``Authorization: Bot <token>``: checks the token (401),
  the body's limits (content 2,000; ≤ 10 embeds; title 256, description 4,096, ≤ 25 fields,
  field name 256 / value 1,024, footer 2,048, embed total 6,000; nonce ≤ 25 characters -> 400,
  code 50035), and honours ``nonce`` + ``enforce_nonce``: the same nonce from the same bot returns
  the message already created instead of posting again.
- ``GET /channels/{id}/messages?limit=N`` (newest first, at most 100): like Discord, a fetched
  message carries its ``nonce`` only for a while; ``history_nonces = False`` models "later".
- ``POST /webhooks/{id}/{token}[?wait=true]``: unknown webhook -> 404 code 10015; ``wait=true``
  answers the message, otherwise 204. The same route carries interaction follow-ups.
- ``POST /interactions/{id}/{token}/callback``: records interaction responses (messages, defers,
  autocomplete choices) and answers like ``with_response=1``.
- ``PATCH /webhooks/{app}/{token}/messages/@original``: edits of deferred replies.
- ``GET /users/@me``, ``GET /oauth2/applications/@me``, ``PUT .../commands``: enough for
  ``discord.Client.login`` and ``CommandTree.sync``.

Scriptable: ``fake.script("channel:123", 429, retry_after=2.5)`` makes the next request for that
key fail (``read:ID`` for the message list); ``fake.hang_after_store`` stores a message and then
stalls, like a reply lost in transit; ``fake.rate_limit_every = N`` answers every Nth message post
(channel or webhook) with 429 and ``rate_limit_retry_after``; ``fake.forget_nonces()`` ends the
nonce window (a later resend with the same nonce posts again, as on Discord after a few minutes).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "fake-bot-token"
APPLICATION_ID = 424242
BOT_USER_ID = 777000
API = "/api/v10"


@dataclass
class Scripted:
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Message:
    id: str
    channel_id: str
    body: dict[str, Any]
    via: str  # "bot" | "webhook" | "followup"

    def to_json(self) -> dict[str, Any]:
        author = {"id": str(BOT_USER_ID), "username": "newsbot", "discriminator": "0",
                  "avatar": None, "bot": True}
        return {"id": self.id, "channel_id": self.channel_id, "type": 0, "author": author,
                "content": self.body.get("content") or "", "embeds": self.body.get("embeds", []),
                "timestamp": "2026-11-29T12:00:00+00:00", "edited_timestamp": None,
                "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
                "attachments": [], "pinned": False, "flags": self.body.get("flags", 0),
                "nonce": self.body.get("nonce")}


def body_problems(body: dict[str, Any]) -> list[str]:
    """What Discord would refuse in a message body (its documented limits)."""
    problems = []
    if len(body.get("content") or "") > 2000:
        problems.append("content: must be 2000 or fewer in length")
    nonce = body.get("nonce")
    if nonce is not None and isinstance(nonce, str) and len(nonce) > 25:
        problems.append("nonce: must be 25 or fewer in length")
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        problems.append("embeds: must be 10 or fewer in length")
    for embed in embeds:
        problems += embed_problems(embed)
    if not (body.get("content") or embeds):
        problems.append("Cannot send an empty message")
    return problems


def embed_problems(embed: dict[str, Any]) -> list[str]:
    limits = {"title": 256, "description": 4096}
    problems = [f"embed.{k}: over {n}" for k, n in limits.items() if len(embed.get(k) or "") > n]
    fields = embed.get("fields") or []
    if len(fields) > 25:
        problems.append("embed.fields: over 25")
    for f in fields:
        if not f.get("name") or not f.get("value"):
            problems.append("embed.fields: name and value are required")
        if len(f.get("name", "")) > 256 or len(f.get("value", "")) > 1024:
            problems.append("embed.fields: name over 256 or value over 1024")
    footer = (embed.get("footer") or {}).get("text") or ""
    if len(footer) > 2048:
        problems.append("embed.footer.text: over 2048")
    total = (len(embed.get("title") or "") + len(embed.get("description") or "") + len(footer)
             + sum(len(f.get("name", "")) + len(f.get("value", "")) for f in fields))
    if total > 6000:
        problems.append("embed: total size over 6000")
    return problems


class FakeDiscord:
    def __init__(self) -> None:
        self.base = ""  # http://127.0.0.1:PORT/api/v10 once started
        self.messages: list[Message] = []  # every message created, bot, webhook and follow-up
        self.callbacks: list[dict[str, Any]] = []  # interaction responses: {id, type, data}
        self.edits: list[dict[str, Any]] = []  # PATCH .../messages/@original bodies
        self.synced: dict[str, list[dict[str, Any]]] = {}  # "global" | guild id -> commands
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.webhooks: dict[str, str] = {}  # id -> token; others answer 404 (10015)
        self.missing_channels: set[str] = set()  # answer 404 (10003)
        self.hang_after_store = 0  # the next N channel posts store the message, then stall
        self.hang_seconds = 30.0
        self.history_nonces = True  # GET messages shows nonces (Discord: only for a while)
        self.rate_limit_every = 0  # every Nth message post answers 429 (0: never)
        self.rate_limit_retry_after = 1.0
        self._posts = 0
        self._scripts: dict[str, deque[Scripted]] = {}
        self._nonces: dict[tuple[str, str], Message] = {}
        self._ids = itertools.count(1_300_000_000_000_000_001)

    # --- scripting --------------------------------------------------------------------------------
    def script(self, key: str, status: int, *, code: int = 0, message: str = "",
               retry_after: float | None = None, headers: dict[str, str] | None = None,
               times: int = 1) -> None:
        """The next ``times`` requests for ``key`` ("channel:ID" / "webhook:ID") answer this."""
        body: dict[str, Any] = {"code": code, "message": message or _reason(status)}
        if retry_after is not None:
            body = {"message": "You are being rate limited.", "retry_after": retry_after,
                    "global": False}
        for _ in range(times):
            self._scripts.setdefault(key, deque()).append(Scripted(status, body, headers or {}))

    def forget_nonces(self) -> None:
        """The nonce window has passed: a resend with a known nonce creates a new message."""
        self._nonces.clear()

    def channel_messages(self, channel: str) -> list[Message]:
        return [m for m in self.messages if m.channel_id == channel and m.via == "bot"]

    # --- handlers ---------------------------------------------------------------------------------
    def _scripted(self, key: str) -> web.Response | None:
        queue = self._scripts.get(key)
        if not queue:
            return None
        s = queue.popleft()
        return _json(s.body, status=s.status, headers=s.headers)

    def _storm(self) -> web.Response | None:
        """The scheduled 429 of a rate-limit storm, if this post is one."""
        if not self.rate_limit_every:
            return None
        self._posts += 1
        if self._posts % self.rate_limit_every:
            return None
        seconds = self.rate_limit_retry_after
        return _json({"message": "You are being rate limited.", "retry_after": seconds,
                      "global": False}, status=429, headers={"Retry-After": f"{seconds:g}"})

    async def list_messages(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bot {TOKEN}":
            return _error(401, 0, "401: Unauthorized")
        channel = request.match_info["channel"]
        if (answer := self._scripted(f"read:{channel}")) is not None:
            return answer
        if channel in self.missing_channels:
            return _error(404, 10003, "Unknown Channel")
        limit = min(int(request.query.get("limit", "50")), 100)
        newest_first = [m.to_json() for m in reversed(self.messages) if m.channel_id == channel]
        if not self.history_nonces:
            for m in newest_first:
                m.pop("nonce", None)
        return _json(newest_first[:limit])

    async def edit_message(self, request: web.Request) -> web.StreamResponse:
        """``PATCH /channels/{id}/messages/{id}``: the bot edits its own message."""
        if request.headers.get("Authorization") != f"Bot {TOKEN}":
            return _error(401, 0, "401: Unauthorized")
        found = [m for m in self.messages if m.id == request.match_info["message"]
                 and m.channel_id == request.match_info["channel"]]
        if not found:
            return _error(404, 10008, "Unknown Message")
        body = await request.json()
        if problems := body_problems(body):
            return _error(400, 50035, "Invalid Form Body: " + "; ".join(problems))
        found[0].body = {**found[0].body, **body, "edited": True}
        return _json(found[0].to_json())

    async def create_message(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bot {TOKEN}":
            return _error(401, 0, "401: Unauthorized")
        channel = request.match_info["channel"]
        if (answer := _first(self._scripted(f"channel:{channel}"), self._storm)) is not None:
            return answer
        if channel in self.missing_channels:
            return _error(404, 10003, "Unknown Channel")
        body = await request.json()
        if problems := body_problems(body):
            return _error(400, 50035, "Invalid Form Body: " + "; ".join(problems))
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            key = (str(BOT_USER_ID), str(nonce))
            if key in self._nonces:
                return _json(self._nonces[key].to_json())
        msg = self._store(channel, body, "bot")
        if nonce is not None and body.get("enforce_nonce"):
            self._nonces[(str(BOT_USER_ID), str(nonce))] = msg
        if self.hang_after_store:
            self.hang_after_store -= 1
            await asyncio.sleep(self.hang_seconds)
        return _json(msg.to_json(), headers={
            "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "4",
            "X-RateLimit-Reset-After": "5.000"})

    async def execute_webhook(self, request: web.Request) -> web.StreamResponse:
        webhook, token = request.match_info["webhook"], request.match_info["token"]
        body = await request.json()
        if webhook == str(APPLICATION_ID):  # an interaction follow-up
            msg = self._store(f"followup:{token}", body, "followup")
            return _json(msg.to_json())
        if (answer := _first(self._scripted(f"webhook:{webhook}"), self._storm)) is not None:
            return answer
        if self.webhooks.get(webhook) != token:
            return _error(404, 10015, "Unknown Webhook")
        if problems := body_problems(body):
            return _error(400, 50035, "Invalid Form Body: " + "; ".join(problems))
        msg = self._store(f"webhook:{webhook}", body, "webhook")
        if request.query.get("wait") == "true":
            return _json(msg.to_json())
        return web.Response(status=204)

    async def interaction_callback(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        interaction = request.match_info["interaction"]
        self.callbacks.append({"id": interaction, "type": body["type"],
                               "data": body.get("data") or {}})
        flags = (body.get("data") or {}).get("flags", 0)
        return _json({
            "interaction": {"id": interaction, "type": 2, "response_message_loading":
                            body["type"] == 5, "response_message_ephemeral": bool(flags & 64)},
            "resource": {"type": body["type"]}})

    async def edit_original(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.edits.append(body)
        return _json(Message(str(next(self._ids)), "0", body, "edit").to_json())

    async def me(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bot {TOKEN}":
            return _error(401, 0, "401: Unauthorized")
        return _json({"id": str(BOT_USER_ID), "username": "newsbot",
                                  "discriminator": "0", "avatar": None, "bot": True})

    async def application(self, request: web.Request) -> web.StreamResponse:
        owner = {"id": "1", "username": "owner", "discriminator": "0", "avatar": None}
        return _json({
            "id": str(APPLICATION_ID), "name": "newsbot", "description": "", "icon": None,
            "bot_public": False, "bot_require_code_grant": False, "owner": owner,
            "verify_key": "00", "flags": 0})

    async def put_commands(self, request: web.Request) -> web.StreamResponse:
        commands = await request.json()
        scope = request.match_info.get("guild", "global")
        self.synced[scope] = commands
        answered = [{**c, "id": str(next(self._ids)), "application_id": str(APPLICATION_ID),
                     "version": "1", **({"guild_id": scope} if scope != "global" else {})}
                    for c in commands]
        return _json(answered)

    def _store(self, channel: str, body: dict[str, Any], via: str) -> Message:
        msg = Message(str(next(self._ids)), channel, body, via)
        self.messages.append(msg)
        return msg

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        return await handler(request)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record])
        r = app.router
        r.add_post(f"{API}/channels/{{channel}}/messages", self.create_message)
        r.add_get(f"{API}/channels/{{channel}}/messages", self.list_messages)
        r.add_patch(f"{API}/channels/{{channel}}/messages/{{message}}", self.edit_message)
        r.add_post(f"{API}/webhooks/{{webhook}}/{{token}}", self.execute_webhook)
        r.add_patch(f"{API}/webhooks/{{webhook}}/{{token}}/messages/@original", self.edit_original)
        r.add_post(f"{API}/interactions/{{interaction}}/{{token}}/callback",
                   self.interaction_callback)
        r.add_get(f"{API}/users/@me", self.me)
        r.add_get(f"{API}/oauth2/applications/@me", self.application)
        r.add_put(f"{API}/applications/{{app}}/commands", self.put_commands)
        r.add_put(f"{API}/applications/{{app}}/guilds/{{guild}}/commands", self.put_commands)
        return app


def _first(answer: web.Response | None, then: Any) -> web.Response | None:
    """A scripted answer, else the storm's (a Response is a mapping: never test its truth)."""
    return answer if answer is not None else then()


def _reason(status: int) -> str:
    return {401: "401: Unauthorized", 403: "Missing Access", 404: "Not Found",
            500: "Internal Server Error", 502: "Bad Gateway"}.get(status, "error")


def _json(data: Any, *, status: int = 200, headers: dict[str, str] | None = None
          ) -> web.Response:
    """JSON with the bare ``application/json`` type Discord sends (discord.py compares it)."""
    return web.Response(body=json.dumps(data).encode(), status=status, headers=headers,
                        content_type="application/json")


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"code": code, "message": message}, status=status)


async def start_fake_discord() -> tuple[FakeDiscord, web.AppRunner]:
    fake = FakeDiscord()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.base = f"http://127.0.0.1:{port}{API}"
    return fake, runner
