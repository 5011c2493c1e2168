"""summarise: focus on the watched company, budgets, order, duplicates. Our own sample article."""

from __future__ import annotations

import unicodedata

import pytest

from bot.domain.alert import Match, Summary
from bot.pipeline import summarise as summarise_module
from bot.pipeline.summarise import split_sentences, summarise

TITLE = "Harbour city approves new tram line"
ARTICLE = (
    "The city council of Northport approved a new tram line on Tuesday after a two-year debate.\n\n"
    "The line will link the harbour with the university and carry 40,000 riders a day.\n\n"
    "Construction is expected to start next spring and cost about €320 million.\n\n"
    "Residents along the route have complained about noise during the works.\n\n"
    "The mayor said the project would cut car traffic in the old town.\n\n"
    "Trams will be supplied by Voltaris, which won the tender against two rivals.\n\n"
    "Voltaris also built the network in a neighbouring city in 2019.\n\n"
    "The council will vote on the timetable in June."
)


def company(name: str, alias: str | None = None, sentence: str = "") -> Match:
    return Match(kind="company", name=name, alias=alias or name, field="text", start=0, end=1,
                 sentence=sentence)


def topic(name: str, keyword: str) -> Match:
    return Match(kind="topic", name=name, alias=keyword, field="text", start=0, end=1,
                 sentence="")


def test_generic_summary_takes_the_facts_from_the_lead_in_article_order() -> None:
    summary = summarise(TITLE, ARTICLE)
    assert isinstance(summary, Summary)
    assert len(summary.sentences) == 3
    assert summary.sentences[0].startswith("The city council of Northport approved")
    positions = [ARTICLE.index(s) for s in summary.sentences]
    assert positions == sorted(positions)


def test_the_hit_sentence_is_included_even_when_it_is_late() -> None:
    summary = summarise(TITLE, ARTICLE, matches=[company("Voltaris")])
    assert any("Voltaris" in s for s in summary.sentences)
    assert len(summary.sentences) == 3
    # the best Voltaris sentence, not just any: the one that says what happened
    assert "Trams will be supplied by Voltaris, which won the tender against two rivals." in (
        summary.sentences
    )


def test_alias_matches_case_insensitively_and_keeps_article_order() -> None:
    text = ARTICLE.replace("Voltaris,", "VOLTARIS RAIL,")
    summary = summarise(TITLE, text, matches=[company("Voltaris", alias="Voltaris Rail")])
    assert any("VOLTARIS RAIL" in s for s in summary.sentences)
    positions = [text.index(s) for s in summary.sentences]
    assert positions == sorted(positions)


def test_the_matchers_own_sentence_counts_as_a_hit() -> None:
    sentence = "Residents along the route have complained about noise during the works."
    hit = company("Northport Residents Union", sentence=sentence)
    summary = summarise(TITLE, ARTICLE, matches=[hit])
    assert sentence in summary.sentences


def test_a_company_only_in_the_title_changes_nothing_in_the_text() -> None:
    assert summarise(TITLE, ARTICLE, matches=[company("Zebracorp")]) == summarise(TITLE, ARTICLE)


def test_topic_keywords_pull_their_sentence_up() -> None:
    generic = summarise(TITLE, ARTICLE, max_sentences=3)
    focused = summarise(TITLE, ARTICLE, max_sentences=3, matches=[topic("Noise", "noise")])
    assert not any("noise" in s for s in generic.sentences)
    assert any("noise" in s for s in focused.sentences)


def test_max_sentences_is_respected() -> None:
    assert len(summarise(TITLE, ARTICLE, max_sentences=1).sentences) == 1
    assert summarise(TITLE, ARTICLE, max_sentences=0) == Summary(())


@pytest.mark.parametrize("budget", [60, 120, 200, 300, 600])
def test_character_budget_is_respected(budget: int) -> None:
    summary = summarise(TITLE, ARTICLE, matches=[company("Voltaris")], max_chars=budget)
    assert 0 < len(summary.text) <= budget


def test_a_sentence_that_does_not_fit_is_cut_at_a_word_with_an_ellipsis() -> None:
    summary = summarise(TITLE, ARTICLE, max_chars=40)
    (only,) = summary.sentences
    assert only.endswith("…") and len(only) <= 40
    assert ARTICLE.startswith(only[:-1].rstrip())
    assert only[:-1].rstrip().split()[-1] in ARTICLE.split()  # last word kept whole


def test_the_cut_never_splits_an_emoji_or_a_combining_mark() -> None:
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    text = "Cafe\u0301 " * 3 + family * 10 + " opened today in the harbour district."
    for budget in range(5, 60):
        (only,) = summarise("", text, max_chars=budget).sentences
        assert len(only) <= budget
        body = only.removesuffix("…")
        assert not unicodedata.combining(text[len(body)]) if len(body) < len(text) else True
        assert body.count("\u200d") % 2 == 0  # a family is 3 people and 2 joiners, kept whole


def test_near_duplicate_sentences_are_not_both_picked() -> None:
    text = (
        "Acme Corp bought Widget Works for $50 million on Monday.\n\n"
        "Acme Corp bought Widget Works for $50 million on Monday, the company said.\n\n"
        "The deal adds 300 engineers to Acme's robotics unit.\n\n"
        "Widget Works was founded in 1998 in Leeds."
    )
    summary = summarise("Acme buys Widget Works", text)
    assert sum("bought Widget Works" in s for s in summary.sentences) == 1
    assert len(summary.sentences) == 3


def test_boilerplate_never_reaches_the_summary() -> None:
    text = ("By Jane Doe | Wire\n\nShare this article\n\n" + ARTICLE +
            "\n\nThe post Harbour tram appeared first on City News.")
    summary = summarise(TITLE, text, max_sentences=8, max_chars=2000)
    assert not any(word in summary.text for word in ("Jane Doe", "Share", "appeared first"))


def test_questions_and_teasers_lose_to_facts() -> None:
    text = ("What does the new tram mean for you?\n\n"
            "The council approved a €320 million tram line linking the harbour and the"
            " university.\n\n"
            "Construction starts next spring.")
    summary = summarise("", text, max_sentences=1)
    assert summary.sentences[0].startswith("The council approved")


def test_multilingual_text_is_summarised() -> None:
    text = ("Die Stadt Nordhafen hat am 3. Oktober eine neue Straßenbahn beschlossen. "
            "Der Bau kostet ca. 320 Mio. Euro. Voltaris liefert die Wagen. "
            "Kritiker sind skeptisch.")
    summary = summarise("Nordhafen baut Straßenbahn", text, matches=[company("Voltaris")],
                        max_sentences=2, lang="de")
    assert summary.sentences[0].startswith("Die Stadt Nordhafen hat am 3. Oktober")
    assert "Voltaris liefert die Wagen." in summary.sentences


def test_empty_text_gives_an_empty_summary() -> None:
    assert summarise("Title", "") == Summary(())
    assert summarise("Title", "   \n\n ") == Summary(())


def test_split_sentences_is_still_importable_from_summarise() -> None:
    assert summarise_module.split_sentences is split_sentences
    assert split_sentences("One. Two.") == ["One.", "Two."]
