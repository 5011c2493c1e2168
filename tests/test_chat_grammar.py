"""The /news grammar (pure): names with or without quotes, comma lists, refusals with usage."""

from __future__ import annotations

import pytest

from bot.chat.grammar import parse
from bot.chat.parsed import (
    FeedAdd,
    FeedRemove,
    Help,
    Preview,
    Subscribe,
    WatchAdd,
    WatchRemove,
    Why,
)
from bot.domain.errors import CommandError


@pytest.mark.parametrize("text", [
    "subscribe company Mistral AI topic Funding",
    'subscribe company "Mistral AI" topic Funding',
    "subscribe topic Funding company Mistral AI",
    "SUBSCRIBE Company \u201cMistral AI\u201d TOPIC Funding",
])
def test_names_with_spaces_quoted_or_not(text: str) -> None:
    assert parse(text) == Subscribe(company="Mistral AI", topic="Funding")


def test_a_quoted_keyword_is_part_of_the_name() -> None:
    assert parse('subscribe company "Topic Labs"') == Subscribe(company="Topic Labs")
    assert parse("unsubscribe Nvidia") == Subscribe(remove=True, name="Nvidia")


def test_company_lists_are_comma_separated_and_quotes_keep_commas() -> None:
    cmd = parse('watch add company Alphabet aliases "Alphabet, Inc.", Google,YouTube '
                "context search, ads exclude google it case-sensitive")
    assert cmd == WatchAdd("company", "Alphabet", aliases=("Alphabet, Inc.", "Google", "YouTube"),
                           context=("search", "ads"), exclude=("google it",), case_sensitive=True)


def test_topic_keywords() -> None:
    assert parse("watch add topic Funding keywords invest*, Series A,") == WatchAdd(
        "topic", "Funding", keywords=("invest*", "Series A"))
    assert parse("watch remove topic Funding") == WatchRemove("topic", "Funding")


def test_urls_feeds_preview_why() -> None:
    assert parse("feeds add <https://x.example/feed|x.example> every 30 min") == FeedAdd(
        "https://x.example/feed", 30)
    assert parse("feeds add https://x.example/feed") == FeedAdd("https://x.example/feed", None)
    assert parse("feeds remove https://x.example/feed") == FeedRemove("https://x.example/feed")
    assert parse("preview https://x.example/a") == Preview(url="https://x.example/a")
    assert parse("preview   Nvidia raises  money") == Preview(text="Nvidia raises  money")
    assert parse("preview company Nvidia") == Preview(company="Nvidia")
    assert parse("why <https://x.example/a>") == Why("https://x.example/a")
    assert parse("") == Help()


@pytest.mark.parametrize(("text", "expected"), [
    ("frobnicate", "Unknown command"),
    ("subscribe", "Usage: /news subscribe"),
    ("subscribe company", "Missing the company name"),
    ("subscribe company Nvidia extra words topic", "Missing the topic name"),
    ("watch add company", "Missing the company name"),
    ("watch add topic Funding", "needs keywords"),
    ("watch add thing X", "Say 'company' or 'topic'"),
    ("watch add company X keywords a", "aliases, not keywords"),
    ("feeds add", "Give one feed URL"),
    ("feeds add https://a.example every soon", "every N min"),
    ("why not", "Give one article URL"),
    ("subscribe company Nvidia\x07", "control character (U+0007"),
    ("subscribe company Nvi\u202edia", "control character (U+202E"),
    ("watch add company X aliases " + "a" * 10_000, "10,000 characters long; the limit is 200"),
    ("watch add company X aliases " + ", ".join(f"a{i}" for i in range(1000)),
     "1,000 aliases is too many"),
    ("preview " + "x" * 30_000, "the limit is 20,000"),
])
def test_bad_input_gets_a_short_specific_message(text: str, expected: str) -> None:
    with pytest.raises(CommandError) as err:
        parse(text)
    assert expected in str(err.value)
    assert len(str(err.value)) < 400


def test_company_senses_and_people_lists() -> None:
    cmd = parse("watch add company Shell senses sea, beach* person Shell Smith people "
                '"Shell, Jr." exclude shell suit')
    assert cmd == WatchAdd("company", "Shell", senses=("sea", "beach*"),
                           people=("Shell Smith", "Shell, Jr."), exclude=("shell suit",))
    named = parse('watch add company "Senses Ltd" aliases "people"')
    assert named == WatchAdd("company", "Senses Ltd", aliases=("people",))
