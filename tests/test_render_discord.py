"""Discord rendering: one embed inside every limit, escaped markdown, no mention can ping."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import discord
import pytest
from sample_alert import make_alert as sample_alert

from bot.domain.alert import Alert, Match
from bot.render.discord_embed import embed_length, render_discord, topic_colour
from bot.render.escape import discord_escape, safe_link

HOSTILE = (
    "@everyone @here <@123456789012345678> <@!123456789012345678> <@&123456789012345678> "
    "<#123456789012345678> [click](https://evil.example) *bold* __u__ ~~s~~ `code` ||spoiler|| "
    "<!channel> <https://evil.example|click>"
)
MASKED_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")


def make_alert(**changes: Any) -> Alert:
    return sample_alert(destination='discord:42', **changes)


# --- independent checks, shared with the corpora test --------------------------------------------
def _texts(body: dict[str, Any]) -> list[str]:
    embed = body["embeds"][0]
    out = [body["content"], embed.get("title", ""), embed.get("description", ""),
           embed.get("footer", {}).get("text", ""), embed.get("author", {}).get("name", "")]
    for f in embed.get("fields", []):
        out += [f["name"], f["value"]]
    return out


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def assert_discord_ok(body: dict[str, Any]) -> None:
    """Every Discord limit respected, nothing can ping, no live markdown link, only http(s) URLs."""
    assert set(body) == {"content", "embeds", "allowed_mentions"}
    assert body["allowed_mentions"] == {"parse": []}
    assert _u16(body["content"]) <= 2000
    assert len(body["embeds"]) == 1
    embed = body["embeds"][0]
    assert 0 < _u16(embed["title"]) <= 256
    assert _u16(embed.get("description", "")) <= 4096
    fields = embed.get("fields", [])
    assert len(fields) <= 25
    assert all(0 < _u16(f["name"]) <= 256 and 0 < _u16(f["value"]) <= 1024 for f in fields)
    assert 0 < _u16(embed["footer"]["text"]) <= 2048
    total = sum(_u16(t) for t in _texts(body)[1:])
    assert total <= 6000 and embed_length(embed) == total
    assert 0 <= embed["color"] <= 0xFFFFFF
    if "timestamp" in embed:
        assert datetime.fromisoformat(embed["timestamp"]).utcoffset() == timedelta(0)
    if "url" in embed:
        assert embed["url"].startswith(("https://", "http://"))
        assert safe_link(embed["url"]) == embed["url"]
    plain = {embed["footer"]["text"], embed.get("author", {}).get("name", "")}
    for text in _texts(body):
        assert re.search(r"@(everyone|here)", text, re.IGNORECASE) is None, text
        assert re.search(r"<[@#]", text) is None, text
        if text not in plain:  # footer and author show plain text: markdown links are inert there
            assert MASKED_LINK.search(text) is None, text
    assert discord.Embed.from_dict(embed).to_dict()["title"] == embed["title"]
    json.dumps(body, ensure_ascii=False).encode("utf-8")  # no lone surrogates


# --- escaping -------------------------------------------------------------------------------------
def test_discord_escape_markdown_and_mentions() -> None:
    assert discord_escape("*a* _b_ ~c~ `d` |e|") == r"\*a\* \_b\_ \~c\~ \`d\` \|e\|"
    assert discord_escape("[x](https://evil.example)") == r"\[x\](https://evil.example)"
    assert discord_escape("@everyone and @here") == "@\u200beveryone and @\u200bhere"
    assert discord_escape("<@123> <@&456> <#789>") == "<\u200b@123> <\u200b@&456> <\u200b#789>"
    assert discord_escape("a\\b") == "a\\\\b"


def test_discord_escape_line_start_markup() -> None:
    text = "# Big\n## Mid\n-# small\n> quote\n>>> all\n- item\n1. first\nmid # not a heading"
    assert discord_escape(text).split("\n") == [
        r"\# Big", r"\## Mid", r"\-# small", r"\> quote", r"\>>> all", r"\- item", r"1\. first",
        "mid # not a heading",
    ]


def test_discord_escape_leaves_bare_links_whole() -> None:
    text = "see https://example.com/a_b_c now"
    assert discord_escape(text) == text


# --- the message ----------------------------------------------------------------------------------
def test_ordinary_alert_renders_a_full_embed() -> None:
    body = render_discord(make_alert())
    assert_discord_ok(body)
    embed = body["embeds"][0]
    assert body["content"] == "**Nvidia** · Funding"
    assert embed["title"] == "Nvidia raises $2bn in new funding round"
    assert embed["url"] == "https://news.example.com/nvidia-raises"
    assert embed["description"].startswith("Nvidia said on Wednesday it raised $2bn.")
    assert "**Why:** **Nvidia** raises $2bn" in embed["description"]
    assert {f["name"]: f["value"] for f in embed["fields"]} == {
        "Companies": "Nvidia", "Topics": "Funding", "Matched": "Nvidia"}
    assert embed["footer"] == {"text": "Example Business News"}
    assert embed["timestamp"] == "2024-05-01T12:30:00+00:00"


def test_timestamp_is_utc_and_optional() -> None:
    paris = datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    assert render_discord(make_alert(published=paris))["embeds"][0]["timestamp"] == (
        "2024-05-01T12:30:00+00:00")
    assert "timestamp" not in render_discord(make_alert(published=None))["embeds"][0]


def test_colour_is_stable_per_topic_with_a_default() -> None:
    a = render_discord(make_alert(topics=("Funding",)))["embeds"][0]["color"]
    b = render_discord(make_alert(topics=("funding", "Partnership")))["embeds"][0]["color"]
    assert a == b == topic_colour(("Funding",))
    assert render_discord(make_alert(topics=()))["embeds"][0]["color"] == topic_colour(())
    assert len({topic_colour((t,)) for t in ("Funding", "Acquisition", "Layoffs", "IPO")}) > 1


def test_mentions_in_every_field_never_ping() -> None:
    alert = make_alert(
        title=HOSTILE, summary=HOSTILE, feed=HOSTILE, companies=(HOSTILE,), topics=(HOSTILE,),
        reasons=(HOSTILE,), evidence=(Match("company", HOSTILE, "click", "text", 0, 0, HOSTILE),),
    )
    body = render_discord(alert)
    assert_discord_ok(body)
    visible = body["embeds"][0]["title"].replace("\u200b", "").replace("\\", "")
    assert visible.startswith("@everyone @here <@123456789012345678>")  # shown, but inert


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "file:///etc/passwd",
                                 "data:text/html,hi", None])
def test_title_links_only_to_http(url: str | None) -> None:
    body = render_discord(make_alert(url=url))
    assert_discord_ok(body)
    assert "url" not in body["embeds"][0]


def test_title_of_500_emoji_is_cut_between_graphemes() -> None:
    flag = "🇺🇦"  # two regional indicators: one grapheme, two code points, four UTF-16 units
    body = render_discord(make_alert(title=flag * 500))
    assert_discord_ok(body)
    title = body["embeds"][0]["title"]
    assert title.endswith("…") and title[:-1] == flag * (len(title[:-1]) // 2)


def test_summary_of_20000_chars_and_300_companies_stay_inside_6000() -> None:
    words = " ".join(f"w{i}" for i in range(5000))
    companies = tuple(f"Company number {i}" for i in range(300))
    body = render_discord(make_alert(summary=words, companies=companies, topics=companies,
                                     reasons=companies, feed="f" * 5000, title="t " * 500))
    assert_discord_ok(body)
    embed = body["embeds"][0]
    assert embed_length(embed) <= 6000
    values = {f["name"]: f["value"] for f in embed["fields"]}
    assert re.search(r"\+\d+ more$", values["Companies"])
    assert re.search(r"\+\d+ more$", body["content"])


def test_escaping_expansion_still_fits() -> None:
    body = render_discord(make_alert(title="*" * 400, summary="_" * 20_000, feed="@everyone" * 900))
    assert_discord_ok(body)
    assert body["embeds"][0]["title"].startswith(r"\*\*")


def test_embed_length_counts_what_discord_counts() -> None:
    embed = {"title": "ab", "description": "cde", "fields": [{"name": "f", "value": "gh"}],
             "footer": {"text": "ij"}, "author": {"name": "k"}, "url": "https://x.example/long"}
    assert embed_length(embed) == 11
    assert embed_length({"title": "😀"}) == 2  # conservative: UTF-16 units


def test_lone_surrogates_and_controls_are_dropped() -> None:
    body = render_discord(make_alert(title="bad \ud800 title\x00\u202e"))
    assert_discord_ok(body)
    assert body["embeds"][0]["title"] == "bad title"
