"""One exception tree for newsbot.

Third-party errors (aiohttp, feedparser, SQLAlchemy, slack_sdk, discord.py) are translated into
these at the boundary that calls the library, so callers only ever catch ``NewsbotError``
subclasses. Every message is written for the person who has to act on it.
"""

from __future__ import annotations

from typing import Any

from bot.domain.secrets import mask_secrets


class NewsbotError(Exception):
    """Base of every error newsbot raises on purpose. Its message never carries a secret: text
    arguments go through ``mask_secrets`` (webhook tokens, Slack tokens, ``token=`` ...)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*(mask_secrets(a) if isinstance(a, str) else a for a in args))


# --- configuration -------------------------------------------------------------------------------
class ConfigError(NewsbotError):
    """A config file or setting is invalid; the message names the file, entry and problem."""


class WatchlistError(ConfigError):
    """A watchlist entry is invalid: missing name, empty alias, keyword of only '*' ..."""


# --- feeds ---------------------------------------------------------------------------------------
class FeedError(NewsbotError):
    """A feed could not be fetched or parsed. ``url`` says which one."""

    def __init__(self, message: str, *, url: str = "") -> None:
        super().__init__(message)
        self.url = url


class FetchError(FeedError):
    """Network-level failure: DNS, connect, TLS, reset, or an HTTP status that is not 2xx/304."""

    def __init__(self, message: str, *, url: str = "", status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.retry_after = retry_after


class FeedTimeout(FetchError):
    """The server was too slow (connect, read or total deadline)."""


class FeedTooLarge(FetchError):
    """The body exceeded the size cap (counted after decompression)."""


class UnsafeURL(FetchError):
    """The URL is not allowed: not http(s), or it resolves to a non-public address."""


class ParseError(FeedError):
    """The bytes are not a feed we can read (not XML/JSON, no entries structure)."""


# --- storage -------------------------------------------------------------------------------------
class StorageError(NewsbotError):
    """The database refused or failed an operation."""


# --- delivery ------------------------------------------------------------------------------------
class DeliveryError(NewsbotError):
    """Sending an alert failed."""


class TransientDeliveryError(DeliveryError):
    """Worth retrying later: timeouts, 5xx, rate limits. ``retry_after`` in seconds if known."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimitedError(TransientDeliveryError):
    """The platform (a 429) or our own pacing said "wait": nothing was posted and the attempt
    does not count against the delivery's attempt budget. ``retry_after`` says how long."""


class NotSentError(TransientDeliveryError):
    """The request never reached the platform (connection refused, DNS, connect timeout, a sink
    that is not configured): safe to retry, and not counted as an attempt."""


class UnknownOutcomeError(TransientDeliveryError):
    """The request may or may not have landed (timeout after sending); check before resending."""


class PermanentDeliveryError(DeliveryError):
    """Cannot succeed without a human (channel gone, bot removed, bad token): stop sending."""


# --- chat commands -------------------------------------------------------------------------------
class CommandError(NewsbotError):
    """A chat command was wrong; the message is shown to the user as is (short, specific)."""


class NotAuthorized(CommandError):
    """The user may not run this command (admin only)."""
