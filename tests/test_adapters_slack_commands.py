"""Each /news command through the real bolt app and the real CommandService on real storage.

Signed slash-command requests go through ``async_dispatch``; Slack's side (auth.test, users.info)
is the fake Web API on loopback. What a user sees is the ack's JSON.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fakes.fake_slack import TEAM, FakeSlack
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from test_adapters_slack_app import SECRET, command_body, dispatch, sign

from bot.adapters.slack.app import build_slack_app
from bot.chat.service import CommandService
from bot.config.settings import Settings
from bot.domain.watchlist import Company, Topic, Watchlist

DEFAULTS = Watchlist(companies=(Company("Nvidia", aliases=("NVDA",)), Company("Mistral AI")),
                     topics=(Topic("Funding", ("invest*", "funding round")),))


async def vetter(url: str) -> str:
    """Stands in for DNS: every example.com host is public."""
    return url


@pytest.fixture
def fake(slack: FakeSlack) -> FakeSlack:
    slack.add_user("UADMIN", is_admin=True)
    slack.add_user("UPLAIN")
    return slack


@pytest.fixture
def app(storage, clock, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> AsyncApp:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    service = CommandService(storage, defaults=DEFAULTS, clock=clock, url_vetter=vetter)
    client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
    return build_slack_app(Settings(), service, client=client)


async def news(app: AsyncApp, text: str, user: str = "UPLAIN") -> dict[str, Any]:
    body = command_body(text, user=user)
    resp = await dispatch(app, body, sign(body))
    assert resp.status == 200
    answer = json.loads(resp.body)
    answer["shown"] = "\n".join(b["text"]["text"] for b in answer["blocks"]
                                if b["type"] == "section")
    return answer


async def test_help_lists_the_commands_privately(app: AsyncApp) -> None:
    answer = await news(app, "help")
    assert answer["response_type"] == "ephemeral"
    for word in ("subscribe", "preview", "why", "watch add", "feeds add"):
        assert word in answer["shown"]


async def test_subscribe_list_unsubscribe(app: AsyncApp, storage) -> None:  # type: ignore[no-untyped-def]
    subscribed = await news(app, "subscribe company nvidia topic Funding")
    assert subscribed["response_type"] == "in_channel"
    assert "Nvidia" in subscribed["shown"]
    assert (await news(app, "subscribe topic Funding"))["response_type"] == "in_channel"
    listed = await news(app, "list")
    assert listed["response_type"] == "ephemeral"
    assert "Nvidia" in listed["shown"] and "Funding" in listed["shown"]
    (dest,) = await storage.destinations(f"slack:{TEAM}")
    assert dest.address == "slack:C123" and len(dest.subscriptions) == 2
    gone = await news(app, "unsubscribe topic Funding")
    assert gone["response_type"] == "in_channel"
    (dest,) = await storage.destinations(f"slack:{TEAM}")
    assert len(dest.subscriptions) == 1


async def test_unknown_names_get_did_you_mean(app: AsyncApp) -> None:
    answer = await news(app, "subscribe company Nvdia")
    assert answer["response_type"] == "ephemeral" and "Nvidia" in answer["shown"]


async def test_preview_shows_the_alert_as_it_would_be_posted(app: AsyncApp) -> None:
    answer = await news(app, "preview Nvidia will invest $2bn in a new plant, it said on Monday.")
    assert answer["response_type"] == "ephemeral" and "Nvidia" in answer["shown"]
    types = [b["type"] for b in answer["blocks"]]
    assert types[:4] == ["section", "divider", "header", "section"]  # reply, then the alert
    assert "context" in types


async def test_why_explains_an_unknown_article(app: AsyncApp) -> None:
    answer = await news(app, "why https://news.example.com/never-seen")
    assert answer["response_type"] == "ephemeral" and answer["shown"]


async def test_admin_commands_work_for_admins_and_are_refused_for_others(
        app: AsyncApp, fake: FakeSlack, storage) -> None:  # type: ignore[no-untyped-def]
    refused = await news(app, "watch add company Airbus", user="UPLAIN")
    assert "admin" in refused["shown"].lower()
    listed = await news(app, "watch list", user="UPLAIN")
    assert "Airbus" not in listed["shown"]

    added = await news(app, "watch add company Airbus aliases Airbus SE", user="UADMIN")
    assert "Airbus" in added["shown"]
    assert "Airbus" in (await news(app, "watch list", user="UADMIN"))["shown"]
    assert (await news(app, "subscribe company Airbus"))["response_type"] == "in_channel"
    await news(app, "watch remove company Airbus", user="UADMIN")
    assert "Airbus" not in (await news(app, "watch list", user="UADMIN"))["shown"]


async def test_feeds_add_list_remove_for_admins(app: AsyncApp) -> None:
    url = "https://news.example.com/feed.xml"
    refused = await news(app, f"feeds add {url}", user="UPLAIN")
    assert "admin" in refused["shown"].lower()
    added = await news(app, f"feeds add <{url}> every 30 min", user="UADMIN")  # Slack's link form
    assert "news.example.com" in added["shown"]
    assert "news.example.com" in (await news(app, "feeds list", user="UADMIN"))["shown"]
    await news(app, f"feeds remove {url}", user="UADMIN")
    assert "news.example.com/feed.xml" not in (await news(app, "feeds list",
                                                          user="UADMIN"))["shown"]


async def test_bad_input_gets_a_short_answer(app: AsyncApp) -> None:
    answer = await news(app, "frobnicate everything")
    assert answer["response_type"] == "ephemeral" and 0 < len(answer["shown"]) < 1000
