"""Watchlist YAML <-> ``Watchlist``: validation that names the entry and the problem.

The contract (see ``config/examples/ambiguous-companies.yaml`` for a worked example)::

    companies:
      - name: Mistral AI              # canonical name, reported in matches
        aliases: [Mistral]            # whole words, case-insensitive unless case_sensitive
        case_sensitive: false
        context: [AI, LLM, start-up]  # words of the company's world: count for it (weighted)
        senses: [wind, Provence]      # words of the other meanings: count against (weighted)
        people: [Frédéric Mistral]    # people named like it: never the company, and a bare
                                      # name in the same article is more likely the person
        exclude: [mistral wind, Next <time>]  # an occurrence inside one never counts;
                                      # <time> stands for any time word (week, spring, Monday...)

A company with any of case_sensitive, context, senses, people or exclude is *ambiguous*: each
occurrence of its one-word capitalised names is scored (``pipeline/disambiguate.py``) from how it
is written and what surrounds it, rather than accepted. Context and sense words match by prefix
when 4+ letters long ("share" finds "shares"); a trailing ``*`` asks for that on shorter words.
    topics:
      - name: Funding
        keywords: [invest*, funding round, Series A]   # trailing * = any word ending

Every problem found is reported at once (one ``WatchlistError``, one line per problem); nothing is
returned half-loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config.yaml_files import MAX_FILE_BYTES, brief, did_you_mean, read_yaml
from bot.domain.errors import ConfigError, WatchlistError
from bot.domain.watchlist import Company, Topic, Watchlist, name_key
from bot.text.fold import fold_term

MAX_TERM_CHARS = 200  # a name, alias, keyword, context word or exclusion phrase
MAX_TERMS_PER_LIST = 1_000  # aliases, context, exclude or keywords of one entry
MAX_COMPANIES = 250_000
MAX_TOPICS = 10_000
_MAX_REPORTED = 20

_COMPANY_KEYS = ("name", "aliases", "case_sensitive", "context", "senses", "people", "exclude")
_TOPIC_KEYS = ("name", "keywords")
_TOP_KEYS = ("companies", "topics")


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.items: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.items.append(f"{where}: {problem}")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = self.items[:_MAX_REPORTED]
        more = len(self.items) - len(shown)
        lines = [f"{self.source}: invalid watchlist ({len(self.items)} problem(s))", *shown]
        if more:
            lines.append(f"... and {more} more")
        raise WatchlistError("\n  ".join(lines))


def parse_watchlist(data: Any, source: str = "watchlist") -> Watchlist:
    """Build a Watchlist from parsed YAML/JSON; raise WatchlistError naming entry and problem."""
    if data is None:
        return Watchlist()
    problems = _Problems(source)
    if not isinstance(data, dict):
        problems.add("top level", "expected a mapping with 'companies' and/or 'topics', "
                     f"got {_type(data)}")
        problems.raise_if_any()
    _unknown_keys(data, _TOP_KEYS, "top level", problems)
    companies = _entries(data.get("companies"), "companies", MAX_COMPANIES, problems, _company)
    topics = _entries(data.get("topics"), "topics", MAX_TOPICS, problems, _topic)
    _duplicates([c.name for c in companies], "companies", problems)
    _duplicates([t.name for t in topics], "topics", problems)
    problems.raise_if_any()
    return Watchlist(companies=tuple(companies), topics=tuple(topics))


def load_watchlist(path: str | Path) -> Watchlist:
    """Read a watchlist file strictly (see ``config_files.read_yaml``) and validate it."""
    path = Path(path)
    try:
        data = read_yaml(path, MAX_FILE_BYTES)
    except ConfigError as exc:
        raise WatchlistError(f"cannot read watchlist: {exc}") from None
    return parse_watchlist(data, str(path))


def watchlist_to_dict(watchlist: Watchlist) -> dict[str, Any]:
    """The YAML shape again (for storage and `watch list`); parse_watchlist reads it back."""
    return {"companies": [company_to_dict(c) for c in watchlist.companies],
            "topics": [topic_to_dict(t) for t in watchlist.topics]}


def company_to_dict(c: Company) -> dict[str, Any]:
    """One company's entry of ``watchlist_to_dict``."""
    return {"name": c.name, "aliases": list(c.aliases), "case_sensitive": c.case_sensitive,
            "context": list(c.context), "exclude": list(c.exclude), "senses": list(c.senses),
            "people": list(c.people)}


def topic_to_dict(t: Topic) -> dict[str, Any]:
    """One topic's entry of ``watchlist_to_dict``."""
    return {"name": t.name, "keywords": list(t.keywords)}


# --- entries --------------------------------------------------------------------------------------
def _entries(raw: Any, section: str, limit: int, problems: _Problems, build: Any) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add(section, f"expected a list of entries, got {_type(raw)}")
        return []
    if len(raw) > limit:
        problems.add(section, f"{len(raw)} entries is more than the limit of {limit}")
        return []
    out = []
    for i, entry in enumerate(raw):
        built = build(entry, f"{section}[{i}]", problems)
        if built is not None:
            out.append(built)
    return out


