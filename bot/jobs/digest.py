"""The digest job: held alerts whose moment has come go out as ONE digest message per channel
(or one by one, when quiet hours held only a few). Runs every cycle with the app's clock.

Which moment (the digest time in the channel's zone, the end of quiet hours, the next hour of the
cap) is decided by ``flush_slot`` (bot/pipeline/controls.py); the digest is built by
``build_digest``; storage queues it as one outbox row keyed by the period and marks its alerts
``digested`` in the same transaction, so a crash or a second worker never sends a digest twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot.domain.alert import display_address
from bot.domain.controls import ChannelControls
from bot.pipeline.controls import as_digest, flush_slot
from bot.pipeline.digest import build_digest
from bot.storage import DigestStorage

log = logging.getLogger(__name__)


def period_label(controls: ChannelControls) -> str:
    if controls.digest is not None:
        return f"{controls.digest} {controls.timezone}"
    if controls.quiet is not None:
        return f"held during quiet hours {controls.quiet} {controls.timezone} or over the cap"
    return "held over this channel's hourly cap" if controls.cap else "held alerts"


class DigestJob:
    def __init__(self, storage: DigestStorage) -> None:
        self.storage = storage

    async def run(self, now: datetime) -> int:
        """Queue every digest that is due; returns how many were queued."""
        queued = 0
        for dest in await self.storage.held_destinations():
            slot = flush_slot(dest.controls, now)
            if slot is None:
                continue
            held = await self.storage.held_alerts(dest.id, slot)
            if not held:
                continue
            ids = [h.id for h in held]
            if not as_digest(dest.controls, [h.reason for h in held]):
                await self.storage.release_held(ids, now)
                continue
            digest = build_digest([h.alert for h in held], destination=display_address(
                dest.address), slot=slot, label=period_label(dest.controls),
                mention=dest.controls.mention)
            if await self.storage.queue_digest(dest.id, digest, ids, now):
                queued += 1
                log.info("digest of %d alert(s) queued for %s", len(held),
                         display_address(dest.address))
        return queued
