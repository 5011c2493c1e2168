"""How long a server asked us to wait: the one parser for fetch, Slack and Discord.

Reads, in order, Discord's JSON body ``retry_after`` (seconds, may be fractional), the
``Retry-After`` header (RFC 9110: delta-seconds or an HTTP-date, measured against the response's
``Date`` when it has one), and Discord's ``X-RateLimit-Reset-After``. The answer is clamped to
``[0, maximum]`` so a broken or hostile server cannot park work for days; ``default`` is used when
nothing readable was sent. Pure: ``now`` is passed in (or taken from the ``Date`` header).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

MAXIMUM = 3600.0  # one answer never holds work for more than an hour
HEADERS = ("Retry-After", "X-RateLimit-Reset-After")


def parse_retry_after(value: str | None, date_header: str | None = None, *,
                      now: datetime | None = None) -> float | None:
    """Seconds from one ``Retry-After`` value (delta-seconds or HTTP-date), or None if unreadable.

    An HTTP-date is measured against ``date_header`` (the server's clock) when given, else ``now``
    (default: the current time). Past dates give 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if (seconds := _seconds(text)) is not None:
        return seconds
    when = _http_date(text)
    if when is None:
        return None
    base = _http_date(date_header) or now or datetime.now(UTC)
    return max(0.0, (when - base).total_seconds())


def retry_after(headers: Mapping[str, str] | None, body: Any = None, *,
                default: float | None = None, maximum: float = MAXIMUM,
                now: datetime | None = None) -> float | None:
    """Seconds to wait from a response: JSON ``retry_after``, then the headers, else ``default``.

    Header names are matched case-insensitively (aiohttp's headers already are; a plain dict from
    another client may not be). The result is clamped to ``[0, maximum]``.
    """
    seconds = None
    if isinstance(body, Mapping):
        raw = body.get("retry_after")
        seconds = _seconds(str(raw)) if isinstance(raw, int | float | str) else None
    for name in HEADERS:
        if seconds is not None:
            break
        seconds = parse_retry_after(header(headers, name), header(headers, "Date"), now=now)
    if seconds is None:
        seconds = default
    return None if seconds is None else min(max(seconds, 0.0), maximum)


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """``headers[name]`` whatever the case of the stored name, or None."""
    if not headers:
        return None
    value = headers.get(name)
    if value is not None:
        return str(value)
    wanted = name.lower()
    return next((str(v) for k, v in headers.items() if str(k).lower() == wanted), None)


def _seconds(text: str) -> float | None:
    try:
        seconds = float(text)
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
