"""The digest message and the opt-in mention on both platforms: within every limit, "+N more"
for what does not fit, nothing from feed text can ping anyone, the channel's one mention can."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sample_alert import make_alert
from slack_sdk.models.blocks import Block

from bot.domain.alert import Alert
from bot.pipeline.digest import build_digest
from bot.render.discord_embed import embed_length, render_discord
from bot.render.slack_blocks import payload_size, render_slack

SLOT = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def story(i: int, company: str, title_len: int = 60) -> Alert:
    title = (f"{company} story {i} @everyone <@&1> <!channel> " + "x" * title_len)[:title_len + 40]
    return Alert(destination="slack:C1", feed=f"Feed {i % 3}", url=f"https://n.example/{i}",
                 title=title, published=SLOT, companies=(company,), topics=(),
                 summary="s" * 500, story=f"story-{i}")


def digest(n: int, *, title_len: int = 60, mention: str | None = None) -> Alert:
    alerts = [story(i, ("Nvidia", "Airbus", "Mistral AI")[i % 3], title_len) for i in range(n)]
    return build_digest(alerts, destination="slack:C1", slot=SLOT, label="daily 08:00 UTC",
                        mention=mention)


def shown_stories(text: str) -> int:
    return text.count("• ")


def test_a_small_digest_groups_every_story_by_company() -> None:
    d = digest(6)
    slack = render_slack(d)
    text = json.dumps(slack, ensure_ascii=False)
    assert slack["blocks"][0]["text"]["text"] == "News digest: 6 stories"
    assert shown_stories(text) == 6 and "more" not in text
    assert text.index("*Nvidia*") < text.index("*Airbus*") < text.index("*Mistral AI*")
    discord = render_discord(d)
    assert shown_stories(discord["embeds"][0]["description"]) == 6
    assert discord["allowed_mentions"] == {"parse": []}


@pytest.mark.parametrize("n", [40, 250])
def test_a_big_digest_stays_within_limits_and_says_how_many_more(n) -> None:
    d = digest(n, title_len=190)
    slack = render_slack(d)
    assert len(slack["blocks"]) <= 50 and payload_size(slack) <= 12_000
    for block in slack["blocks"]:  # what slack_sdk's models accept, Slack accepts
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
    for block in slack["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
    text = json.dumps(slack, ensure_ascii=False)
    shown = shown_stories(text)
    assert 0 < shown < n and f"+{n - shown} more stories" in text
    body = render_discord(d)
    embed = body["embeds"][0]
    assert len(embed["description"]) <= 4096 and embed_length(embed) <= 6000
    assert len(body["content"]) <= 2000
    shown = shown_stories(embed["description"])
    assert 0 < shown < n and f"+{n - shown} more stories" in embed["description"]


def test_feed_text_never_mentions_anyone() -> None:
    d = digest(3)
    slack = json.dumps(render_slack(d), ensure_ascii=False)
    assert "<!channel>" not in slack and "<@&1>" not in slack
    body = render_discord(d)
    assert "@everyone" not in body["embeds"][0]["description"]  # broken with a zero-width joiner
    assert body["allowed_mentions"] == {"parse": []}


def test_the_channels_one_mention_is_allowed_alone() -> None:
    role = render_discord(digest(2, mention="role:4242"))
    assert role["content"].startswith("<@&4242> ")
    assert role["allowed_mentions"] == {"parse": [], "roles": ["4242"]}
    group = render_slack(digest(2, mention="subteam:S0123"))
    assert group["blocks"][1]["text"]["text"] == "<!subteam^S0123>"
    alert = make_alert("discord:1")
    single = render_discord(Alert.from_json({**alert.to_json(), "mention": "role:7"}))
    assert single["content"].startswith("<@&7> ")
    assert single["allowed_mentions"] == {"parse": [], "roles": ["7"]}
    slack_single = render_slack(Alert.from_json({**alert.to_json(), "mention": "subteam:S9"}))
    assert slack_single["blocks"][0]["text"]["text"] == "<!subteam^S9>"
    assert render_discord(alert)["allowed_mentions"] == {"parse": []}


def test_a_digest_round_trips_through_the_outbox_json() -> None:
    d = digest(4, mention="role:1")
    assert Alert.from_json(json.loads(json.dumps(d.to_json()))) == d


def test_the_discord_sink_allows_exactly_the_channels_role() -> None:
    from bot.delivery.discord_sink import channel_body, webhook_body
    from bot.domain.delivery import Delivery

    alert = Alert.from_json({**make_alert("discord:1").to_json(), "mention": "role:7"})
    delivery = Delivery(id=1, destination_id=1, address="discord:1", alert=alert)
    assert channel_body(delivery)["allowed_mentions"] == {"parse": [], "roles": ["7"]}
    assert webhook_body(delivery)["allowed_mentions"] == {"parse": [], "roles": ["7"]}
    plain = Delivery(id=2, destination_id=1, address="discord:1", alert=make_alert("discord:1"))
    assert channel_body(plain)["allowed_mentions"] == {"parse": []}
