"""Delivery to Discord: ``discord:CHANNEL_ID`` (bot token) and ``discord-webhook:URL`` destinations.

Talks to the REST API with aiohttp directly rather than through discord.py's ``HTTPClient``:
that client sleeps through 429s and 5xx itself (up to 5 tries, and at least 30 s before it gives
up on a rate limit), which would hold a delivery unit far longer than the outbox wants; here a
429 becomes ``TransientDeliveryError(retry_after)`` at once and the outbox reschedules it.

Exactly once, in practice: a channel message carries a ``nonce`` derived from the delivery with
``enforce_nonce: true``, so a resend within Discord's nonce window (a few minutes) returns the
original message instead of posting again. That is why ``find_sent`` returns None: after an unknown
outcome the worker simply resends and Discord deduplicates. Webhook executions take no nonce;
after an unknown outcome (a timeout once the request left) a webhook resend may post twice.

Pacing: at most ``per_window`` messages per ``window`` seconds per channel (Discord documents about
5 per 5 s), plus whatever ``X-RateLimit-Remaining``/``Reset-After`` say. A short wait happens
inside ``send`` (only that channel's queue waits); a longer one becomes a transient error.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from ..errors import (
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    UnknownOutcomeError,
)
from ..models import Delivery, SendResult
from ..render.discord_embed import render_discord
from ..settings import Settings
from ..sinks import Sink

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://discord.com/api/v10"
USER_AGENT = "DiscordBot (https://github.com/newsbot/newsbot, 0.1)"
NONCE_MAX = 25  # Discord: a nonce is an integer or a string of at most 25 characters
WEBHOOK_HOSTS = ("discord.com", "discordapp.com", "canary.discord.com", "ptb.discord.com")


# --- pure helpers ---------------------------------------------------------------------------------
def delivery_nonce(delivery: Delivery) -> str:
    """A nonce stable across retries of one delivery and distinct between deliveries.

    Hashes the delivery id with its destination and story, so two databases posting with one bot
    token (a staging copy, say) do not collide on small ids. 25 characters: ``nb`` + 23 hex.
    """
    key = f"{delivery.id}|{delivery.address}|{delivery.alert.story}".encode()
    return ("nb" + hashlib.sha256(key).hexdigest())[:NONCE_MAX]


def channel_body(delivery: Delivery) -> dict[str, Any]:
    """The JSON body of ``POST /channels/{id}/messages``: rendered alert, no mentions, nonce."""
    body = render_discord(delivery.alert)
    body["allowed_mentions"] = {"parse": []}
    body["nonce"] = delivery_nonce(delivery)
    body["enforce_nonce"] = True
    return body


def webhook_body(delivery: Delivery) -> dict[str, Any]:
    body = render_discord(delivery.alert)
    body["allowed_mentions"] = {"parse": []}
    return body


def parse_webhook_url(url: str) -> tuple[str, str]:
    """``https://discord.com/api/webhooks/ID/TOKEN`` -> (ID, TOKEN).

    Only the id and token are used: the request goes to the configured API base, never to the
    host written in the address, so a destination cannot point the bot at another server.
    """
    parts = urlsplit(url.strip())
    segments = [s for s in parts.path.split("/") if s]
    if (parts.scheme != "https" or (parts.hostname or "") not in WEBHOOK_HOSTS
            or "webhooks" not in segments):
        raise PermanentDeliveryError(
            "not a Discord webhook URL (expected https://discord.com/api/webhooks/ID/TOKEN)")
    rest = segments[segments.index("webhooks") + 1:]
    if len(rest) != 2 or not rest[0].isdigit() or not rest[1]:
        raise PermanentDeliveryError(
            "not a Discord webhook URL (expected https://discord.com/api/webhooks/ID/TOKEN)")
    return rest[0], rest[1]


def _float(value: Any) -> float | None:
    try:
        return max(float(value), 0.0) if value is not None else None
    except (TypeError, ValueError):
        return None


def retry_after(body: Any, headers: Mapping[str, str]) -> float | None:
    """Seconds to wait after a 429: the JSON ``retry_after``, else the headers."""
    if isinstance(body, dict) and (seconds := _float(body.get("retry_after"))) is not None:
        return seconds
    for name in ("Retry-After", "X-RateLimit-Reset-After"):
        if (seconds := _float(headers.get(name))) is not None:
            return seconds
    return None


def error_for(status: int, body: Any, headers: Mapping[str, str], what: str) -> DeliveryError:
    """Translate a non-2xx answer into the outcome the outbox acts on."""
    code = body.get("code") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else None
    detail = f"HTTP {status}" + (f", code {code}" if code else "") + (f": {message}"
                                                                       if message else "")
    if status == 429:
        return TransientDeliveryError(f"Discord rate limit on {what} ({detail})",
                                      retry_after=retry_after(body, headers))
    if status >= 500:
        return TransientDeliveryError(f"Discord server error on {what} ({detail})",
                                      retry_after=_float(headers.get("Retry-After")))
    if status == 401:
        return PermanentDeliveryError(f"Discord refused the bot token ({detail}); "
                                      "check DISCORD_TOKEN")
    if status == 403:
        return PermanentDeliveryError(
            f"no access to {what} ({detail}); invite the bot to the server and give it View "
            "Channel, Send Messages and Embed Links there")
    if status == 404:
        return PermanentDeliveryError(f"{what} does not exist ({detail}); it was deleted or the "
                                      "id is wrong")
    # 400 and friends: this message is refused, the destination is fine. Neither transient nor
    # permanent: the outbox retries with backoff and gives up on this one delivery.
    return DeliveryError(f"Discord refused the message for {what} ({detail})")


# --- pacing ---------------------------------------------------------------------------------------
class Pacer:
    """Per-key send slots: at most ``limit`` per ``window`` seconds, plus server-imposed pauses.

    ``acquire`` reserves a slot synchronously, then sleeps until it (only that key waits); a slot
    further away than ``max_wait`` raises ``TransientDeliveryError`` instead of sleeping.
    """

    def __init__(self, limit: int = 5, window: float = 5.0, max_wait: float = 5.0, *,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.limit, self.window, self.max_wait = limit, window, max_wait
        self._now, self._sleep = monotonic, sleep
        self._slots: dict[str, deque[float]] = {}
        self._blocked: dict[str, float] = {}
        self._global_until = 0.0

    def next_slot(self, key: str) -> float:
        """The earliest time a send to ``key`` may start (no reservation)."""
        now = self._now()
        slots = self._slots.get(key, deque())
        while slots and slots[0] <= now - self.window:
            slots.popleft()
        earliest = slots[0] + self.window if len(slots) >= self.limit else now
        return max(earliest, self._blocked.get(key, 0.0), self._global_until, now)

    async def acquire(self, key: str) -> None:
        start = self.next_slot(key)
        delay = start - self._now()
        if delay > self.max_wait:
            raise TransientDeliveryError(f"pacing sends to {key}", retry_after=delay)
        self._slots.setdefault(key, deque()).append(start)
        if delay > 0:
            await self._sleep(delay)

    def block(self, key: str, seconds: float, *, everywhere: bool = False) -> None:
        until = self._now() + seconds
        if everywhere:
            self._global_until = max(self._global_until, until)
        else:
            self._blocked[key] = max(self._blocked.get(key, 0.0), until)

    def observe(self, key: str, headers: Mapping[str, str]) -> None:
        """Honour ``X-RateLimit-Remaining: 0`` with its ``X-RateLimit-Reset-After``."""
        seconds = _float(headers.get("X-RateLimit-Reset-After"))
        if headers.get("X-RateLimit-Remaining") == "0" and seconds is not None:
            self.block(key, seconds)


# --- the sinks ------------------------------------------------------------------------------------
class _DiscordREST:
    """One aiohttp session, pacing, and the error translation shared by both sinks."""

    platform = "discord"

    def __init__(self, *, api_base: str | None = None, token: str | None = None,
                 timeout: float = 15.0, pacer: Pacer | None = None) -> None:
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.pacer = pacer or Pacer()
        self._token = token  # never logged, never in an error message
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT}
        if self._token:
            headers["Authorization"] = f"Bot {self._token}"
        return headers

    async def _post(self, url: str, body: dict[str, Any], key: str, what: str) -> dict[str, Any]:
        await self.pacer.acquire(key)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers())
        try:
            async with self._session.post(url, json=body) as response:
                data = await _json(response)
                status, headers = response.status, response.headers
        except aiohttp.ClientConnectorError as exc:  # nothing was sent: safe to retry
            raise TransientDeliveryError(f"cannot connect to Discord for {what}: "
                                         f"{exc.__class__.__name__}") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:  # it may have landed
            raise UnknownOutcomeError(f"no answer from Discord for {what}: "
                                      f"{exc.__class__.__name__}") from exc
        self.pacer.observe(key, headers)
        if status == 429:
            wait = retry_after(data, headers)
            self.pacer.block(key, wait or 1.0, everywhere=_is_global(data, headers))
        if not 200 <= status < 300:
            raise error_for(status, data, headers, what)
        return data if isinstance(data, dict) else {}

    async def find_sent(self, delivery: Delivery) -> str | None:
        """Always None: a resend with the same nonce returns the original message (see above)."""
        return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _is_global(data: Any, headers: Mapping[str, str]) -> bool:
    return bool(isinstance(data, dict) and data.get("global")) or (
        headers.get("X-RateLimit-Global", "").lower() == "true")


async def _json(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:  # Cloudflare's HTML 429 page, an empty 204 ...
        return None


def _message_id(data: dict[str, Any]) -> str | None:
    value = data.get("id")
    return str(value) if value is not None else None


class DiscordSink(_DiscordREST):
    """``discord:CHANNEL_ID``: ``POST /channels/{id}/messages`` with the bot token."""

    platform = "discord"

    async def send(self, delivery: Delivery) -> SendResult:
        channel = delivery.address.split(":", 1)[1].strip()
        if not channel.isdigit():
            raise PermanentDeliveryError(f"discord:{channel} is not a channel id (a number; "
                                         "enable Developer Mode, right-click the channel, Copy ID)")
        what = f"channel {channel}"
        data = await self._post(f"{self.api_base}/channels/{channel}/messages",
                                channel_body(delivery), f"channel:{channel}", what)
        return SendResult(message_id=_message_id(data))


class DiscordWebhookSink(_DiscordREST):
    """``discord-webhook:URL``: execute the webhook with ``?wait=true`` (no token needed)."""

    platform = "discord-webhook"

    async def send(self, delivery: Delivery) -> SendResult:
        webhook_id, token = parse_webhook_url(delivery.address.split(":", 1)[1])
        what = f"webhook {webhook_id}"  # the token stays out of messages and logs
        data = await self._post(f"{self.api_base}/webhooks/{webhook_id}/{token}?wait=true",
                                webhook_body(delivery), f"webhook:{webhook_id}", what)
        return SendResult(message_id=_message_id(data))


def make_discord_sinks(settings: Settings, *, api_base: str | None = None) -> dict[str, Sink]:
    """``discord-webhook`` always; ``discord`` (channel messages) only when a token is set."""
    sinks: dict[str, Sink] = {"discord-webhook": DiscordWebhookSink(api_base=api_base)}
    if settings.discord_token is not None and settings.discord_token.get_secret_value():
        sinks["discord"] = DiscordSink(api_base=api_base,
                                       token=settings.discord_token.get_secret_value())
    return sinks