def _company(entry: Any, where: str, problems: _Problems) -> Company | None:
    name, where = _entry_name(entry, where, _COMPANY_KEYS, problems)
    if name is None:
        return None
    aliases = _terms(entry.get("aliases"), f"{where} aliases", problems, star=False)
    context = _terms(entry.get("context"), f"{where} context", problems, star=True)
    exclude = _terms(entry.get("exclude"), f"{where} exclude", problems, star=False)
    senses = _terms(entry.get("senses"), f"{where} senses", problems, star=True)
    people = _terms(entry.get("people"), f"{where} people", problems, star=False)
    case_sensitive = entry.get("case_sensitive", False)
    if not isinstance(case_sensitive, bool):
        problems.add(f"{where} case_sensitive",
                     f"expected true or false, got {brief(case_sensitive)}")
        case_sensitive = False
    names = [fold_term(n) for n in (name, *aliases)]
    for key, phrases in (("exclude", exclude), ("people", people)):
        for phrase in phrases:
            folded = f" {fold_term(phrase)} "
            if not any(f" {n} " in folded for n in names if n):
                problems.add(f"{where} {key}", f"{phrase!r} contains neither the name nor an "
                             "alias, so it can never apply")
    aliases = tuple(a for a in aliases if a != name)
    return Company(name, aliases, case_sensitive, context, exclude, senses, people)


def _topic(entry: Any, where: str, problems: _Problems) -> Topic | None:
    name, where = _entry_name(entry, where, _TOPIC_KEYS, problems)
    if name is None:
        return None
    before = len(problems.items)
    keywords = _terms(entry.get("keywords"), f"{where} keywords", problems, star=True)
    if not keywords and len(problems.items) == before:
        problems.add(where, "a topic needs at least one keyword")
    return Topic(name, keywords)


def _entry_name(entry: Any, where: str, keys: tuple[str, ...],
                problems: _Problems) -> tuple[str | None, str]:
    if isinstance(entry, str):
        problems.add(where, f"expected a mapping like {{name: {entry.strip()[:40]}}}, "
                     f"got the text {brief(entry)}")
        return None, where
    if not isinstance(entry, dict):
        problems.add(where, f"expected a mapping with a 'name', got {_type(entry)}")
        return None, where
    raw = entry.get("name")
    label = f"{where} ({brief(raw)})" if isinstance(raw, str) and raw.strip() else where
    _unknown_keys(entry, keys, label, problems)
    if "name" not in entry or raw is None:
        problems.add(label, "missing 'name'")
        return None, label
    name = _term(raw, f"{label} name", problems, star=False)
    return name, label


def _terms(raw: Any, where: str, problems: _Problems, *, star: bool) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        problems.add(where, f"expected a list, got the text {brief(raw)} (write [...])")
        return ()
    if not isinstance(raw, list):
        problems.add(where, f"expected a list of text, got {_type(raw)}")
        return ()
    if len(raw) > MAX_TERMS_PER_LIST:
        problems.add(where, f"{len(raw)} items is more than the limit of {MAX_TERMS_PER_LIST}")
        return ()
    out = (_term(item, f"{where}[{i}]", problems, star=star) for i, item in enumerate(raw))
    return tuple(dict.fromkeys(t for t in out if t is not None))


def _term(raw: Any, where: str, problems: _Problems, *, star: bool) -> str | None:
    if not isinstance(raw, str):
        problems.add(where, f"expected text, got {_type(raw)} {brief(raw)} (quote it in YAML)")
        return None
    term = raw.strip()
    if not term:
        problems.add(where, "is empty")
        return None
    if len(term) > MAX_TERM_CHARS:
        problems.add(where, f"is {len(term)} characters long; the limit is {MAX_TERM_CHARS}")
        return None
    body = term[:-1] if star and term.endswith("*") else term
    if "*" in body:
        hint = "only a trailing '*' is allowed" if star else "'*' is only for keywords and context"
        problems.add(where, f"{term!r}: {hint}")
        return None
    if not fold_term(body):
        what = "is only '*'" if body == "" else "has no letters or digits"
        problems.add(where, f"{term!r} {what}, so it would match nothing or everything")
        return None
    return term


def _unknown_keys(entry: dict[Any, Any], allowed: tuple[str, ...], where: str,
                  problems: _Problems) -> None:
    for key in entry:
        if key not in allowed:
            problems.add(where, f"unknown key {brief(key)} ({did_you_mean(key, allowed)})")


def _duplicates(names: list[str], section: str, problems: _Problems) -> None:
    seen: dict[str, str] = {}
    for name in names:
        folded = name_key(name)
        if folded in seen:
            problems.add(section, f"{name!r} is listed twice (also as {seen[folded]!r})")
        seen.setdefault(folded, name)


def _type(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
