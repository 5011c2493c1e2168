"""The one translation of transport failures (aiohttp, timeouts) into delivery outcomes.

- the request never left: connection refused, DNS failure, TLS handshake, connect timeout ->
  ``NotSentError`` (safe to resend; not an attempt);
- it may have landed: a read timeout, a reset or a dropped connection after sending ->
  ``UnknownOutcomeError`` (the worker asks the sink's ``find_sent`` before resending);
- the API URL itself is malformed -> ``PermanentDeliveryError`` (a setting to fix; the
  destination waits, nothing is lost).

Messages name the platform and the target, never the URL (a webhook URL carries its token).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp

from bot.domain.errors import NotSentError, PermanentDeliveryError, UnknownOutcomeError

# aiohttp raises these before a byte of the request was written
NOT_SENT: tuple[type[BaseException], ...] = (aiohttp.ClientConnectorError,
                                             aiohttp.ConnectionTimeoutError)


@contextmanager
def transport_errors(platform: str, what: str) -> Iterator[None]:
    """Run one HTTP exchange with ``platform`` about ``what``; re-raise failures as outcomes."""
    try:
        yield
    except aiohttp.InvalidURL as exc:
        raise PermanentDeliveryError(f"the {platform} API URL is not a valid URL; check the "
                                     f"setting (while sending to {what})") from exc
    except NOT_SENT as exc:
        raise NotSentError(f"cannot reach {platform} for {what} ({_reason(exc)}); "
                           "nothing was sent") from exc
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise UnknownOutcomeError(f"no answer from {platform} for {what} ({_reason(exc)}); "
                                  "the message may have been posted") from exc


def _reason(exc: BaseException) -> str:
    strerror = getattr(exc, "strerror", None)
    name = exc.__class__.__name__
    return f"{name}: {strerror}" if isinstance(strerror, str) and strerror else name
