"""channels.yaml sets a destination's channel controls; a restart applies them and keeps the
mutes set from chat."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_config import write

from bot.config.apply import sync_operator_config
from bot.config.operator import LOCAL_TENANT, load_config
from bot.domain.controls import Mute
from bot.domain.errors import ConfigError

CHANNELS = """\
destinations:
  - to: console
    companies: [Nvidia]
    digest: weekly mon 08:30
    timezone: Europe/Paris
    quiet_hours: 22:00-07:00
    cap: 10
    max_age: 2d
    exclude: [sponsored, "press release"]
    prominent_only: true
    mention: role:1122
"""


def test_controls_from_channels_yaml(tmp_path) -> None:
    (dest,) = load_config(write(tmp_path, "", CHANNELS)).destinations
    c = dest.controls
    assert (str(c.digest), c.timezone, str(c.quiet), c.cap) == (
        "weekly mon 08:30", "Europe/Paris", "22:00-07:00", 10)
    assert c.max_age == timedelta(days=2) and c.excludes == ("sponsored", "press release")
    assert c.prominent_only and c.mention == "role:1122"


@pytest.mark.parametrize(("line", "message"), [
    ("digest: hourly", "'digest': write the digest as 'daily HH:MM'"),
    ("timezone: Europe/Atlantis", "'timezone': unknown time zone"),
    ("cap: 0", "'cap' must be a whole number from 1 to 1000"),
    ("max_age: forever", "'max_age': write the duration"),
    ("prominent_only: sometimes", "'prominent_only' must be true or false"),
    ("mention: '@everyone'", "'mention': name one Discord role"),
    ("exclude: sponsored", "'exclude' must be a list"),
    ("quiet: 22:00-07:00", "unknown key 'quiet'"),
])
def test_mistakes_are_named(tmp_path, line, message) -> None:
    channels = f"destinations:\n  - to: console\n    companies: [Nvidia]\n    {line}\n"
    with pytest.raises(ConfigError, match="destination #1") as err:
        load_config(write(tmp_path, "", channels))
    assert message in str(err.value)


async def test_a_restart_applies_them_and_keeps_chat_mutes(storage, clock, tmp_path) -> None:
    config = load_config(write(tmp_path, "", CHANNELS))
    await sync_operator_config(storage, config, clock.now)
    (dest,) = await storage.destinations(LOCAL_TENANT)
    muted = dest.controls.with_mute(Mute("company", "Nvidia", clock.now + timedelta(days=1)),
                                    clock.now)
    await storage.set_controls(dest.id, muted, clock.now)
    await sync_operator_config(storage, config, clock.now)
    (dest,) = await storage.destinations(LOCAL_TENANT)
    assert dest.controls.cap == 10 and [m.name for m in dest.controls.mutes] == ["Nvidia"]
