"""The one ``platform:target`` address value, and the places that delegate to it."""

from __future__ import annotations

import pytest

from bot.domain import Address
from bot.domain.alert import Destination, display_address

HOOK = "https://discord.com/api/webhooks/123/s3cret"


@pytest.mark.parametrize(("text", "platform", "target"), [
    ("slack:C123", "slack", "C123"),
    ("jsonl:out/alerts.jsonl", "jsonl", "out/alerts.jsonl"),
    ("console", "console", ""),
    (" discord : 42 ", "discord", "42"),
    (f"discord-webhook:{HOOK}", "discord-webhook", HOOK),  # only the first ':' splits
])
def test_an_address_splits_at_the_first_colon(text, platform, target) -> None:
    address = Address.parse(text)
    assert (address.platform, address.target) == (platform, target)
    assert Address.parse(str(address)) == address


@pytest.mark.parametrize("hook", [
    HOOK, "https://discord.com/API/Webhooks/123/s3cret",
    "https://discordapp.com/api/v10/webhooks/123/s3cret?thread_id=9",
])
def test_webhook_tokens_never_show(hook) -> None:
    shown = Address.parse(f"discord-webhook:{hook}").display
    assert "s3cret" not in shown and "123" in shown and "/123/***" in shown
    assert display_address(f"discord-webhook:{hook}") == shown


def test_other_addresses_show_as_they_are() -> None:
    assert Address.parse("slack:C123").display == "slack:C123"
    assert display_address("console") == "console"


def test_a_destination_reads_its_platform_and_target_through_the_address() -> None:
    dest = Destination(id=1, tenant="local", address="jsonl:a:b.jsonl")
    assert (dest.platform, dest.target) == ("jsonl", "a:b.jsonl")
    assert (Destination(1, "local", "console").platform, Destination(1, "local", "console").target
            ) == ("console", "")


def test_an_address_is_a_frozen_value() -> None:
    address = Address.parse("slack:C1")
    with pytest.raises(AttributeError):
        address.target = "C2"  # type: ignore[misc]
    assert address == Address("slack", "C1") and hash(address) == hash(Address("slack", "C1"))
