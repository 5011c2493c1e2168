"""Slack rendering: Block Kit valid for slack_sdk, inert feed text, only http(s) links."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sample_alert import make_alert as sample_alert
from slack_sdk.models.blocks import Block

from bot.domain.alert import Alert, Match
from bot.render.escape import safe_link, slack_escape
from bot.render.slack_blocks import payload_size, render_slack

HOSTILE = (
    "<!channel> <!here> <!everyone> <@U12345> <#C12345> <!subteam^S123> "
    "<https://evil.example|click> @channel @everyone & AT&amp;T 1 < 2 > 0"
)
OUR_DATE = re.compile(r"<!date\^\d+\^\{date_short_pretty\} \{time\}\|[^<>|]*>")


def make_alert(**changes: Any) -> Alert:
    return sample_alert(destination='slack:C1', **changes)


# --- independent checks, shared with the corpora test --------------------------------------------
def _strings(value: Any) -> list[tuple[str, str]]:
    """Every (key, string) in a nested payload."""
    out: list[tuple[str, str]] = []
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        key, item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.items())
        elif isinstance(item, list):
            stack.extend((key, v) for v in item)
        elif isinstance(item, str):
            out.append((key, item))
    return out


def assert_slack_ok(payload: dict[str, Any]) -> None:
    """Valid for slack_sdk, inside every limit, no live mention or link, only http(s) URLs."""
    assert set(payload) == {"text", "blocks", "unfurl_links", "unfurl_media"}
    assert payload["unfurl_links"] is False and payload["unfurl_media"] is False
    assert 0 < len(payload["text"]) <= 3000
    blocks = payload["blocks"]
    assert 0 < len(blocks) <= 50
    for block in blocks:
        model = Block.parse(block)
        assert model is not None
        model.validate_json()  # raises SlackObjectFormationError when invalid
        assert model.to_dict() == block  # nothing dropped or added by the round trip
    by_type = {b["type"]: b for b in blocks}
    assert 0 < len(by_type["header"]["text"]["text"]) <= 150
    assert 0 < len(by_type["section"]["text"]["text"]) <= 3000
    context = by_type["context"]["elements"]
    assert len(context) <= 10 and all(0 < len(e["text"]) <= 3000 for e in context)
    assert payload_size(payload) < 8000
    assert len(json.dumps(payload, ensure_ascii=False)) < 12_000
    for key, text in _strings(payload):
        if key == "url":
            assert text.startswith(("https://", "http://")) and safe_link(text) == text
            continue
        visible = OUR_DATE.sub("", text)
        assert "<" not in visible and ">" not in visible, text  # no <!..>, <@..>, <#..>, <url|x>
        assert re.search(r"&(?!amp;|lt;|gt;)", visible) is None, text  # every & is an escape
    for b in blocks:
        for obj in [b.get("text"), *b.get("elements", [])]:
            if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
                assert obj.get("verbatim") is True  # no auto-linking of @channel or #names


def _block(payload: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(b for b in payload["blocks"] if b["type"] == kind)


def _context_text(payload: dict[str, Any]) -> str:
    return "\n".join(e["text"] for e in _block(payload, "context")["elements"])


# --- escaping -------------------------------------------------------------------------------------
def test_slack_escape_only_touches_amp_lt_gt() -> None:
    assert slack_escape("<!channel> & *bold* _it_") == "&lt;!channel&gt; &amp; *bold* _it_"
    assert slack_escape("AT&amp;T") == "AT&amp;amp;T"  # a literal "&amp;" in a feed stays literal


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "file:///etc/passwd", "data:text/html,x", "ftp://example.com/x",
    "//example.com/x", "/relative", "https://", "https://exa mple.com", "https://e.com/\x07",
    "https://user:pw@example.com/", "https://example.com:99999/", "", None,
])
def test_safe_link_rejects_non_http(url: str | None) -> None:
    assert safe_link(url) is None


def test_safe_link_keeps_http_and_quotes_what_urls_cannot_hold() -> None:
    assert safe_link("https://example.com/a?b=1&c=2#x") == "https://example.com/a?b=1&c=2#x"
    assert safe_link("HTTP://Example.COM/Path") == "http://example.com/Path"
    assert safe_link("https://example.com/a|b>c<d") == "https://example.com/a%7Cb%3Ec%3Cd"
    assert safe_link("https://bücher.example/ä") == "https://xn--bcher-kva.example/%C3%A4"


# --- the message ----------------------------------------------------------------------------------
def test_ordinary_alert_has_header_summary_context_and_button() -> None:
    payload = render_slack(make_alert())
    assert_slack_ok(payload)
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "context", "actions"]
    assert _block(payload, "header")["text"]["text"] == "Nvidia raises $2bn in new funding round"
    assert _block(payload, "section")["text"]["text"].startswith("Nvidia said on Wednesday")
    context = _context_text(payload)
    assert "Example Business News" in context
    assert "<!date^1714566600^{date_short_pretty} {time}|2024-05-01 12:30 UTC>" in context
    assert "*Companies:* Nvidia" in context and "*Topics:* Funding" in context
    assert "why: *Nvidia* raises $2bn" in context
    button = _block(payload, "actions")["elements"][0]
    assert button["url"] == "https://news.example.com/nvidia-raises"
    assert "Nvidia raises $2bn" in payload["text"]


def test_time_is_shown_in_utc_fallback_whatever_the_input_zone() -> None:
    paris = datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    assert "|2024-05-01 12:30 UTC>" in _context_text(render_slack(make_alert(published=paris)))
    assert "<!date" not in _context_text(render_slack(make_alert(published=None)))


def test_mentions_and_links_in_every_field_stay_inert() -> None:
    alert = make_alert(
        title=HOSTILE, summary=HOSTILE, feed=HOSTILE, companies=(HOSTILE,), topics=(HOSTILE,),
        evidence=(Match("company", HOSTILE, "everyone", "text", 0, 5, HOSTILE),),
        url="https://example.com/<!channel>",
    )
    payload = render_slack(alert)
    assert_slack_ok(payload)
    assert "&lt;!channel&gt;" in _block(payload, "header")["text"]["text"]
    assert "&lt;https://evil.example|click&gt;" in _block(payload, "section")["text"]["text"]
    assert _block(payload, "actions")["elements"][0]["url"] == "https://example.com/%3C!channel%3E"


def test_link_label_syntax_in_title_is_not_a_link() -> None:
    payload = render_slack(make_alert(title="<https://evil|click> now"))
    assert_slack_ok(payload)
    assert _block(payload, "header")["text"]["text"] == "&lt;https://evil|click&gt; now"


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "file:///etc/passwd", None])
def test_no_button_without_a_safe_link(url: str | None) -> None:
    payload = render_slack(make_alert(url=url))
    assert_slack_ok(payload)
    assert all(b["type"] != "actions" for b in payload["blocks"])
    assert "javascript" not in json.dumps(payload) and "file:" not in json.dumps(payload)


def test_title_of_500_emoji_fits_the_header_without_splitting_one() -> None:
    emoji = "👩🏽‍🚀"  # woman astronaut, medium skin tone: one grapheme, four code points
    payload = render_slack(make_alert(title=emoji * 500))
    assert_slack_ok(payload)
    header = _block(payload, "header")["text"]["text"]
    assert header.endswith("…")
    assert header[:-1] == emoji * (len(header[:-1]) // len(emoji))


def test_summary_of_20000_chars_is_cut_at_a_word_inside_the_section() -> None:
    words = " ".join(f"word{i}" for i in range(3000))  # ~23,000 characters
    payload = render_slack(make_alert(summary=words))
    assert_slack_ok(payload)
    section = _block(payload, "section")["text"]["text"]
    assert 2900 < len(section) <= 3000 and section.endswith("…")
    assert section[:-1].split()[-1] in words.split()  # the last word is whole


def test_escaping_expansion_still_fits() -> None:
    payload = render_slack(make_alert(title="&" * 400, summary="<" * 20_000, feed=">" * 5000))
    assert_slack_ok(payload)
    assert _block(payload, "section")["text"]["text"].startswith("&lt;&lt;")


def test_300_companies_collapse_to_a_count() -> None:
    companies = tuple(f"Company {i}" for i in range(300))
    payload = render_slack(make_alert(companies=companies, topics=("Funding",) * 50))
    assert_slack_ok(payload)
    context = _context_text(payload)
    assert "Company 0, Company 1" in context
    assert re.search(r"\+\d+ more", context)


def test_why_bolds_the_matched_term_in_a_long_sentence() -> None:
    sentence = ("filler " * 2000) + "and then Nestlé agreed to buy the firm " + ("tail " * 2000)
    match = Match("company", "Nestlé", "nestle", "text", 0, 0, sentence)
    payload = render_slack(make_alert(evidence=(match,)))
    assert_slack_ok(payload)
    elements = _block(payload, "context")["elements"]
    why = next(e["text"] for e in elements if e["text"].startswith("why"))
    assert "*Nestlé*" in why and why.startswith("why: …") and why.endswith("…")
    assert len(why) <= 1010


def test_empty_title_and_summary_still_render() -> None:
    payload = render_slack(make_alert(title="  ", summary="", evidence=(), feed="", companies=()))
    assert_slack_ok(payload)
    assert _block(payload, "header")["text"]["text"] == "(untitled)"


def test_control_and_bidi_override_characters_are_dropped() -> None:
    payload = render_slack(make_alert(title="safe\u202etxt.exe\x00\x1b[31m title"))
    assert_slack_ok(payload)
    assert _block(payload, "header")["text"]["text"] == "safetxt.exe[31m title"
