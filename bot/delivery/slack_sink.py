"""Alerts out to Slack: ``chat.postMessage`` with the Block Kit payload, exactly once.

Every call goes to the configured Web API base (``NEWSBOT_SLACK_API_URL``; GovSlack:
``https://slack-gov.com/api/``). Errors are translated at this boundary into the sink outcomes of
``bot.delivery.sinks``:

- HTTP 429 / ``ratelimited`` -> ``RateLimitedError(retry_after=Retry-After)``; the channel is then
  paused in the shared ``Pacer`` until that time: a send for it inside the pause waits (a short
  pause) or raises ``RateLimitedError`` without calling Slack; other channels go on;
- 5xx, ``internal_error`` -> ``TransientDeliveryError``;
- connection refused, DNS, a connect timeout -> ``NotSentError``; a timeout or a dropped
  connection after the request may have been sent -> ``UnknownOutcomeError``
  (``bot.delivery.transport``);
- ``channel_not_found``, ``not_in_channel``, ``is_archived``, ``invalid_auth``, ... ->
  ``PermanentDeliveryError`` (the worker stops the destination and tells the admins).

slack_sdk's own retry handlers are switched off (``retry_handlers=[]``): its default connection
retry would resend a ``chat.postMessage`` that may already have landed, and its optional 429 handler
sleeps inside the call. Retries are the outbox worker's job.

Idempotency: Slack has no idempotency key. Every message carries metadata
``{"event_type": "newsbot_alert", "event_payload": {"delivery": ID, "story": KEY}}``.
``find_sent`` reads ``conversations.history`` (``include_all_metadata``) over the last
``FIND_WINDOW``, at most ``FIND_PAGES`` pages, ONCE per channel for all its in-doubt deliveries
(``bot.delivery.recent``). A duplicate is still possible when that read cannot see the earlier
message: the bot cannot read the channel's history (no ``channels:history``/``groups:history``
scope, or it posts with ``chat:write.public`` without being a member), more than
``FIND_PAGES * PAGE_SIZE`` messages arrived in the channel since, the earlier attempt is older
than ``FIND_WINDOW``, or Slack finished processing the earlier request only after the read.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.settings import Settings
from bot.delivery.pacer import Pacer
from bot.delivery.recent import SCAN_TTL, RecentScans
from bot.delivery.transport import transport_errors
from bot.domain.address import Address
from bot.domain.delivery import Delivery, SendResult
from bot.domain.errors import PermanentDeliveryError, TransientDeliveryError
from bot.net.retry_after import retry_after
from bot.render.also_covered import slack_with_also_covered
from bot.render.slack_blocks import render_slack

log = logging.getLogger(__name__)

EVENT_TYPE = "newsbot_alert"
FIND_WINDOW = timedelta(hours=24)  # the outbox gives up after ~7 h of retries; this covers it
PAGE_SIZE = 200
FIND_PAGES = 5
DEFAULT_RETRY_AFTER = 30.0  # a 429 without a Retry-After header
MAX_WAIT = 5.0  # a pause up to this long is waited out inside send; longer ones reschedule
CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0
HISTORY_KEY = "slack:history"  # conversations.history is limited per workspace, not per channel

# errors that cannot succeed without a human (https://api.slack.com/methods/chat.postMessage)
PERMANENT_ERRORS = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive",
    "token_revoked", "token_expired", "no_permission", "missing_scope", "not_authed",
    "msg_too_long", "invalid_blocks", "invalid_blocks_format", "invalid_metadata_format",
    "invalid_metadata_schema", "metadata_too_large", "restricted_action",
    "restricted_action_read_only_channel", "restricted_action_thread_only_channel",
    "restricted_action_non_threadable_channel", "cannot_reply_to_message", "ekm_access_denied",
    "team_access_not_granted", "too_many_attachments", "no_text", "invalid_arguments",
    "org_login_required", "is_inactive", "team_not_found", "user_is_bot", "not_allowed_token_type",
})
RATE_LIMITED = frozenset({"ratelimited", "rate_limited", "message_limit_exceeded"})
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable",
                              "request_timeout"})


def utcnow() -> datetime:
    return datetime.now(UTC)


class SlackTokens(Protocol):
    """Slack for several workspaces: the bot token for a destination's alerts, and the
    workspace it belongs to (its own history-read limit); raises a ``DeliveryError``
    (``NotSentError``: the workspace removed the app, its alerts wait)."""

    async def token_for(self, destination_id: int) -> tuple[str, str]:
        ...


def slack_client(token: str | None, *, base_url: str | None = None) -> AsyncWebClient:
    """An ``AsyncWebClient`` with slack_sdk's retries off (the outbox retries, see above)."""
    kwargs: dict[str, Any] = {"token": token, "retry_handlers": [], "timeout": int(TOTAL_TIMEOUT)}
    if base_url:
        kwargs["base_url"] = base_url.rstrip("/") + "/"
    return AsyncWebClient(**kwargs)


