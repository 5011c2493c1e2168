"""Follow-ups (issue 12): a later report of an alerted story, sent as the destination chose.

``thread``: a reply to the first alert (Slack ``thread_ts``, Discord message reference);
``edit``: the first alert edited to list the outlet under "Also covered by"; ``off``: nothing.
Reports that arrive while a follow-up waits for its slot are merged into it (``merged``): a
thread reply then names them under "Also covered by", an edit lists them too.
A follow-up waits until its story's first alert is sent (it needs that message's id); if the first
alert can never be sent (rejected, expired), the follow-up goes out as an ordinary alert.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.domain.alert import Alert
from bot.domain.delivery import Delivery
from bot.storage import DelivererStorage

WAIT_FOR_FIRST = timedelta(minutes=1)  # a follow-up checks again for its first alert after this
SKIPPED = "follow-ups are off for this destination"


async def prepare_followup(storage: DelivererStorage, delivery: Delivery, now: datetime
                           ) -> Delivery | str:
    """The follow-up ready to send (with ``reply_to`` and ``followups`` set), or why not now:
    ``SKIPPED`` (recorded as done) or a wait reason (retried after ``WAIT_FOR_FIRST``)."""
    assert delivery.reply_to_story is not None
    target = await storage.followup_target(delivery.destination_id, delivery.reply_to_story,
                                           delivery.id)
    if target.followups == "off":
        return SKIPPED
    if target.status == "pending":
        return "waiting for the story's first alert to be sent"
    if target.status == "sent" and target.followups == "edit" and target.first_alert:
        return replace(delivery, reply_to=target.message_id or "", followups="edit",
                       first_alert=Alert.from_json(target.first_alert),
                       also_covered=(*target.outlets, delivery.alert.feed, *target.merged))
    if target.status == "sent":  # (console and webhooks keep no message id: "")
        return replace(delivery, reply_to=target.message_id or "", followups="thread",
                       also_covered=target.merged)
    return replace(delivery, reply_to_story=None)  # no first alert to join: an alert of its own
