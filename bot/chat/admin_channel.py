"""Admins: `admin-channel` (where this workspace's admin notices are posted) and `status` (that
channel and the latest notices: a feed failing, a channel stopped, a watchlist rejected)."""

from __future__ import annotations

from bot.chat.base import Ctx, bullet, when
from bot.chat.parsed import AdminChannel
from bot.chat.types import Reply

NOTICES_SHOWN = 10


async def admin_channel(ctx: Ctx, cmd: AdminChannel) -> Reply:
    before = await ctx.storage.admin_channel(ctx.tenant)
    dest_id = None if cmd.off else await ctx.destination_id()
    await ctx.storage.set_admin_channel(ctx.tenant, dest_id, ctx.now)
    await ctx.storage.audit(ctx.tenant, ctx.inv.user, "admin_channel.set", ctx.inv.destination,
                            before={"destination_id": before},
                            after={"destination_id": dest_id}, now=ctx.now)
    if cmd.off:
        return Reply("Admin notices are no longer posted in chat (/news status lists them).")
    return Reply("Admin notices (a feed failing, a channel stopped, a watchlist rejected) are "
                 "now posted in this channel, once each.", ephemeral=False)


async def status(ctx: Ctx) -> Reply:
    admin = await ctx.storage.admin_channel(ctx.tenant)
    where = "not set (set it with /news admin-channel in the channel you want)"
    if admin is not None:
        dests = await ctx.storage.destinations(ctx.tenant, active_only=False)
        found = next((d for d in dests if d.id == admin), None)
        where = found.target if found is not None else f"destination {admin}"
        if found is not None and found.address == ctx.inv.destination:
            where += " (this channel)"
    notices = await ctx.storage.notices(ctx.tenant, NOTICES_SHOWN)
    lines = [f"Admin channel: {where}."]
    if notices:
        lines.append(f"Latest admin notices ({len(notices)}):")
        lines.append(bullet([f"{when(n.created_at, ctx.now)}: {n.text}" for n in notices]))
    else:
        lines.append("No admin notices yet.")
    return Reply("\n".join(lines))