class SlackSink:
    """Posts alerts for ``slack:CHANNEL_ID`` destinations; ``message_id`` is the message ``ts``.

    Paces one message per ``per_channel_interval`` seconds per channel (Slack's chat.postMessage
    limit) with the shared ``Pacer``; only that channel's sends wait. ``timeout`` bounds each
    call. ``clock`` is wall time (the ``find_sent`` window); ``monotonic`` and ``sleep`` drive the
    pacing and the history cache (tests pass fakes). With ``tokens`` (Slack for several
    workspaces) every call carries the token of the destination's workspace; without, the
    client's own token (``SLACK_BOT_TOKEN``).
    """

    platform = "slack"

    def __init__(self, client: AsyncWebClient, *, tokens: SlackTokens | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 per_channel_interval: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 timeout: float = TOTAL_TIMEOUT, max_wait: float = MAX_WAIT,
                 scan_ttl: float = SCAN_TTL) -> None:
        self.client = client
        self.tokens = tokens
        self.timeout = timeout
        self.clock = clock
        self.pacer = Pacer(limit=1, window=per_channel_interval, max_wait=max_wait,
                           monotonic=monotonic, sleep=sleep)
        self.scans = RecentScans(scan_ttl, clock=clock, monotonic=monotonic)
        self._own_session: aiohttp.ClientSession | None = None

    # --- the Sink protocol ------------------------------------------------------------------------
    async def send(self, delivery: Delivery) -> SendResult:
        if delivery.followups == "edit" and delivery.first_alert and delivery.reply_to:
            return await self._edit(delivery)
        channel = _channel(delivery)
        payload = render_slack(delivery.alert)
        metadata = {"event_type": EVENT_TYPE, "event_payload": _marker(delivery)}
        key = f"slack:{channel}"
        auth, _ = await self._auth(delivery)
        if delivery.reply_to and delivery.followups == "thread":  # issue 12: in the thread
            payload = slack_with_also_covered(payload, delivery.also_covered)  # (merged ones)
            payload["thread_ts"] = delivery.reply_to
        await self.pacer.acquire(key)
        response = await self._call(key, channel, partial(
            self.client.chat_postMessage, channel=channel, metadata=metadata, **auth, **payload))
        ts = response.get("ts")
        return SendResult(message_id=str(ts) if ts else None, extra={"channel": channel})

    async def _edit(self, delivery: Delivery) -> SendResult:
        """Issue 12: the story's first alert, edited to list the other outlets (``chat.update``
        keeps the first alert's metadata; an edit done twice is the same edit)."""
        assert delivery.first_alert is not None and delivery.reply_to is not None
        channel = _channel(delivery)
        payload = slack_with_also_covered(render_slack(delivery.first_alert),
                                          delivery.also_covered)
        payload.pop("unfurl_links", None)
        payload.pop("unfurl_media", None)
        key = f"slack:{channel}"
        auth, _ = await self._auth(delivery)
        await self.pacer.acquire(key)
        await self._call(key, channel, partial(self.client.chat_update, channel=channel,
                                               ts=delivery.reply_to, **auth, **payload))
        return SendResult(message_id=delivery.reply_to, extra={"channel": channel})

    async def find_sent(self, delivery: Delivery) -> str | None:
        """The ``ts`` of this delivery's message if it is in the channel's recent history."""
        channel = _channel(delivery)
        auth, history = await self._auth(delivery)
        return await self.scans.lookup(channel, _marker_key(_marker(delivery)),
                                       delivery.last_attempt_at,
                                       partial(self._scan, channel, auth, history))

    async def close(self) -> None:
        if self._own_session is not None:
            await self._own_session.close()
            self._own_session = None
            self.client.session = None

    # --- internals --------------------------------------------------------------------------------
    async def _auth(self, delivery: Delivery) -> tuple[dict[str, Any], str]:
        """The ``token`` argument for this delivery's calls (none: the client's own token) and
        the pacing key of its workspace's history reads."""
        if self.tokens is None:
            return {}, HISTORY_KEY
        token, workspace = await self.tokens.token_for(delivery.destination_id)
        return {"token": token}, f"{HISTORY_KEY}:{workspace}"

    async def _scan(self, channel: str, auth: dict[str, Any], history: str) -> dict[str, str]:
        """Every newsbot marker in ``channel`` over ``FIND_WINDOW``: marker -> ``ts``."""
        oldest = f"{(self.clock() - FIND_WINDOW).timestamp():.6f}"
        found: dict[str, str] = {}
        cursor: str | None = None
        for _ in range(FIND_PAGES):
            await self.pacer.acquire(history)
            kwargs: dict[str, Any] = {"channel": channel, "oldest": oldest, "limit": PAGE_SIZE,
                                      "include_all_metadata": True, "cursor": cursor, **auth}
            try:
                page = await self._call(history, channel,
                                        partial(self.client.conversations_history, **kwargs))
            except PermanentDeliveryError as exc:
                # cannot check: resend (a duplicate is possible, see the module docstring)
                log.warning("cannot read the history of Slack channel %s to check in-doubt "
                            "deliveries before resending them: %s", channel, exc)
                return found
            for message in page.get("messages") or ():
                if (marker := _marker_of(message)) is not None:
                    found.setdefault(marker, str(message.get("ts")))
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return found

    def _session(self) -> None:
        """Give the client one pooled session with a connect timeout we can tell apart."""
        if self.client.session is None or self.client.session.closed:
            timeout = aiohttp.ClientTimeout(total=self.timeout,
                                            sock_connect=min(CONNECT_TIMEOUT, self.timeout))
            self._own_session = aiohttp.ClientSession(timeout=timeout)
            self.client.session = self._own_session

    async def _call(self, key: str, channel: str, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run one Web API call; translate every failure into a delivery error."""
        self._session()
        try:
            with transport_errors("Slack", f"channel {channel}"):
                return await call()
        except SlackApiError as exc:
            raise self._api_error(key, channel, exc) from exc
        except SlackClientError as exc:
            raise TransientDeliveryError(f"Slack client error: {exc}") from exc

    def _api_error(self, key: str, channel: str, exc: SlackApiError) -> Exception:
        response = exc.response
        status = getattr(response, "status_code", 0) or 0
        error = str(response.get("error", "")) if isinstance(response.data, dict) else ""
        if status == 429 or error in RATE_LIMITED:
            wait = retry_after(response.headers, default=DEFAULT_RETRY_AFTER)
            return self.pacer.rate_limited(key, wait or 0.0, f"Slack {key} ({error or 429})")
        if error in PERMANENT_ERRORS:
            return PermanentDeliveryError(f"Slack refused the message to {channel}: {error}")
        if status >= 500 or error in TRANSIENT_ERRORS:
            return TransientDeliveryError(f"Slack error on {channel}: {error or status}")
        if 400 <= status < 500 and status not in (408, 425):
            return PermanentDeliveryError(f"Slack refused the message to {channel}: "
                                          f"{error or status}")
        # an unknown "ok": false error: retry (the outbox gives up after MAX_ATTEMPTS)
        return TransientDeliveryError(f"Slack error on {channel}: {error or status}")


def _channel(delivery: Delivery) -> str:
    channel = Address.parse(delivery.address).target
    if not channel:
        raise PermanentDeliveryError(f"{delivery.address!r} names no Slack channel")
    return channel


def _marker(delivery: Delivery) -> dict[str, str]:
    return {"delivery": str(delivery.id), "story": delivery.alert.story}


def _marker_key(marker: dict[str, str]) -> str:
    return f"{marker['delivery']}|{marker['story']}"  # the id is digits: unambiguous


def _marker_of(message: dict[str, Any]) -> str | None:
    """The marker key of a newsbot message (from its metadata), else None."""
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != EVENT_TYPE:
        return None
    payload = metadata.get("event_payload") or {}
    return _marker_key({k: str(payload.get(k, "")) for k in ("delivery", "story")})


def make_slack_sink(settings: Settings, *, base_url: str | None = None,
                    tokens: SlackTokens | None = None) -> SlackSink | None:
    """The Slack sink for ``App.sinks["slack"]``, or None when no bot token is set and no
    ``tokens`` (Slack for several workspaces) are given.

    Every call it makes goes to ``base_url``, by default ``settings.slack_api_url``.
    """
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    if not token and tokens is None:
        return None
    return SlackSink(slack_client(None if tokens else token,
                                  base_url=base_url or settings.slack_api_url), tokens=tokens)
