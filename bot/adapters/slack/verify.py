"""Every HTTP request verified before bolt sees it: timestamp, signature and replays (401), and a
signed body that is not a Slack payload (400)."""


from __future__ import annotations

import hashlib
import heapq
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

MAX_SKEW = 300  # seconds; Slack's documented replay window


_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def _unauthorized(error: str = "invalid request signature") -> BoltResponse:
    return BoltResponse(status=401, body=f'{{"error":"{error}"}}',
                        headers={"content-type": "application/json"})


def _bad_request() -> BoltResponse:
    return BoltResponse(status=400, body='{"error":"not a Slack request"}',
                        headers={"content-type": "application/json"})


_OBJECT_FIELDS = ("event", "view", "container", "message", "state")


_ID_FIELDS = ("team", "user", "channel", "enterprise")  # an id, or an object with an id


_LIST_FIELDS = ("actions", "authorizations")


_TEXT_FIELDS = ("command", "type", "team_id", "user_id", "channel_id", "enterprise_id",
                "api_app_id", "text", "response_url", "trigger_id", "subtype", "bot_id")


def _fields_ok(body: Mapping[str, Any]) -> bool:
    return (all(not isinstance(body.get(k), (list, dict, int, float, bool)) for k in _TEXT_FIELDS)
            and all(isinstance(body.get(k, {}), dict) for k in _OBJECT_FIELDS)
            and all(isinstance(body.get(k, ""), (str, dict)) for k in _ID_FIELDS)
            and all(isinstance(body.get(k, []), list)
                    and all(isinstance(item, dict) for item in body.get(k, []))
                    for k in _LIST_FIELDS))


def is_slack_payload(body: Any) -> bool:
    """A slash command, interaction or event: a JSON object / form with a ``command`` or
    ``type``, whose fields bolt reads have the shapes Slack sends (bolt's ssl_check and
    url_verification handling run before this check). Anything else is answered 400 here,
    before bolt could fail on it with a 500."""
    if not isinstance(body, dict) or not (isinstance(body.get("command"), str)
                                          or isinstance(body.get("type"), str)):
        return False
    event = body.get("event")
    return _fields_ok(body) and (event is None or _fields_ok(event))


class ReplayCache:
    """The (timestamp, signature) pairs of accepted signed requests, kept until the timestamp
    leaves the replay window: a second identical request is refused. Per process (several
    workers behind a load balancer each keep their own)."""

    def __init__(self, window: float = MAX_SKEW) -> None:
        self.window = window
        self._seen: set[tuple[str, str]] = set()
        self._expiry: list[tuple[float, tuple[str, str]]] = []

    def first_time(self, timestamp: str, signature: str, now: float) -> bool:
        """True (and remembered) the first time this pair is seen; False on a replay."""
        while self._expiry and self._expiry[0][0] < now:
            self._seen.discard(heapq.heappop(self._expiry)[1])
        key = (timestamp, signature)
        if key in self._seen:
            return False
        self._seen.add(key)
        heapq.heappush(self._expiry, (int(timestamp) + self.window, key))
        return True

    def __len__(self) -> int:
        return len(self._seen)


def verify_request(secret: str, headers: Mapping[str, str], body: bytes | str, now: float) -> bool:
    """Slack's v0 signature check, strict about the timestamp (digits only, within 5 minutes)."""
    lower = {k.lower(): v for k, v in headers.items()}
    timestamp = lower.get("x-slack-request-timestamp", "")
    signature = lower.get("x-slack-signature", "")
    if not _TIMESTAMP.fullmatch(timestamp) or not signature.startswith("v0="):
        return False
    if abs(now - int(timestamp)) > MAX_SKEW:
        return False
    raw = body.encode() if isinstance(body, str) else body
    base = b"v0:" + timestamp.encode() + b":" + raw
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class StrictRequestVerification(AsyncMiddleware):
    """Replaces bolt's request verification (which raises on a non-numeric timestamp -> 500)."""

    def __init__(self, secret: str, clock: Callable[[], float] = time.time,
                 replays: ReplayCache | None = None) -> None:
        self._secret = secret
        self._clock = clock
        self.replays = replays if replays is not None else ReplayCache()

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        if req.mode == "socket_mode":  # arrived over the authenticated websocket
            return await next()
        headers = {k.lower(): v[0] for k, v in req.headers.items() if v}
        now = self._clock()
        if not verify_request(self._secret, headers, req.raw_body, now):
            return _unauthorized()
        if not self.replays.first_time(headers["x-slack-request-timestamp"],
                                       headers["x-slack-signature"], now):
            log.warning("Slack: refused a replayed signed request (timestamp %s)",
                        headers["x-slack-request-timestamp"])
            return _unauthorized("replayed request")
        return await next() if is_slack_payload(req.body) else _bad_request()
