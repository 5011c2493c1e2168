"""Delivery to Discord: ``discord:CHANNEL_ID`` (bot token) and ``discord-webhook:URL`` destinations.

Talks to the REST API at the configured base (``NEWSBOT_DISCORD_API_URL``) with aiohttp directly
rather than through discord.py's ``HTTPClient``: that client sleeps through 429s and 5xx itself
(up to 5 tries, and at least 30 s before it gives up on a rate limit), which would hold a delivery
unit far longer than the outbox wants; here a 429 becomes ``RateLimitedError(retry_after)`` at
once, the key is paused in the shared ``Pacer`` and the outbox reschedules the delivery.
Connection failures are translated by ``bot.delivery.transport`` (``NotSentError`` /
``UnknownOutcomeError``).

Exactly once, in practice: a channel message carries a ``nonce`` derived from the delivery with
``enforce_nonce: true``, so a resend within Discord's nonce window (a few minutes) returns the
original message instead of posting again; its embed footer also ends with ``ref XXXXXXXXXXXX``,
a marker derived from the same hash. ``find_sent``:

- the previous attempt started less than ``NONCE_WINDOW`` ago: None (resend; Discord deduplicates
  by nonce);
- otherwise read the channel's last ``SCAN_LIMIT`` messages once (``GET /channels/{id}/messages``,
  shared by every in-doubt delivery of the channel, ``bot.delivery.recent``) for our nonce (which
  Discord returns only for a while) or our footer marker; found -> that message id, no resend.

What remains: a duplicate if the bot cannot read the channel's history (no Read Message History)
or more than ``SCAN_LIMIT`` messages arrived since. Webhook executions take no nonce and a webhook
cannot list its messages without their ids, so after an unknown outcome (a timeout once the
request left) a webhook resend may post twice.

Pacing: at most ``per_window`` messages per ``window`` seconds per channel (Discord documents about
5 per 5 s), plus whatever ``X-RateLimit-Remaining``/``Reset-After`` say. A short wait happens
inside ``send`` (only that channel's queue waits); a longer one is a ``RateLimitedError``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from bot.config.settings import Settings
from bot.delivery.pacer import Pacer
from bot.delivery.recent import RecentScans, as_utc
from bot.delivery.sinks import Sink
from bot.delivery.transport import transport_errors
from bot.domain.address import Address
from bot.domain.delivery import Delivery, SendResult
from bot.domain.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from bot.net.retry_after import header, retry_after
from bot.render.also_covered import discord_with_also_covered
from bot.render.digest import allowed_mentions
from bot.render.discord_embed import render_discord

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://discord.com/api/v10"
USER_AGENT = "DiscordBot (https://github.com/newsbot/newsbot, 0.1)"
NONCE_MAX = 25  # Discord: a nonce is an integer or a string of at most 25 characters
NONCE_WINDOW = timedelta(minutes=4)  # Discord dedupes a nonce "in the past few minutes"
SCAN_LIMIT = 50
DEFAULT_RETRY_AFTER = 1.0  # a 429 without any retry_after
CONNECT_TIMEOUT = 5.0
WEBHOOK_HOSTS = ("discord.com", "discordapp.com", "canary.discord.com", "ptb.discord.com")
_REF = re.compile(r"\bref ([0-9a-f]{12})\s*$")


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- pure helpers ---------------------------------------------------------------------------------
def delivery_nonce(delivery: Delivery) -> str:
    """A nonce stable across retries of one delivery and distinct between deliveries.

    Hashes the delivery id with its destination and story, so two databases posting with one bot
    token (a staging copy, say) do not collide on small ids. 25 characters: ``nb`` + 23 hex.
    """
    key = f"{delivery.id}|{delivery.address}|{delivery.alert.story}".encode()
    return ("nb" + hashlib.sha256(key).hexdigest())[:NONCE_MAX]


def nonce_ref(nonce: str) -> str:
    """The 12-hex marker shown in the footer, derived from the nonce (same delivery, same ref)."""
    return nonce[2:14]


def channel_body(delivery: Delivery) -> dict[str, Any]:
    """The JSON body of ``POST /channels/{id}/messages``: rendered alert, no mentions, nonce,
    and the delivery's marker at the end of the embed footer."""
    body = render_discord(delivery.alert)
    if delivery.reply_to is not None and delivery.followups == "thread":  # reports merged in
        body = discord_with_also_covered(body, delivery.also_covered)
    body["allowed_mentions"] = allowed_mentions(delivery.alert)  # none, or the channel's role
    body["nonce"] = delivery_nonce(delivery)
    body["enforce_nonce"] = True
    if delivery.reply_to and delivery.followups == "thread":  # issue 12: reply to the alert
        body["message_reference"] = {"message_id": delivery.reply_to,
                                     "fail_if_not_exists": False}
    for embed in (body.get("embeds") or [])[:1]:
        footer = embed.setdefault("footer", {})
        footer["text"] = " · ".join(filter(None, [footer.get("text"),
                                                  f"ref {nonce_ref(body['nonce'])}"]))
    return body


