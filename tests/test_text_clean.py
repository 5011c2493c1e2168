"""html_to_text and strip_boilerplate: what a reader of an alert would notice."""

from __future__ import annotations

import pytest

from bot.text.clean import html_to_text, strip_boilerplate


def test_inline_tags_keep_the_spaces_between_words() -> None:
    assert html_to_text("Shares of <b>Acme</b> <i>rose</i> 5%") == "Shares of Acme rose 5%"


def test_inline_tags_inside_a_word_do_not_split_it() -> None:
    assert html_to_text("un<em>believ</em>able") == "unbelievable"


def test_paragraphs_become_blank_line_separated() -> None:
    markup = "<p>First paragraph.</p><p>Second one.</p><div>Third</div>"
    assert html_to_text(markup) == "First paragraph.\n\nSecond one.\n\nThird"


def test_br_is_a_line_break_not_a_glue() -> None:
    assert html_to_text("line one<br>line two<br/>three") == "line one\nline two\nthree"


def test_entities_are_unescaped() -> None:
    assert html_to_text("<p>Ben &amp; Jerry&#39;s &eacute;t&eacute; &euro;5</p>") == (
        "Ben & Jerry's été €5"
    )


def test_plain_text_with_entities_takes_the_fast_path() -> None:
    assert html_to_text("AT&amp;T  buys   stuff") == "AT&T buys stuff"


def test_scripts_styles_and_comments_are_dropped() -> None:
    markup = (
        "<style>p{color:red}</style><p>Visible</p><script>alert('x')</script>"
        "<!-- hidden --><noscript>enable js</noscript><p>Also visible</p>"
    )
    assert html_to_text(markup) == "Visible\n\nAlso visible"


@pytest.mark.parametrize(
    "markup",
    ["<p>unclosed <b>bold", "a < b and c > d", "<div><p>x</div></p></span>", "<", "&", "<!--",
     "<![CDATA[ x", "<a href='x>broken</a>", "\x00<p>nul</p>", "<p>" * 500],
)
def test_broken_markup_never_raises(markup: str) -> None:
    assert isinstance(html_to_text(markup), str)


def test_unclosed_tags_keep_their_text() -> None:
    assert html_to_text("<p>unclosed <b>bold") == "unclosed bold"


def test_continue_reading_and_the_post_appeared_first_are_removed() -> None:
    text = ("Acme raised $5m.\n\nThe round was led by Foo. Continue reading…\n\n"
            "The post Acme raises $5m appeared first on Startup Daily.")
    assert strip_boilerplate(text) == "Acme raised $5m.\n\nThe round was led by Foo."


def test_read_more_share_and_subscribe_lines_are_removed() -> None:
    text = ("Share this article\n\nAcme opened a plant in Lyon.\n\nRead more\n\n"
            "Subscribe to our newsletter\n\nFollow us on Twitter")
    assert strip_boilerplate(text) == "Acme opened a plant in Lyon."


def test_bylines_and_image_credits_are_removed() -> None:
    text = ("By Jane Doe and John Roe | Reuters\n\nImage copyright Getty Images\n\n"
            "Photo: Acme press office\n\nPar Jean Dupont\n\nAcme cut 200 jobs on Monday.")
    assert strip_boilerplate(text) == "Acme cut 200 jobs on Monday."


def test_sentences_that_start_with_by_stay() -> None:
    text = "By Friday, Acme had sold 2 million units."
    assert strip_boilerplate(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(CNN)Acme said on Monday it would grow.", "Acme said on Monday it would grow."),
        ("(CNN) -- Acme said it would grow.", "Acme said it would grow."),
        ("LONDON (Reuters) - Acme shares fell 3%.", "Acme shares fell 3%."),
        ("WASHINGTON — The Senate voted.", "The Senate voted."),
        ("NASA said the probe landed.", "NASA said the probe landed."),
        ("Lyon, France (AFP)Acme opened a plant.", "Acme opened a plant."),
        ("Oslo (The Nordic Wire) -- Acme hired 40.", "Acme hired 40."),
        ("Acme (NYSE: ACM) rose.", "Acme (NYSE: ACM) rose."),
    ],
)
def test_datelines_are_removed_from_the_start_only(text: str, expected: str) -> None:
    assert strip_boilerplate(text) == expected


def test_calls_to_action_glued_into_the_story_become_a_break() -> None:
    text = ("Acme opened a plant in Lyon. Scroll down for video Workers cheer the opening "
            "The plant will employ 300 people.")
    assert strip_boilerplate(text) == (
        "Acme opened a plant in Lyon.\n\n"
        "Workers cheer the opening The plant will employ 300 people."
    )
    assert strip_boilerplate("Scroll down for more: the list") == "the list"


def test_scroll_and_click_inside_ordinary_sentences_stay() -> None:
    text = "Users scroll down for ages, and click here and there."
    assert strip_boilerplate(text) == text


def test_strip_boilerplate_of_nothing_is_nothing() -> None:
    assert strip_boilerplate("") == ""
    assert html_to_text("") == ""


def test_zero_width_joiners_survive_so_emoji_and_scripts_stay_whole() -> None:
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    persian = "می\u200cخواهم"
    assert family in html_to_text(f"<p>{family} family</p>")
    assert persian in html_to_text(f"<p>{persian}</p>")
    assert html_to_text("soft\u00adhy\u200bphen") == "softhyphen"
