"""Admin notices: set the admin channel from chat (both platforms), a failing feed and a stopped
channel are posted there once, through the outbox, across a restart, and listed by /news status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from commands_helpers import T_A, T_B, User, make_service
from test_chat_why_preview import FEED

from bot.jobs.notices import Notices
from bot.pipeline.controls import admit
from bot.storage import open_storage


@pytest.fixture
def service(storage, clock):
    return make_service(storage, clock)


@pytest.mark.parametrize("tenant", [T_A, T_B])
async def test_admin_channel_is_admin_only_audited_and_shown_by_status(service, storage,
                                                                       tenant) -> None:
    assert not (await User(service, tenant, "C9")("admin-channel")).ok
    assert not (await User(service, tenant, "C9")("status")).ok
    admin = User(service, tenant, "C9", admin=True)
    assert "not set" in (await admin("status")).text
    reply = await admin("admin-channel")
    assert reply.ok and not reply.ephemeral
    assert "Admin channel: C9 (this channel)." in (await admin("status")).text
    assert "Admin channel: C9." in (await User(service, tenant, "C1", admin=True)("status")).text
    assert [e.action for e in await storage.audit_entries(tenant)] == ["admin_channel.set"]
    assert (await admin("admin-channel off")).ok
    assert "not set" in (await admin("status")).text


async def claim_all(storage, now, platform="slack"):
    batches = await storage.claim_destinations(now, owner="w", lease=timedelta(seconds=45),
                                               platforms=[platform], admit=admit)
    for b in batches:
        await storage.release_destination(b.destination_id, "w")
    return [(b.address, d.alert) for b in batches for d in b.deliveries]


async def test_a_failing_feed_is_noticed_once_across_a_restart(service, storage, db_url,
                                                               clock) -> None:
    admin = User(service, admin=True, channel="C9")
    assert (await admin("admin-channel")).ok
    assert (await admin("feeds add " + FEED)).ok
    (feed,) = await storage.feed_follows(T_A)
    notices = Notices(storage)
    for _ in range(3):
        clock.advance(hours=1, minutes=50)
        await storage.record_failure(feed.id, clock.now, "FetchError: HTTP 500", clock.now)
        assert await notices.run(clock.now) == 0  # under 6 hours
    clock.advance(hours=1, minutes=30)
    await storage.record_failure(feed.id, clock.now, "FetchError: HTTP 500", clock.now)
    assert await notices.run(clock.now) == 1
    assert await notices.run(clock.now) == 0
    url, connect_args = db_url
    again = await open_storage(url, connect_args=connect_args)
    try:
        assert await Notices(again).run(clock.now + timedelta(minutes=1)) == 0
        ((address, alert),) = await claim_all(again, clock.now)
    finally:
        await again.dispose()
    assert address == "slack:C9" and alert.title == f"Feed failing for 7 h: {FEED}"
    assert "4 failed poll(s) in a row; last error: FetchError: HTTP 500" in alert.summary
    assert f"Feed failing for 7 h: {FEED}" in (await admin("status")).text


async def test_a_stopped_channel_is_noticed_once_even_without_an_admin_channel(
        service, storage, clock) -> None:
    user = User(service, T_B, "C5")
    await user("subscribe company Nvidia")
    (dest,) = await storage.destinations(T_B)
    notices = Notices(storage)
    assert await notices.destination_stopped(dest.id, dest.address, "Missing Access", clock.now)
    assert not await notices.destination_stopped(dest.id, dest.address, "Missing Access",
                                                 clock.now)
    assert await claim_all(storage, clock.now, "discord") == []  # no admin channel: listed only
    status = (await User(service, T_B, "C5", admin=True)("status")).text
    assert "Alerts to discord:C5 are stopped" in status