def webhook_body(delivery: Delivery) -> dict[str, Any]:
    body = render_discord(delivery.alert)
    if delivery.reply_to is not None and delivery.followups == "thread":  # reports merged in
        body = discord_with_also_covered(body, delivery.also_covered)
    body["allowed_mentions"] = allowed_mentions(delivery.alert)  # none, or the channel's role
    return body


def message_refs(message: Mapping[str, Any]) -> set[str]:
    """The delivery markers a fetched message carries: from its nonce and its embed footers."""
    refs = set()
    nonce = message.get("nonce")
    if isinstance(nonce, str) and nonce.startswith("nb") and len(nonce) == NONCE_MAX:
        refs.add(nonce_ref(nonce))
    for embed in message.get("embeds") or ():
        text = ((embed or {}).get("footer") or {}).get("text") or ""
        if found := _REF.search(str(text)):
            refs.add(found.group(1))
    return refs


def parse_webhook_url(url: str) -> tuple[str, str]:
    """``https://discord.com/api/webhooks/ID/TOKEN`` -> (ID, TOKEN).

    Only the id and token are used: the request goes to the configured API base, never to the
    host written in the address, so a destination cannot point the bot at another server.
    """
    parts = urlsplit(url.strip())
    segments = [s for s in parts.path.split("/") if s]
    lowered = [s.lower() for s in segments]
    if (parts.scheme != "https" or (parts.hostname or "") not in WEBHOOK_HOSTS
            or "webhooks" not in lowered):
        raise PermanentDeliveryError(
            "not a Discord webhook URL (expected https://discord.com/api/webhooks/ID/TOKEN)")
    rest = segments[lowered.index("webhooks") + 1:]
    if len(rest) != 2 or not rest[0].isdigit() or not rest[1]:
        raise PermanentDeliveryError(
            "not a Discord webhook URL (expected https://discord.com/api/webhooks/ID/TOKEN)")
    return rest[0], rest[1]


def error_for(status: int, body: Any, headers: Mapping[str, str], what: str) -> DeliveryError:
    """Translate a non-2xx answer other than 429 into the outcome the outbox acts on."""
    code = body.get("code") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else None
    detail = f"HTTP {status}" + (f", code {code}" if code else "") + (f": {message}"
                                                                       if message else "")
    if status >= 500:
        return TransientDeliveryError(f"Discord server error on {what} ({detail})",
                                      retry_after=retry_after(headers))
    if status == 401:
        return PermanentDeliveryError(f"Discord refused the bot token ({detail}); "
                                      "check DISCORD_TOKEN")
    if status == 403:
        return PermanentDeliveryError(
            f"no access to {what} ({detail}); invite the bot to the server and give it View "
            "Channel, Send Messages, Embed Links and Read Message History there")
    if status == 404:
        return PermanentDeliveryError(f"{what} does not exist ({detail}); it was deleted or the "
                                      "id is wrong")
    # 400 and friends: this message is refused, the destination is fine. Neither transient nor
    # permanent: the outbox retries with backoff and gives up on this one delivery.
    return DeliveryError(f"Discord refused the message for {what} ({detail})")


# --- the sinks ------------------------------------------------------------------------------------
class _DiscordREST:
    """One aiohttp session, pacing, and the error translation shared by both sinks."""

    platform = "discord"

    def __init__(self, *, api_base: str | None = None, token: str | None = None,
                 timeout: float = 15.0, pacer: Pacer | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.pacer = pacer or Pacer()
        self.clock = clock
        self.scans = RecentScans(clock=clock)
        self._token = token  # never logged, never in an error message
        self._timeout = aiohttp.ClientTimeout(total=timeout,
                                              sock_connect=min(CONNECT_TIMEOUT, timeout))
        self._session: aiohttp.ClientSession | None = None

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT}
        if self._token:
            headers["Authorization"] = f"Bot {self._token}"
        return headers

    async def _request(self, method: str, url: str, key: str, what: str,
                       body: dict[str, Any] | None = None) -> Any:
        """One paced call; the JSON answer of a 2xx, else the matching delivery error."""
        await self.pacer.acquire(key)
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers())
        with transport_errors("Discord", what):
            async with self._session.request(method, url, json=body) as response:
                data = await _json(response)
                status, headers = response.status, response.headers
        self.pacer.observe(key, headers)
        if status == 429:
            wait = retry_after(headers, data, default=DEFAULT_RETRY_AFTER) or 0.0
            raise self.pacer.rate_limited(key, wait, f"Discord {what}",
                                          everywhere=_is_global(data, headers))
        if not 200 <= status < 300:
            raise error_for(status, data, headers, what)
        return data

    async def find_sent(self, delivery: Delivery) -> str | None:
        """None: webhooks cannot be checked (see the module docstring)."""
        return None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _is_global(data: Any, headers: Mapping[str, str]) -> bool:
    return bool(isinstance(data, dict) and data.get("global")) or (
        (header(headers, "X-RateLimit-Global") or "").lower() == "true")


