"""The operator's config/ -> the local tenant in storage, and the defaults new tenants start from.

config/ is the source of truth for the local tenant: on every start its watchlist, feed follows
and destinations are made to match the files (follows and destinations no longer listed are
removed; their history stays). Only what changed is written: an unchanged watchlist keeps its
revision (so every worker keeps its compiled matcher), and feeds and follows are compared and
written in one transaction each, whatever their number.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.config.operator import LOCAL_TENANT, OperatorConfig
from bot.storage import ConfigSyncStorage


async def sync_operator_config(storage: ConfigSyncStorage, config: OperatorConfig, now: datetime,
                               *, tenant: str = LOCAL_TENANT) -> None:
    await storage.ensure_tenant(tenant, now, name="operator")
    await storage.sync_watchlist(tenant, config.watchlist, now)  # (kept: the poller reads it)
    ids = await storage.ensure_feeds(config.feeds, now)
    await storage.follow_feeds(tenant, [(ids[s.url], s.title, s.backfill) for s in config.feeds],
                               source="config", now=now)
    await storage.unfollow_all_except(tenant, set(ids.values()))
    for spec in config.destinations:
        dest_id = await storage.ensure_destination(tenant, spec.address, now)
        await storage.resume_destination(dest_id)  # a restart is the operator's "try again"
        await storage.set_subscriptions(dest_id, spec.subscriptions, now)
        mutes = (await storage.controls(dest_id)).active_mutes(now)  # (chat-only, temporary)
        await storage.set_controls(dest_id, replace(spec.controls, mutes=mutes), now)
        await storage.set_followups(dest_id, spec.followups)
    await storage.remove_destinations_except(tenant, {d.address for d in config.destinations})
