"""Properties fuzzed with hypothesis: folding, the boilerplate cleaner, the renderers, html_to_text.

Each property runs NEWSBOT_FUZZ_EXAMPLES examples (200 by default; the nightly-style run that
found the bugs these guard used 20,000: ``NEWSBOT_FUZZ_EXAMPLES=20000 pytest
tests/test_fuzz_properties.py``). No example database is written (``database=None``).
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sample_alert import make_alert
from slack_sdk.models.blocks import Block

from bot.adapters.slack.reply import render_reply
from bot.chat.types import Reply
from bot.domain.alert import Match
from bot.pipeline.parse import parse_feed
from bot.render.discord_embed import render_discord
from bot.render.slack_blocks import render_slack
from bot.text.clean import html_to_text, strip_boilerplate
from bot.text.fold import FoldedText, fold, fold_term
from bot.text.sentences import split_sentences
from bot.text.truncate import strip_controls

FUZZ = settings(max_examples=int(os.environ.get("NEWSBOT_FUZZ_EXAMPLES", "200")), deadline=None,
                database=None, suppress_health_check=[HealthCheck.too_slow])

# text that reaches the tricky places: markup characters, controls, newlines, odd folds
TRICKY = "¼½Ŀŀŉʹẚ⑴ﷺßẞæœøİı\u0301\u00ad\u200b\ufeff\x00\x01\x0b\r\n\t []()*_~`|>#@<!&:/\\"
tricky_text = st.text(alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(TRICKY)),
                      max_size=80)
words = st.text(alphabet="abcdefghij ÉéNvidia", min_size=1, max_size=12)


# --- folding ------------------------------------------------------------------------------------
@FUZZ
@given(tricky_text)
@example("¼ Ŀx ŉ ⑴ ﷺ")
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


LATIN = "".join(chr(c) for c in range(0x20, 0x100)) + "’“”–—…čšžłßæœ"
latin_text = st.text(alphabet=st.one_of(st.sampled_from(LATIN), st.sampled_from(TRICKY)),
                     max_size=120)


@FUZZ
@given(st.one_of(tricky_text, latin_text))
@example("Straße, Œuvre, æ: Müller’s “Škoda” — naïve…")
@example("café\u0301 soft\u00adhyphen ½")
def test_every_fold_path_gives_what_the_table_gives(text: str) -> None:
    """ASCII, Latin-1, the charmap and the slow path are shortcuts to one table: each folds a
    text exactly as translating it through the full table does."""
    from bot.text.fold import _tables

    assert fold(text) == text.translate(_tables()[0])


@FUZZ
@given(tricky_text)
@example("ab ¼cd ef")
@example("xĿy z")
@example("é ŉ é")
def test_every_match_maps_back_onto_the_characters_it_came_from(text: str) -> None:
    # on single spaces, and on the folded text with its space runs (what the matcher reads first)
    for folded in (FoldedText(text), FoldedText(text, collapse=False)):
        padded = folded.padded
        spans = [(m.start(), m.end()) for m in re.finditer(r"[^ ]+", padded)]
        for i, (ps, _) in enumerate(spans):
            for _, pe in spans[i:i + 2]:  # every word, and every two neighbouring words
                start, end = folded.span(ps, pe)
                assert 0 <= start < end <= len(text)
                # the original slice folds to text containing the matched words ...
                words = " ".join(padded[ps:pe].split())
                assert f" {words} " in f" {fold_term(text[start:end])} "
                # ... and starts on a character that is part of a word, not a separator
                assert fold(text[start]).strip()
        assert folded.collapsed == FoldedText(text).padded


# --- the summary cleaner -------------------------------------------------------------------------
BOILERPLATE = ["Photo: Getty Images", "Read more", "Advertisement", "Subscribe to our newsletter",
               "By Jane Doe and John Roe", "Image copyright AFP", "Share this article"]
line = st.one_of(st.sampled_from(BOILERPLATE),
                 st.lists(words, min_size=1, max_size=6).map(" ".join),
                 st.sampled_from(["Nvidia cut 500 jobs", "at its Paris office.", "It said.", ""]))


def squash(text: str) -> str:
    return " ".join(text.split())


@FUZZ
@given(st.lists(line, min_size=1, max_size=8), st.sampled_from(["\n", "\n\n"]))
@example(["Nvidia cut 500 jobs", "Photo: Getty Images", "at its Paris office."], "\n")
def test_the_cleaner_never_splices_two_sentences_into_one(lines: list[str], sep: str) -> None:
    text = sep.join(lines)
    original = squash(text)
    for sentence in split_sentences(strip_boilerplate(text)):
        assert squash(sentence) in original


# --- renderers -----------------------------------------------------------------------------------
def alerts() -> st.SearchStrategy[Any]:
    names = st.lists(tricky_text, max_size=3).map(tuple)

    def build(title: str, summary: str, feed: str, companies: tuple[str, ...],
              topics: tuple[str, ...], sentence: str) -> Any:
        evidence = (Match("company", companies[0] if companies else "Nvidia", "nvidia", "text",
                          0, min(6, len(sentence)), sentence),) if sentence else ()
        return make_alert("x", title=title, summary=summary, feed=feed, companies=companies,
                          topics=topics, reasons=companies, evidence=evidence)

    return st.builds(build, tricky_text, tricky_text, tricky_text, names, names, tricky_text)


def texts_in(value: Any) -> list[tuple[str, str]]:
    """Every (key, string) pair inside a rendered payload."""
    if isinstance(value, dict):
        return [pair for k, v in value.items()
                for pair in ([(k, v)] if isinstance(v, str) else texts_in(v))]
    if isinstance(value, list):
        return [pair for v in value for pair in texts_in(v)]
    return []


@FUZZ
@given(alerts())
@example(make_alert("x", summary="Nvidia raised funds.\n\n\n"))
@example(make_alert("x", summary="\n\n", title="\n"))
def test_every_slack_payload_is_valid_block_kit_without_empty_text(alert: Any) -> None:
    payload = render_slack(alert)
    for block in payload["blocks"]:
        Block.parse(block).validate_json()  # slack_sdk's own model validation
    for key, value in texts_in(payload) + [("text", payload["text"])]:
        if key == "text":
            assert value.strip(), payload
    json.dumps(payload)


long_lines = st.lists(st.one_of(tricky_text, st.text(alphabet="x&<\n ", min_size=900,
                                                    max_size=3100)), max_size=6).map("\n".join)


@FUZZ
@given(long_lines, st.booleans())
@example("x" * 2999 + "\n\n", True)
@example("\n\n", False)
@example("x" * 2999 + "\n \n", True)
def test_every_slack_reply_is_valid_block_kit_without_empty_text(text: str, ok: bool) -> None:
    payload = render_reply(Reply(text, ok=ok))
    for block in payload["blocks"]:
        Block.parse(block).validate_json()
    for key, value in texts_in(payload) + [("text", payload["text"])]:
        if key == "text":
            assert value.strip(), payload


def unescaped_brackets(text: str) -> list[int]:
    """Positions of "[" or "]" not escaped by a backslash (a masked link needs both)."""
    found, i = [], 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in "[]":
            found.append(i)
        i += 1
    return found


@FUZZ
@given(alerts())
@example(make_alert("x", summary="[a](https://a.example)[b](https://evil.example)"))
@example(make_alert("x", summary="see https://a.example/x[b](https://evil.example) now"))
def test_no_markdown_link_survives_in_any_discord_field(alert: Any) -> None:
    body = render_discord(alert)
    (embed,) = body["embeds"]
    fields = [body["content"], embed["title"], embed["description"],
              *(f["value"] for f in embed.get("fields", ()))]
    for text in fields:
        assert not unescaped_brackets(text), text


# --- control characters ---------------------------------------------------------------------------
@FUZZ
@given(tricky_text)
@example("a\x00b<p>c\x00d</p>")
@example("plain\x00text")
def test_html_to_text_keeps_no_control_characters(markup: str) -> None:
    text = html_to_text(markup)
    assert strip_controls(text) == text and "\t" not in text


@FUZZ
@given(st.dictionaries(st.sampled_from(["id", "title", "content_text", "content_html", "summary",
                                        "url"]), tricky_text, min_size=1))
def test_json_feed_entries_hold_no_control_characters(item: dict[str, str]) -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "items": [item]}
    (entry,) = parse_feed(json.dumps(doc).encode()).entries
    for value in (entry.guid, entry.title, entry.text, entry.url, entry.author):
        assert value is None or strip_controls(value) == value