async def _json(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except ValueError:  # Cloudflare's HTML 429 page, an empty 204 ...
        return None


def _message_id(data: Any) -> str | None:
    value = data.get("id") if isinstance(data, dict) else None
    return str(value) if value is not None else None


def _channel_id(delivery: Delivery) -> str:
    channel = Address.parse(delivery.address).target
    if not channel.isdigit():
        raise PermanentDeliveryError(f"discord:{channel} is not a channel id (a number; "
                                     "enable Developer Mode, right-click the channel, Copy ID)")
    return channel


class DiscordSink(_DiscordREST):
    """``discord:CHANNEL_ID``: ``POST /channels/{id}/messages`` with the bot token."""

    platform = "discord"

    async def send(self, delivery: Delivery) -> SendResult:
        channel = _channel_id(delivery)
        if delivery.followups == "edit" and delivery.first_alert and delivery.reply_to:
            body = discord_with_also_covered(render_discord(delivery.first_alert),
                                             delivery.also_covered)  # issue 12: an edit
            await self._request("PATCH", f"{self.api_base}/channels/{channel}/messages/"
                                f"{delivery.reply_to}", f"channel:{channel}",
                                f"channel {channel}", body)
            return SendResult(message_id=delivery.reply_to)
        data = await self._request("POST", f"{self.api_base}/channels/{channel}/messages",
                                   f"channel:{channel}", f"channel {channel}",
                                   channel_body(delivery))
        return SendResult(message_id=_message_id(data))

    async def find_sent(self, delivery: Delivery) -> str | None:
        """None inside the nonce window (a resend is deduplicated by Discord); outside it, the
        id of the message carrying this delivery's nonce or marker among the recent ones."""
        attempted = delivery.last_attempt_at and as_utc(delivery.last_attempt_at)
        if attempted is not None and self.clock() - attempted <= NONCE_WINDOW:
            return None
        channel = _channel_id(delivery)
        ref = nonce_ref(delivery_nonce(delivery))
        return await self.scans.lookup(channel, ref, attempted, partial(self._scan, channel))

    async def _scan(self, channel: str) -> dict[str, str]:
        """Markers in the channel's last ``SCAN_LIMIT`` messages: ref -> message id."""
        try:
            data = await self._request(
                "GET", f"{self.api_base}/channels/{channel}/messages?limit={SCAN_LIMIT}",
                f"read:{channel}", f"channel {channel}")
        except PermanentDeliveryError as exc:
            log.warning("cannot read Discord channel %s to check in-doubt deliveries before "
                        "resending them: %s", channel, exc)
            return {}
        found: dict[str, str] = {}
        for message in data if isinstance(data, list) else ():
            if isinstance(message, dict) and (message_id := _message_id(message)):
                for ref in message_refs(message):
                    found.setdefault(ref, message_id)
        return found


class DiscordWebhookSink(_DiscordREST):
    """``discord-webhook:URL``: execute the webhook with ``?wait=true`` (no token needed)."""

    platform = "discord-webhook"

    async def send(self, delivery: Delivery) -> SendResult:
        webhook_id, token = parse_webhook_url(Address.parse(delivery.address).target)
        what = f"webhook {webhook_id}"  # the token stays out of messages and logs
        data = await self._request("POST", f"{self.api_base}/webhooks/{webhook_id}/{token}"
                                   "?wait=true", f"webhook:{webhook_id}", what,
                                   webhook_body(delivery))
        return SendResult(message_id=_message_id(data))


def make_discord_sinks(settings: Settings, *, api_base: str | None = None) -> dict[str, Sink]:
    """``discord-webhook`` always; ``discord`` (channel messages) only when a token is set.

    Every call goes to ``api_base``, by default ``settings.discord_api_url``.
    """
    base = api_base or settings.discord_api_url
    sinks: dict[str, Sink] = {"discord-webhook": DiscordWebhookSink(api_base=base)}
    if settings.discord_token is not None and settings.discord_token.get_secret_value():
        sinks["discord"] = DiscordSink(api_base=base,
                                       token=settings.discord_token.get_secret_value())
    return sinks
