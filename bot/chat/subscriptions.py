"""`list`, `subscribe`, `unsubscribe`: which watched companies and topics this channel gets."""

from __future__ import annotations

from bot.chat.base import Ctx, bullet, did_you_mean, find_company, find_topic, short
from bot.chat.parsed import Subscribe
from bot.chat.types import Reply
from bot.domain.alert import Destination, Subscription
from bot.domain.errors import CommandError
from bot.domain.story import describe_followups
from bot.domain.watchlist import Watchlist, name_key
from bot.storage.records import DestinationStatus

ANY_COMPANY = ("*", "any", "any company", "all")


async def channel(ctx: Ctx) -> Destination:
    dest_id = await ctx.destination_id()
    dests = await ctx.storage.destinations(ctx.tenant, active_only=False)
    return next(d for d in dests if d.id == dest_id)


def _watched(sub: Subscription, watchlist: Watchlist) -> bool:
    company_ok = sub.company in (None, "*") or watchlist.company(sub.company) is not None
    topic_ok = sub.topic is None or watchlist.topic(sub.topic) is not None
    return company_ok and topic_ok


async def list_subscriptions(ctx: Ctx) -> Reply:
    dest = await channel(ctx)
    controls = "This channel's controls:\n" + bullet([
        *dest.controls.describe(ctx.now), describe_followups(await ctx.storage.followups(dest.id))],
        31)
    if not dest.subscriptions:
        return Reply("This channel has no subscriptions yet. Try /news subscribe company NAME "
                     "or /news subscribe topic TOPIC (see /news help).\n" + controls)
    watchlist = await ctx.storage.watchlist(ctx.tenant)
    lines = [s.label() + ("" if _watched(s, watchlist) else " (no longer watched)")
             for s in dest.subscriptions]
    text = f"This channel's subscriptions ({len(lines)}):\n{bullet(lines, 50)}"
    status = await ctx.storage.destination_status(dest.id)
    return Reply("\n".join([text, controls, *delivery_state(status)]))


def delivery_state(status: DestinationStatus) -> list[str]:
    """Lines saying why this channel's alerts are not going out, if they are not."""
    held = status.counts.get("pending", 0)
    lines = []
    if not status.active:
        lines.append(f"Alerts to this channel are stopped: "
                     f"{status.stopped_reason or 'no reason recorded'}. {held} alert(s) are held; "
                     "once the cause is fixed an admin can /news resume here to post them.")
    elif status.waiting_reason:
        lines.append(f"Alerts to this channel are {status.waiting_reason}; {held} alert(s) "
                     "are held and go out when newsbot starts with it.")
    if digest := status.counts.get("held", 0):
        lines.append(f"{digest} alert(s) wait for this channel's next digest.")
    if expired := status.counts.get("expired", 0):
        lines.append(f"{expired} alert(s) expired before they could be posted (/news why URL "
                     "tells why).")
    return lines


def resolve(cmd: Subscribe, watchlist: Watchlist) -> Subscription:
    """The subscription the user means, with canonical names; did-you-mean for unknown names."""
    if cmd.name is not None:
        key = name_key(cmd.name)
        for c in watchlist.companies:
            if name_key(c.name) == key:
                return Subscription(company=c.name)
        for t in watchlist.topics:
            if name_key(t.name) == key:
                return Subscription(topic=t.name)
        names = [c.name for c in watchlist.companies] + [t.name for t in watchlist.topics]
        raise did_you_mean(cmd.name, names, "company or topic")
    company = None
    if cmd.company is not None:
        if cmd.company.casefold() in ANY_COMPANY and watchlist.company(cmd.company) is None:
            company = "*"
        else:
            company = find_company(watchlist, cmd.company).name
    topic = find_topic(watchlist, cmd.topic).name if cmd.topic is not None else None
    return Subscription(company=company, topic=topic)


def _same(a: Subscription, b: Subscription) -> bool:
    return (name_key(a.company or "") == name_key(b.company or "")
            and name_key(a.topic or "") == name_key(b.topic or ""))


def _actor(ctx: Ctx) -> str:
    return ctx.inv.user_name or ctx.inv.user


async def subscribe(ctx: Ctx, cmd: Subscribe) -> Reply:
    if cmd.remove:
        return await unsubscribe(ctx, cmd)
    sub = resolve(cmd, await ctx.storage.watchlist(ctx.tenant))
    dest = await channel(ctx)
    if any(_same(s, sub) for s in dest.subscriptions):
        return Reply(f"This channel is already subscribed to {sub.label()}.")
    if len(dest.subscriptions) >= ctx.limits.max_subscriptions:
        raise CommandError(f"This channel already has {len(dest.subscriptions)} subscriptions, "
                           f"the limit; unsubscribe from one first.")
    await ctx.storage.add_subscription(dest.id, sub, ctx.now)
    text = f"{_actor(ctx)} subscribed this channel to {sub.label()}."
    if not dest.active:  # a command from the channel shows it works again: resume its alerts
        await ctx.storage.resume_destination(dest.id)
        text += " Alerts to this channel were stopped and are resumed."
    return Reply(text, ephemeral=False)


def existing_subscription(cmd: Subscribe, subs: tuple[Subscription, ...]) -> Subscription | None:
    """The channel's subscription the user names (even if no longer in the watchlist)."""
    for s in subs:
        if cmd.name is not None:
            if name_key(cmd.name) in {name_key(s.company or ""), name_key(s.topic or "")} and (
                    s.company is None or s.topic is None):
                return s
            continue
        company = "*" if (cmd.company or "").casefold() in ANY_COMPANY else cmd.company
        if (name_key(company or "") == name_key(s.company or "")
                and name_key(cmd.topic or "") == name_key(s.topic or "")):
            return s
    return None


async def unsubscribe(ctx: Ctx, cmd: Subscribe) -> Reply:
    dest = await channel(ctx)
    sub = existing_subscription(cmd, dest.subscriptions)
    if sub is None:
        asked = cmd.name or " + ".join(x for x in (cmd.company, cmd.topic) if x)
        have = ", ".join(s.label() for s in dest.subscriptions[:10]) or "none"
        raise CommandError(f"This channel is not subscribed to {short(asked)}. "
                           f"Its subscriptions: {have}.")
    await ctx.storage.remove_subscription(dest.id, sub)
    return Reply(f"{_actor(ctx)} unsubscribed this channel from {sub.label()}.", ephemeral=False)


async def resume(ctx: Ctx) -> Reply:
    """Admins: deliver to this channel again; its held alerts go out first, oldest first."""
    dest = await channel(ctx)
    status = await ctx.storage.destination_status(dest.id)
    held = status.counts.get("pending", 0)
    if status.active:
        return Reply("Alerts to this channel are not stopped"
                     + (f" (they are {status.waiting_reason})" if status.waiting_reason else "")
                     + f"; {held} alert(s) queued.")
    await ctx.storage.resume_destination(dest.id)
    await ctx.storage.audit(ctx.tenant, ctx.inv.user, "destination.resume", dest.address,
                            before={"active": False, "reason": status.stopped_reason},
                            after={"active": True}, now=ctx.now)
    return Reply(f"{_actor(ctx)} resumed alerts to this channel (stopped: "
                 f"{status.stopped_reason or 'no reason recorded'}). {held} held alert(s) will "
                 "be posted, oldest first; any past the age limit are marked expired instead.",
                 ephemeral=False)
