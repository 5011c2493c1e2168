"""One claimed outbox row (``Delivery``) and what a sink returns for it (``SendResult``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.alert import Alert


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed outbox row."""

    id: int
    destination_id: int
    address: str
    alert: Alert
    attempts: int = 0
    message_id: str | None = None  # set when a previous attempt's outcome was recorded
    uncertain: bool = False  # the previous attempt may have landed (timed out after sending)
    # when the previous attempt was started (recorded before calling the platform); None if this
    # delivery was never attempted. Sinks use it for idempotency windows (Discord's nonce).
    last_attempt_at: datetime | None = None
    # a follow-up (issue 12): the story whose first alert here it joins; before sending, the
    # deliverer sets ``reply_to`` (that alert's message id) and ``followups`` (thread | edit)
    reply_to_story: str | None = None
    reply_to: str | None = None
    followups: str = "thread"
    first_alert: Alert | None = None  # ``edit``: the alert to edit, with ``also_covered``
    also_covered: tuple[str, ...] = ()  # ``edit``: every outlet of the story after the first


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
