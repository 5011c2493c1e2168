"""The delivery seam: every destination platform implements ``Sink``.

The outbox worker (``bot.pipeline.deliver``) claims a pending delivery, calls ``send`` on the sink
for the destination's platform, and records the result. Sinks translate their platform's errors
into the three outcomes below; the worker decides about retries and stopping destinations.
"""

from __future__ import annotations

from typing import Protocol

from .models import Delivery, SendResult


class Sink(Protocol):
    """Sends alerts to one platform (``console``, ``jsonl``, ``slack``, ``discord`` ...).

    ``send`` returns the platform's message id (or None for local sinks) once the platform has
    accepted the message, and raises:

    - ``TransientDeliveryError(retry_after=...)`` for rate limits, timeouts, 5xx: retried later;
    - ``UnknownOutcomeError`` when the request may have landed: the worker asks ``find_sent``
      before resending;
    - ``PermanentDeliveryError`` when it cannot succeed (channel gone, no access, bad token): the
      destination is stopped and the admins told.
    """

    platform: str

    async def send(self, delivery: Delivery) -> SendResult: ...

    async def find_sent(self, delivery: Delivery) -> str | None:
        """The message id if this delivery already landed (after an unknown outcome), else None."""
        ...

    async def close(self) -> None: ...
