"""Alerts out to Slack: ``chat.postMessage`` with the Block Kit payload, exactly once.

Errors are translated at this boundary into the sink outcomes of ``bot.sinks``:

- HTTP 429 / ``ratelimited`` -> ``TransientDeliveryError(retry_after=Retry-After)``; the channel is
  then left alone until that time (sends for it fail fast without calling Slack), other channels
  go on;
- 5xx, ``internal_error``, connection refused, a connect timeout -> ``TransientDeliveryError``;
- a timeout or a dropped connection after the request may have been sent -> ``UnknownOutcomeError``;
- ``channel_not_found``, ``not_in_channel``, ``is_archived``, ``invalid_auth``, ... ->
  ``PermanentDeliveryError`` (the worker stops the destination and tells the admins).

slack_sdk's own retry handlers are switched off (``retry_handlers=[]``): its default connection
retry would resend a ``chat.postMessage`` that may already have landed, and its optional 429 handler
sleeps inside the call. Retries are the outbox worker's job.

Idempotency: Slack has no idempotency key. Every message carries metadata
``{"event_type": "newsbot_alert", "event_payload": {"delivery": ID, "story": KEY}}`` and
``find_sent`` looks for it in ``conversations.history`` (``include_all_metadata``) over the last
``FIND_WINDOW`` and at most ``FIND_PAGES`` pages. A duplicate is still possible when that check
cannot see the earlier message: the bot cannot read the channel's history (no
``channels:history``/``groups:history`` scope, or it posts with ``chat:write.public`` without
being a member), more than ``FIND_PAGES * PAGE_SIZE`` messages arrived in the channel since, or
the earlier attempt is older than ``FIND_WINDOW``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from ..errors import PermanentDeliveryError, TransientDeliveryError, UnknownOutcomeError
from ..models import Delivery, SendResult
from ..render.slack_blocks import render_slack
from ..settings import Settings

log = logging.getLogger(__name__)

EVENT_TYPE = "newsbot_alert"
FIND_WINDOW = timedelta(hours=24)  # the outbox gives up after ~7 h of retries; this covers it
PAGE_SIZE = 200
FIND_PAGES = 5
DEFAULT_RETRY_AFTER = 30.0  # a 429 without a Retry-After header
CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0

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


def slack_client(token: str, *, base_url: str | None = None) -> AsyncWebClient:
    """An ``AsyncWebClient`` with slack_sdk's retries off (the outbox retries, see above)."""
    kwargs: dict[str, Any] = {"token": token, "retry_handlers": [], "timeout": int(TOTAL_TIMEOUT)}
    if base_url:
        kwargs["base_url"] = base_url.rstrip("/") + "/"
    return AsyncWebClient(**kwargs)


