"""Ambiguous company names: a scored decision per occurrence, with the cues that decided.

The watchlist is the admin's example (config/examples/ambiguous-companies.yaml); the sentences
are the kinds of news the issue names, written for these tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config.watchlist import load_watchlist, parse_watchlist, watchlist_to_dict
from bot.domain.errors import WatchlistError
from bot.domain.watchlist import Company, Watchlist
from bot.pipeline.disambiguate import CUES
from bot.pipeline.entity_weights import WEIGHTS
from bot.pipeline.match import compile_watchlist

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = load_watchlist(ROOT / "config" / "examples" / "ambiguous-companies.yaml")
FIXTURES = ROOT / "tests" / "fixtures" / "entities"


def found(text: str, title: str = "", watchlist: Watchlist = EXAMPLE) -> tuple[str, ...]:
    return compile_watchlist(watchlist).match(title, text).companies


@pytest.mark.parametrize(("text", "company"), [
    ("Meta said it would spend up to $70 billion on data centres.", "Meta"),
    ("Target is ending its partnership with the charity.", "Target"),
    ("Mistral opened an office in Singapore.", "Mistral AI"),
    ("APPLE SHARES SLIDE AFTER WEAK IPHONE SALES", "Apple"),
    ("Fox Corporation reported higher advertising revenue.", "Fox"),
    ("Regulators fined Chase over its overdraft fees.", "Chase"),
    ("Shares in Shell rose after the results.", "Shell"),
    ("A spokesperson for Gap declined to comment.", "Gap"),
    ("Analysts expect Dell to post higher server sales.", "Dell"),
    ("Workers at the Amazon warehouse voted to strike.", "Amazon"),
])
def test_company_news_counts_without_any_listed_word(text: str, company: str) -> None:
    assert company in found(text)


@pytest.mark.parametrize(("text", "name"), [
    ("Apple growers in Kent fear a late frost.", "Apple"),
    ("Police Chase Ends In Crash On Motorway", "Chase"),          # headline capitals
    ("Total oil production fell by 3% last year.", "Total"),      # sentence-initial capital
    ("Eine Orange enthält viel Vitamin C.", "Orange"),            # German nouns
    ("Brewers blamed Corona lockdowns for the slump.", "Corona"),  # sense word, not the beer
    ("Michael J. Fox told viewers about his illness.", "Fox"),    # a person
    ("Doug Ford said Ontario would answer the tariffs.", "Ford"),
    ("Next spring, Primark will open a store in Boston.", "Next"),  # Next <time>
    ("Deforestation in the Amazon rose again this year.", "Amazon"),
    ("Mr Fox said the talks had gone well.", "Fox"),               # a title before: a person
])
def test_other_senses_do_not_count(text: str, name: str) -> None:
    result = found(text)
    assert not any(c.startswith(name) for c in result), result


def test_the_match_says_which_cues_decided() -> None:
    result = compile_watchlist(EXAMPLE).match("", "Meta said it would cut 5% of its staff.")
    (match,) = result.matches
    assert match.name == "Meta"
    assert any(e.startswith("company_verb +") for e in match.evidence)
    # names that are not scored carry no evidence
    plain = compile_watchlist(EXAMPLE).match("", "Royal Dutch Shell cut its dividend.")
    assert [(m.name, m.evidence) for m in plain.matches] == [("Shell", ())]


def test_an_article_naming_a_person_makes_the_bare_name_likelier_the_person() -> None:
    text = "Doug Ford spoke in Toronto on Monday. Ford said the province would respond."
    assert found(text) == ()
    assert found("Ford said the carmaker would respond to the tariffs.") == ("Ford",)


def test_other_watched_companies_and_topics_weigh_in() -> None:
    wl = Watchlist(companies=(Company("Orange", case_sensitive=True, context=("telecom",)),
                              Company("Vodafone")))
    assert found("Orange was in the news.", watchlist=wl) == ()
    assert found("Orange and Vodafone were in the news.", watchlist=wl) == ("Orange", "Vodafone")


def test_unambiguous_companies_keep_every_mention() -> None:
    """Names without rules or hints, tickers, multi-word names, possessives and hyphenated
    compounds are matched as before: no scoring, no lost recall."""
    lines = (FIXTURES / "unambiguous.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    names = sorted({r["name"] for r in rows})
    wl = Watchlist(companies=tuple(Company(n) for n in names if n != "AAPL") + (
        Company("Apple Inc", aliases=("AAPL",), case_sensitive=True),))
    for row in rows:
        want = "Apple Inc" if row["name"] == "AAPL" else row["name"]
        assert want in found(row["sentence"], watchlist=wl), row
    # in the example, "Mistral AI" (the full name) is not scored either
    assert found("The start-up Mistral AI said its model beat rivals.") == ("Mistral AI",)


def test_hints_round_trip_and_are_validated() -> None:
    data = {"companies": [{"name": "Ford", "case_sensitive": True, "senses": ["river", "ford*"],
                           "people": ["Doug Ford"], "exclude": ["Ford <time>"]}]}
    wl = parse_watchlist(data)
    assert parse_watchlist(watchlist_to_dict(wl)) == wl
    assert wl.companies[0].people == ("Doug Ford",)
    with pytest.raises(WatchlistError, match=r"people: 'Megan Fox' contains neither"):
        parse_watchlist({"companies": [{"name": "Ford", "people": ["Megan Fox"]}]})
    with pytest.raises(WatchlistError, match="unknown key 'sense'"):
        parse_watchlist({"companies": [{"name": "Ford", "sense": ["river"]}]})


def test_exclusion_patterns_take_any_time_word() -> None:
    wl = Watchlist(companies=(Company("Next", case_sensitive=True, context=("retailer",),
                                      exclude=("Next <time>",)),))
    for text in ("Next week, the retailer reports.", "Next Monday the retailer reports.",
                 "Next autumn the retailer opens."):
        assert found(text, watchlist=wl) == (), text
    assert found("Next, the retailer, said sales rose.", watchlist=wl) == ("Next",)


def test_shipped_weights_name_only_known_cues() -> None:
    assert set(WEIGHTS) <= set(CUES)
    assert WEIGHTS["company_verb"] > 0 > WEIGHTS["sense_sentence"]


# --- the scoring's shortcuts answer as the plain reads did ------------------------------------
def _sentences() -> list[str]:
    rows = (FIXTURES / "ambiguous_dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(row)["sentence"] for row in rows if row.strip()]


def test_one_pass_over_the_article_finds_the_hint_words_each_pattern_finds() -> None:
    """A context word found elsewhere in the article (``context_article``) or nowhere
    (``no_context``) decides many occurrences: the one automaton pass must agree with each
    name's own regex, for stems ("shares" -> "share"), ``*`` prefixes, multi-word hints and
    people's names, and leave patterns with placeholders to the regex."""
    from bot.pipeline.disambiguate import HintIndex, compile_hints
    from bot.text.fold import FoldedText

    companies = [c for c in EXAMPLE.companies if c.context or c.senses or c.people] + [
        Company("Odd", context=("servers", "chip*", "data centre", "Zürich"),
                senses=("<time> off", "shells"), people=("Doug Ford",))]
    hints = [compile_hints(c) for c in companies]
    index = HintIndex(hints)
    patterns = [p for h in hints for p in (h.context_in, h.senses_in, h.people_in) if p]
    texts = _sentences() + ["server rooms", "the chips fell", "a data centre", "zurich",
                            "a day off", "Doug Ford said", "shell", "servers", ""]
    asked = answered = 0
    for text in texts:
        article = FoldedText(text, collapse=False).collapsed
        words = index.reader(article)
        assert words is not None
        for pattern in patterns:
            has = words.has(pattern)
            asked += 1
            if has is not None:
                answered += 1
                assert has == (pattern.search(article) is not None), (pattern.pattern, text)
    assert answered < asked  # the placeholder pattern is left to the regex
    assert answered > asked * 0.9


def test_the_exchange_shortcut_finds_what_the_exchange_pattern_finds() -> None:
    from bot.pipeline.disambiguate import _EXCHANGE, _has_exchange

    texts = _sentences() + ["NYSE", "on the NYSE.", "xNYSE", "_NYSE", "NYSEs", "éNasdaq",
                            "NasdaqNYSE", "1FTSE", "the S&P 500", "market capitalisation",
                            "Stock Exchanges", " DAX-listed", "CAC 400", "Dow Jones"]
    for text in texts:
        assert _has_exchange(text) == (_EXCHANGE.search(text) is not None), text


def test_a_remembered_decision_is_the_decision() -> None:
    from bot.pipeline.disambiguate import SHIPPED, Model, decide

    for cues in (frozenset(), frozenset({"company_verb", "capital_mid"}),
                 frozenset({"sense_sentence", "no_context", "person_title"})):
        first, again = decide(cues), decide(cues)
        assert first == again
        other = Model(SHIPPED.bias - 10, SHIPPED.threshold, SHIPPED.weights)
        assert decide(cues, other).score == pytest.approx(first.score - 10, abs=0.01)
