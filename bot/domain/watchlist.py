"""What a tenant watches: companies (aliases, case rule, context, exclusions) and topics
(keywords), and ``name_key``, the one rule for "the same watched name". Pure."""

from __future__ import annotations

from dataclasses import dataclass

from bot.text.fold import fold_term


def name_key(name: str) -> str:
    """The one rule for "the same watched name": case, accents and separators folded as the
    matcher folds them (``Nestlé`` == ``nestle``), so a name that matches the same text is the same
    entry everywhere: config, storage, chat lookups and routing."""
    return fold_term(name) or name.casefold()


@dataclass(frozen=True, slots=True)
class Company:
    name: str
    aliases: tuple[str, ...] = ()
    case_sensitive: bool = False
    context: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    senses: tuple[str, ...] = ()  # words of the other meanings: count against ("fruit", "river")
    people: tuple[str, ...] = ()  # people named like the company ("Doug Ford"): not the company


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Watchlist:
    companies: tuple[Company, ...] = ()
    topics: tuple[Topic, ...] = ()

    def company(self, name: str) -> Company | None:
        key = name_key(name)
        return next((c for c in self.companies if name_key(c.name) == key), None)

    def topic(self, name: str) -> Topic | None:
        key = name_key(name)
        return next((t for t in self.topics if name_key(t.name) == key), None)
