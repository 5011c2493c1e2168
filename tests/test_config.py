"""The operator's config/: every mistake is named, nothing is half-loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.operator import load_config
from bot.domain.alert import Subscription
from bot.domain.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
WATCHLIST = "companies:\n  - name: Nvidia\ntopics:\n  - name: Funding\n    keywords: [raises]\n"


def write(tmp_path: Path, feeds: str = "", channels: str = "", watchlist: str = WATCHLIST) -> Path:
    (tmp_path / "feeds.yaml").write_text(feeds)
    (tmp_path / "channels.yaml").write_text(channels)
    (tmp_path / "watchlist.yaml").write_text(watchlist)
    return tmp_path


def test_the_shipped_config_loads() -> None:
    config = load_config(REPO / "config")
    assert config.feeds and config.watchlist.companies and config.destinations
    assert all(f.url.startswith("file://") for f in config.feeds)


def test_paths_resolve_against_the_config_folder_and_defaults_apply(tmp_path) -> None:
    cfg = write(tmp_path, "defaults: {interval_minutes: 7}\nfeeds:\n  - path: sub/a.rss\n"
                          "  - url: https://example.com/f.xml\n    backfill: 2\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.rss").write_text("<rss/>")  # (a path to no file is refused)
    a, b = load_config(cfg).feeds
    assert a.url == (tmp_path / "sub" / "a.rss").resolve().as_uri() and a.interval_minutes == 7
    assert b.url == "https://example.com/f.xml" and b.backfill == 2


def test_subscriptions_of_every_kind(tmp_path) -> None:
    cfg = write(tmp_path, channels="destinations:\n  - to: jsonl:out.jsonl\n"
                "    companies: ['*']\n    topics: [Funding]\n"
                "    company_and_topic: [{company: Nvidia, topic: Funding}]\n")
    (dest,) = load_config(cfg).destinations
    assert dest.subscriptions == (Subscription(company="*"), Subscription(topic="Funding"),
                                  Subscription(company="Nvidia", topic="Funding"))


@pytest.mark.parametrize(("feeds", "channels", "message"), [
    ("feeds:\n  - url: ftp://x.example.com/\n", "", "feeds.yaml: feed #1: 'url' must start"),
    ("feeds:\n  - title: no source\n", "", "feed #1: needs 'url' or 'path'"),
    ("feeds:\n  - url: https://a.example.com/\n    path: x\n", "", "either 'url' or 'path'"),
    ("feeds:\n  - url: https://a.example.com/\n    interval_minutes: 0\n", "",
     "'interval_minutes' must be a whole number from 1 to 10080"),
    ("feeds:\n  - url: https://a.example.com/\n    colour: red\n", "",
     "unknown key 'colour' (allowed: url, path, title, interval_minutes, backfill)"),
    ("feeds:\n  - url: https://a.example.com/\n  - url: https://a.example.com/\n", "",
     "feed listed twice"),
    ("feeds: [unclosed\n", "", "feeds.yaml: not valid YAML"),
    ("", "destinations:\n  - to: telegram:1\n",
     "destination #1: unknown destination kind in 'telegram:1'"),
    ("", "destinations:\n  - to: slack\n", "slack needs a target"),
    ("", "destinations:\n  - to: console\n    companies: [Nvidai]\n",
     "company 'Nvidai' is not in the watchlist"),
    ("", "destinations:\n  - to: console\n    topics: [Gossip]\n", "topic 'Gossip'"),
    ("", "destinations:\n  - to: console\n    company_and_topic: [{company: Nvidia}]\n",
     "need 'company' and 'topic'"),
])
def test_mistakes_are_named(tmp_path, feeds, channels, message) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, feeds, channels))
    assert message in str(err.value)


def test_missing_config_folder(tmp_path) -> None:
    with pytest.raises(ConfigError, match="config folder not found"):
        load_config(tmp_path / "nope")


def test_secrets_in_destinations_come_from_the_environment(tmp_path) -> None:
    cfg = write(tmp_path, channels="destinations:\n  - to: discord-webhook:${HOOK}\n"
                "    companies: ['*']\n")
    url = "https://discord.com/api/webhooks/123/s3cret"
    (dest,) = load_config(cfg, env={"HOOK": url}).destinations
    assert dest.address == f"discord-webhook:{url}"
    with pytest.raises(ConfigError, match="environment variable HOOK is not set"):
        load_config(cfg, env={})


def test_webhook_tokens_are_masked_wherever_addresses_are_shown() -> None:
    from bot.domain.alert import display_address

    shown = display_address("discord-webhook:https://discord.com/api/webhooks/123/s3cret")
    assert "s3cret" not in shown and "123" in shown
    assert display_address("slack:C123") == "slack:C123"
