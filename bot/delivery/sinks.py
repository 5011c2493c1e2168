"""The delivery seam: every destination platform implements ``Sink``.

The outbox worker (``bot.jobs.deliver``) claims a pending delivery, calls ``send`` on the sink
for the destination's platform, and records the result. Sinks translate their platform's errors
into the outcomes below (transport failures through ``bot.delivery.transport``, waits through
``bot.delivery.pacer``, addresses through ``bot.domain.Address``); the worker decides about
retries and stopping destinations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.domain.delivery import Delivery, SendResult


class Sink(Protocol):
    """Sends alerts to one platform (``console``, ``jsonl``, ``slack``, ``discord`` ...).

    ``send`` returns the platform's message id (or None) once the platform has accepted the
    message, and raises:

    - ``RateLimitedError(retry_after=...)`` for a 429 or while the key is paused in-process
      (pacing): nothing was posted, retried after ``retry_after``, not counted as an attempt;
    - ``NotSentError`` when the request never reached the platform (connection refused, DNS,
      connect timeout): safe to resend, not counted as an attempt;
    - ``UnknownOutcomeError`` when the request may have landed (timeout after sending): the
      worker asks ``find_sent`` before resending;
    - ``TransientDeliveryError`` for other trouble worth retrying (5xx ...);
    - ``PermanentDeliveryError`` when it cannot succeed (channel gone, no access, bad token): the
      destination is stopped and the admins told.

    ``find_sent`` is asked only for a delivery in doubt (``Delivery.uncertain``); it may raise
    ``RateLimitedError`` too. Sinks that cannot look (console, webhooks) return None and say so.
    """

    platform: str

    async def send(self, delivery: Delivery) -> SendResult: ...

    async def find_sent(self, delivery: Delivery) -> str | None:
        """The message id if this delivery already landed (after an unknown outcome), else None."""
        ...

    async def close(self) -> None: ...


class BatchSink(Sink, Protocol):
    """A sink that can write several alerts of one destination at once and find each of them
    afterwards (``find_sent``) however the batch ended: the worker marks them all attempted in
    one transaction, calls ``send_many``, and marks the sent ones in one transaction. After a
    crash in between, every one of them is in doubt and looked for before a resend."""

    async def send_many(self, deliveries: Sequence[Delivery]) -> list[SendResult]:
        """Send a prefix of ``deliveries`` (at least one), in order; their results. Anything
        raised means any of them may have landed."""
        ...