class SlackSink:
    """Posts alerts for ``slack:CHANNEL_ID`` destinations; ``message_id`` is the message ``ts``.

    Paces about one message per ``per_channel_interval`` seconds per channel (Slack's
    chat.postMessage limit); the wait happens under a per-channel lock so other channels are
    never held up. ``timeout`` bounds each call (a connect timeout means "not sent", any later
    one "unknown outcome"). ``clock`` is wall time (the ``find_sent`` window); ``monotonic`` and
    ``sleep`` drive the pacing (tests pass fakes).
    """

    platform = "slack"

    def __init__(self, client: AsyncWebClient, *, clock: Callable[[], datetime] = utcnow,
                 per_channel_interval: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 timeout: float = TOTAL_TIMEOUT) -> None:
        self.client = client
        self.timeout = timeout
        self.clock = clock
        self.interval = per_channel_interval
        self.monotonic = monotonic
        self.sleep = sleep
        self._locks: dict[str, asyncio.Lock] = {}
        self._last_sent: dict[str, float] = {}
        self._blocked_until: dict[str, float] = {}  # monotonic time a 429 told us to wait for
        self._own_session: aiohttp.ClientSession | None = None

    # --- the Sink protocol ------------------------------------------------------------------------
    async def send(self, delivery: Delivery) -> SendResult:
        channel = _channel(delivery)
        self._fail_fast_if_blocked(channel)
        payload = render_slack(delivery.alert)
        metadata = {"event_type": EVENT_TYPE, "event_payload": _marker(delivery)}
        async with self._lock(channel):
            self._fail_fast_if_blocked(channel)  # a 429 may have come while we waited
            await self._pace(channel)
            try:
                response = await self._call(channel, partial(
                    self.client.chat_postMessage, channel=channel, metadata=metadata, **payload))
            finally:
                self._last_sent[channel] = self.monotonic()
        ts = response.get("ts")
        return SendResult(message_id=str(ts) if ts else None, extra={"channel": channel})

    async def find_sent(self, delivery: Delivery) -> str | None:
        """The ``ts`` of this delivery's message if it is in the channel's recent history."""
        channel = _channel(delivery)
        self._fail_fast_if_blocked(channel)
        marker = _marker(delivery)
        oldest = f"{(self.clock() - FIND_WINDOW).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(FIND_PAGES):
            kwargs: dict[str, Any] = {"channel": channel, "oldest": oldest, "limit": PAGE_SIZE,
                                      "include_all_metadata": True, "cursor": cursor}
            try:
                page = await self._call(channel,
                                        partial(self.client.conversations_history, **kwargs))
            except PermanentDeliveryError as exc:
                # cannot check: resend (a duplicate is possible, see the module docstring)
                log.warning("cannot check %s for delivery %d before resending: %s",
                            delivery.address, delivery.id, exc)
                return None
            for message in page.get("messages") or ():
                if _is_ours(message, marker):
                    return str(message.get("ts"))
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        return None

    async def close(self) -> None:
        if self._own_session is not None:
            await self._own_session.close()
            self._own_session = None
            self.client.session = None

    # --- internals --------------------------------------------------------------------------------
    def _lock(self, channel: str) -> asyncio.Lock:
        return self._locks.setdefault(channel, asyncio.Lock())

    async def _pace(self, channel: str) -> None:
        last = self._last_sent.get(channel)
        if last is not None:
            wait = last + self.interval - self.monotonic()
            if wait > 0:
                await self.sleep(wait)

    def _fail_fast_if_blocked(self, channel: str) -> None:
        until = self._blocked_until.get(channel)
        if until is None:
            return
        remaining = until - self.monotonic()
        if remaining > 0:
            raise TransientDeliveryError(f"Slack rate limit on {channel}: waiting "
                                         f"{remaining:.0f} s", retry_after=remaining)
        del self._blocked_until[channel]

    def _session(self) -> None:
        """Give the client one pooled session with a connect timeout we can tell apart."""
        if self.client.session is None or self.client.session.closed:
            timeout = aiohttp.ClientTimeout(total=self.timeout,
                                            sock_connect=min(CONNECT_TIMEOUT, self.timeout))
            self._own_session = aiohttp.ClientSession(timeout=timeout)
            self.client.session = self._own_session

    async def _call(self, channel: str, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run one Web API call; translate every failure into a delivery error."""
        self._session()
        try:
            return await call()
        except SlackApiError as exc:
            raise self._api_error(channel, exc) from exc
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise TransientDeliveryError(f"cannot reach Slack: {exc.__class__.__name__}") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise UnknownOutcomeError(f"no answer from Slack ({exc.__class__.__name__}); "
                                      "the message may have been posted") from exc
        except SlackClientError as exc:
            raise TransientDeliveryError(f"Slack client error: {exc}") from exc

    def _api_error(self, channel: str, exc: SlackApiError) -> Exception:
        response = exc.response
        status = getattr(response, "status_code", 0) or 0
        error = str(response.get("error", "")) if isinstance(response.data, dict) else ""
        if status == 429 or error in RATE_LIMITED:
            retry_after = _retry_after(response.headers)
            self._blocked_until[channel] = self.monotonic() + retry_after
            return TransientDeliveryError(f"Slack rate limit on {channel} ({error or 429})",
                                          retry_after=retry_after)
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
    channel = delivery.address.split(":", 1)[1] if ":" in delivery.address else ""
    if not channel:
        raise PermanentDeliveryError(f"{delivery.address!r} names no Slack channel")
    return channel


def _marker(delivery: Delivery) -> dict[str, str]:
    return {"delivery": str(delivery.id), "story": delivery.alert.story}


def _is_ours(message: dict[str, Any], marker: dict[str, str]) -> bool:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != EVENT_TYPE:
        return False
    payload = metadata.get("event_payload") or {}
    return all(str(payload.get(k, "")) == v for k, v in marker.items())


def _retry_after(headers: Any) -> float:
    raw = None
    if headers is not None:
        raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(float(raw), 0.0) if raw is not None else DEFAULT_RETRY_AFTER
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER


def make_slack_sink(settings: Settings, *, base_url: str | None = None) -> SlackSink | None:
    """The Slack sink for ``App.sinks["slack"]``, or None when no bot token is set."""
    if settings.slack_bot_token is None or not settings.slack_bot_token.get_secret_value():
        return None
    return SlackSink(slack_client(settings.slack_bot_token.get_secret_value(), base_url=base_url))
