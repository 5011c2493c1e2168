"""Watchlist YAML: the contract, round trips, and refusals that name the entry and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config.watchlist import load_watchlist, parse_watchlist, watchlist_to_dict
from bot.domain.errors import WatchlistError
from bot.domain.watchlist import Company, Topic, Watchlist

GOOD = """
companies:
  - name: Mistral AI
    aliases: [Mistral]
    case_sensitive: false
    context: [AI, LLM, start-up]
    exclude: [mistral wind]
  - name: Booking Holdings
    aliases: [Booking.com, BKNG]
    case_sensitive: true
topics:
  - name: Funding
    keywords: [invest*, funding round, Series A, levée de fonds, Finanzierungsrunde]
"""


def test_parses_the_contract() -> None:
    wl = parse_watchlist(yaml.safe_load(GOOD))
    assert wl.companies[0] == Company("Mistral AI", ("Mistral",), False, ("AI", "LLM", "start-up"),
                                      ("mistral wind",))
    assert wl.companies[1].case_sensitive is True
    assert wl.topics == (Topic("Funding", ("invest*", "funding round", "Series A",
                                           "levée de fonds", "Finanzierungsrunde")),)


def test_round_trips_through_dict() -> None:
    wl = parse_watchlist(yaml.safe_load(GOOD))
    assert parse_watchlist(watchlist_to_dict(wl)) == wl
    assert parse_watchlist(yaml.safe_load(yaml.safe_dump(watchlist_to_dict(wl)))) == wl


def test_empty_document_and_sections() -> None:
    assert parse_watchlist(None) == Watchlist()
    assert parse_watchlist({"companies": None, "topics": []}) == Watchlist()


def test_whitespace_trimmed_and_duplicate_aliases_dropped() -> None:
    entry = {"name": " Nvidia ", "aliases": ["NVDA", "NVDA ", "Nvidia"]}
    wl = parse_watchlist({"companies": [entry]})
    assert wl.companies == (Company("Nvidia", ("NVDA",)),)


def test_load_watchlist_from_file(tmp_path: Path) -> None:
    path = tmp_path / "wl.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_watchlist(path) == parse_watchlist(yaml.safe_load(GOOD))


def test_unreadable_or_broken_yaml_file(tmp_path: Path) -> None:
    with pytest.raises(WatchlistError, match="cannot read"):
        load_watchlist(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("companies: [name: {", encoding="utf-8")
    with pytest.raises(WatchlistError, match="bad.yaml"):
        load_watchlist(bad)


@pytest.mark.parametrize(("data", "message"), [
    ({"companies": [{"aliases": ["X"]}]}, r"companies\[0\]: missing 'name'"),
    ({"companies": [{"name": ""}]}, r"companies\[0\] name: is empty"),
    ({"companies": [{"name": "Nvidia", "aliases": ["NVDA", " "]}]},
     r"companies\[0\] \('Nvidia'\) aliases\[1\]: is empty"),
    ({"topics": [{"name": "Funding", "keywords": ["invest*", "*"]}]},
     r"topics\[0\] \('Funding'\) keywords\[1\]: '\*' is only '\*'"),
    ({"topics": [{"name": "Funding", "keywords": ["*vest"]}]}, r"only a trailing '\*'"),
    ({"companies": [{"name": "Nvidia", "alias": ["NVDA"]}]},
     r"\('Nvidia'\): unknown key 'alias' \(did you mean 'aliases'\?\)"),
    ({"companies": [], "feeds": []}, r"top level: unknown key 'feeds'"),
    ({"companies": [{"name": "Nvidia", "aliases": "NVDA"}]}, r"aliases: expected a list"),
    ({"companies": [{"name": "Nvidia", "case_sensitive": "yes please"}]},
     r"case_sensitive: expected true or false"),
    ({"companies": [{"name": "Acme", "aliases": [False]}]},
     r"aliases\[0\]: expected text, got bool False \(quote it in YAML\)"),
    ({"companies": [{"name": 42}]}, r"name: expected text, got int"),
    ({"companies": ["Nvidia"]}, r"companies\[0\]: expected a mapping like \{name: Nvidia\}"),
    ({"companies": {"name": "Nvidia"}}, r"companies: expected a list of entries"),
    (["Nvidia"], r"top level: expected a mapping"),
    ({"companies": [{"name": "Acme", "aliases": ["a" * 10_000]}]}, r"10000 characters long"),
    ({"companies": [{"name": "Acme", "aliases": [f"A{i}" for i in range(5000)]}]},
     r"5000 items is more than the limit"),
    ({"companies": [{"name": "Acme"}, {"name": "ACME"}]}, r"'ACME' is listed twice"),
    ({"companies": [{"name": "Nestlé"}, {"name": "NESTLE"}]}, r"'NESTLE' is listed twice"),
    ({"topics": [{"name": "Funding", "keywords": ["x"]}, {"name": "funding", "keywords": ["y"]}]},
     r"'funding' is listed twice"),
    ({"companies": [{"name": "C++", "aliases": ["++"]}]}, r"'\+\+' has no letters or digits"),
    ({"companies": [{"name": "Apple", "aliases": ["App*"]}]}, r"'\*' is only for keywords"),
    ({"companies": [{"name": "Square", "exclude": ["Times Sq"]}]},
     r"'Times Sq' contains neither the name nor an alias"),
    ({"topics": [{"name": "Funding"}]}, r"a topic needs at least one keyword"),
])
def test_invalid_entries_are_refused_with_entry_and_problem(data: object, message: str) -> None:
    with pytest.raises(WatchlistError, match=message):
        parse_watchlist(data, source="team.yaml")


def test_every_problem_is_reported_at_once_with_the_source() -> None:
    data = {"companies": [{"name": "Good"}, {"aliases": ["x"]}, {"name": "Bad", "aliases": [""]}],
            "topics": [{"name": "T", "keywords": ["*"]}]}
    with pytest.raises(WatchlistError) as info:
        parse_watchlist(data, source="team.yaml")
    message = str(info.value)
    assert message.startswith("team.yaml: invalid watchlist (3 problem(s))")
    for part in ("companies[1]: missing 'name'", "companies[2] ('Bad') aliases[0]: is empty",
                 "topics[0] ('T') keywords[0]"):
        assert part in message


def test_a_watched_name_is_looked_up_as_the_matcher_folds_it() -> None:
    watchlist = Watchlist(companies=(Company("Nestlé"),), topics=(Topic("Fusion-Acquisition"),))
    assert watchlist.company("NESTLE") is watchlist.companies[0]
    assert watchlist.topic("fusion acquisition") is watchlist.topics[0]
    assert watchlist.company("Nestl") is None
