"""split_sentences on our own multilingual examples."""

from __future__ import annotations

import pytest

from bot.text.sentences import split_sentences


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "Acme paid €1.5bn for Widgets Ltd. The deal closes in May.",
         ["Acme paid €1.5bn for Widgets Ltd.", "The deal closes in May."]),
        ("en", "Dr. Jane Smith of the U.S. Navy said so. Mr. Brown disagreed.",
         ["Dr. Jane Smith of the U.S. Navy said so.", "Mr. Brown disagreed."]),
        ("en", "J. R. R. Tolkien wrote it. Sales rose 3.5 % in Q2.",
         ["J. R. R. Tolkien wrote it.", "Sales rose 3.5 % in Q2."]),
        ("en", '"We will win," she said. "Why?" he asked. Nobody knew.',
         ['"We will win," she said.', '"Why?" he asked.', "Nobody knew."]),
        ("en", 'He said: "It is over." Then he left!',
         ['He said: "It is over."', "Then he left!"]),
        ("en", "Shares fell at 3 p.m. Tuesday after the warning. Analysts, e.g. Foo, were glum.",
         ["Shares fell at 3 p.m. Tuesday after the warning.", "Analysts, e.g. Foo, were glum."]),
        ("de", "Am 3. Oktober 1990 kam die Einheit. Das war z.B. für Dr. Kohl wichtig.",
         ["Am 3. Oktober 1990 kam die Einheit.", "Das war z.B. für Dr. Kohl wichtig."]),
        ("de", "Der Umsatz stieg um 2,5 Mrd. Euro. Die Aktie legte ca. 4 % zu.",
         ["Der Umsatz stieg um 2,5 Mrd. Euro.", "Die Aktie legte ca. 4 % zu."]),
        ("de", "„Wir sind zufrieden“, sagte er. Er kam 1942. Danach ging er.",
         ["„Wir sind zufrieden“, sagte er.", "Er kam 1942.", "Danach ging er."]),
        ("fr", "M. Dupont a dit « Bonjour. » Puis il est parti. Mme Durand est restée.",
         ["M. Dupont a dit « Bonjour. »", "Puis il est parti.", "Mme Durand est restée."]),
        ("fr", "Le chiffre d'affaires atteint 1,2 Md€. Voir l'art. 5 du contrat.",
         ["Le chiffre d'affaires atteint 1,2 Md€.", "Voir l'art. 5 du contrat."]),
        ("es", "¿Qué pasa? La Sra. García dijo que no. ¡Vamos! Luego se fue.",
         ["¿Qué pasa?", "La Sra. García dijo que no.", "¡Vamos!", "Luego se fue."]),
        ("es", "El Dr. Pérez vive en EE.UU. desde 2010. Trabaja en Madrid.",
         ["El Dr. Pérez vive en EE.UU. desde 2010.", "Trabaja en Madrid."]),
        ("it", "Il Sig. Rossi e il Dott. Bianchi sono arrivati. La riunione è finita.",
         ["Il Sig. Rossi e il Dott. Bianchi sono arrivati.", "La riunione è finita."]),
        ("it",
         "Fiat acquisirà il 41,46% di Chrysler per 3,6 miliardi. Lo dice l'art. 12 del patto.",
         ["Fiat acquisirà il 41,46% di Chrysler per 3,6 miliardi.",
          "Lo dice l'art. 12 del patto."]),
    ],
)
def test_splits_like_a_reader_would(lang: str, text: str, expected: list[str]) -> None:
    assert split_sentences(text, lang) == expected


def test_a_paragraph_break_always_ends_a_sentence() -> None:
    text = "Headline without a full stop\n\nBody text starts here. It goes on"
    assert split_sentences(text) == [
        "Headline without a full stop", "Body text starts here.", "It goes on"
    ]


def test_line_breaks_inside_a_paragraph_are_spaces() -> None:
    assert split_sentences("A sentence that\nwraps. Next one.") == [
        "A sentence that wraps.", "Next one."
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Workers cheer as the plant opens in Lyon The plant will employ 300 people.",
         ["Workers cheer as the plant opens in Lyon", "The plant will employ 300 people."]),
        ("Fares rose by 12% And commuters were not amused.",
         ["Fares rose by 12%", "And commuters were not amused."]),
        ("She starred in ‘The Long Night’ He directed it.",
         ["She starred in ‘The Long Night’", "He directed it."]),
    ],
)
def test_english_sentences_glued_without_a_full_stop_are_separated(
    text: str, expected: list[str]
) -> None:
    assert split_sentences(text, "en") == expected


@pytest.mark.parametrize(
    "text",
    ["He told The New York Times about it.", "Plan A failed, so plan B was tried.",
     "She read it in The Guardian on Monday."],
)
def test_title_case_inside_a_sentence_is_not_a_boundary(text: str) -> None:
    assert split_sentences(text, "en") == [text]


def test_glued_sentence_rules_are_per_language() -> None:
    text = "Il a vu le film The Artist hier."
    assert split_sentences(text, "fr") == [text]
    assert split_sentences("Hafen bekommt neue Kräne Der Umbau beginnt im Mai.", "de") == [
        "Hafen bekommt neue Kräne", "Der Umbau beginnt im Mai."
    ]


def test_german_colon_article_and_smiley_end_a_sentence() -> None:
    assert split_sentences("Er warnte: Die Lage ist ernst.", "de") == [
        "Er warnte:", "Die Lage ist ernst."
    ]
    assert split_sentences("Alles gut :-) Danke an alle.", "de") == [
        "Alles gut :-)", "Danke an alle."
    ]
    assert split_sentences("Er sagte: die Lage ist ernst.", "de") == [
        "Er sagte: die Lage ist ernst."
    ]


def test_german_title_after_a_title_noun_stays_whole() -> None:
    text = "Das sagte er der Zeitung Die Welt am Sonntag."
    assert split_sentences(text, "de") == [text]


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("de", "Er ging. ``Wir bleiben'', sagte sie.", ["Er ging.", "``Wir bleiben'', sagte sie."]),
        ("de", "Er ging. ‚Nein‘, rief sie.", ["Er ging.", "‚Nein‘, rief sie."]),
        ("en", "It ended. ``Fine,'' he said.", ["It ended.", "``Fine,'' he said."]),
    ],
)
def test_typewriter_and_low_quotes_can_open_a_sentence(
    lang: str, text: str, expected: list[str]
) -> None:
    assert split_sentences(text, lang) == expected


def test_unknown_language_still_splits() -> None:
    assert split_sentences("Dr. Who arrived. He left.", "nl") == ["Dr. Who arrived.", "He left."]


def test_empty_and_whitespace_text_give_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\n  ") == []
