"""Why an ambiguous company name counted or not, in words a channel member reads. Pure.

``Matcher.explain`` re-reads an article for ``why`` and the previews only (never on the polling
path): every occurrence of a scored name, counted or not, as a ``Seen`` with its cues, or with the
exclusion / person phrase that vetoed it. ``reading`` turns one into the deciding cues, each with
the words of the sentence that show it ("Apple's chief executive" - possessive + business noun);
``explain_lines`` groups them per company within a character budget::

    Apple: counted — “Apple's chief executive” (possessive + business noun), “shares” (context)
    Shell: not counted — “shells” (sense word)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.alert import Field
from bot.pipeline import disambiguate as d
from bot.text.truncate import truncate

EVIDENCE_MAX = 1000  # characters: inside a Discord embed field (1,024) and a Slack section (3,000)
QUOTE_MAX = 50
LINES_MAX = 6

LABELS = {
    "lower_case": "written in lower case", "all_caps": "in an all-caps line",
    "all_caps_word": "written in capitals", "headline": "capitals of a title-case headline",
    "german_noun": "German text, where every noun has a capital",
    "capital_initial": "capital at a sentence start", "capital_mid": "capital mid-sentence",
    "legal_suffix": "legal suffix", "ticker": "ticker", "exchange": "stock exchange",
    "possessive_business": "possessive + business noun", "possessive": "possessive",
    "company_verb": "company verb", "verb_after": "verb after the name",
    "verb_before": "object of a verb", "pronoun_after": "he/she: a person",
    "business_noun": "business word", "person_title": "title of a person or place",
    "preposition_before": "preposition", "name_list": "list of names", "determiner": "article",
    "capital_before": "next to another capitalised word",
    "capital_after": "next to another capitalised word",
    "other_company": "another watched company in the article",
    "topic": "a watched topic in the article", "context_sentence": "context",
    "context_article": "context word in the article", "no_context": "no context word anywhere",
    "sense_sentence": "sense word", "sense_next_to_name": "sense word next to the name",
    "sense_article": "sense word in the article",
    "person_in_article": "a person named like it in the article",
    "quoted": "in quotes: a title or a product",
    "exclude": "exclusion", "people": "a person named like the company",
}


@dataclass(frozen=True, slots=True)
class Seen:
    """One occurrence of a scored name: ``sentence[start:end]`` is the name; ``article`` the
    folded, padded title and text; ``veto``: the exclusion or person phrase covering it."""

    name: str
    field: Field
    sentence: str
    start: int
    end: int
    article: str
    cues: frozenset[str]
    hints: d.Hints
    veto: tuple[str, str] | None = None  # ("exclude" | "people", the phrase as written)


@dataclass(frozen=True, slots=True)
class Reading:
    """An occurrence, decided: counted or not, and the cues that decided, strongest first, each
    as (words of the text that show it, or "", label)."""

    name: str
    counted: bool
    reasons: tuple[tuple[str, str], ...]


def reading(seen: Seen) -> Reading:
    if seen.veto is not None:
        kind, phrase = seen.veto
        return Reading(seen.name, False, ((phrase, LABELS[kind]),))
    decision = d.decide(seen.cues)
    names = [e.split()[0] for e in decision.evidence]
    if not decision.accepted and "person_title" in seen.cues and "person_title" not in names:
        names.insert(0, "person_title")  # a veto whatever the score
    return Reading(seen.name, decision.accepted,
                   tuple((_quote(seen, cue), LABELS.get(cue, cue)) for cue in names))


def explain_lines(readings: list[Reading], limit: int = EVIDENCE_MAX) -> list[str]:
    """One line per company and outcome ("Apple: counted — ..."), within ``limit`` characters
    in all (plain text: the caller's platform escapes it)."""
    groups: dict[tuple[str, bool], list[Reading]] = {}
    for r in readings:
        groups.setdefault((r.name, r.counted), []).append(r)
    lines: list[str] = []
    used = 0
    for n, ((name, counted), group) in enumerate(groups.items()):
        first = group[0]
        why = ", ".join(f"“{q}” ({label})" if q else label for q, label in first.reasons)
        times = f" ({len(group)} times)" if len(group) > 1 else ""
        line = truncate(f"{name}: {'counted' if counted else 'not counted'}{times} — "
                        f"{why or 'no deciding cue'}", 300)
        left = len(groups) - n
        more = f"… and {left} more"
        if n >= LINES_MAX or used + len(line) + 1 + len(more) > limit:
            lines.append(more)
            break
        lines.append(line)
        used += len(line) + 1
    return lines


def _quote(seen: Seen, cue: str) -> str:
    s, a, b = seen.sentence, seen.start, seen.end
    before, after, name = s[:a], s[b:], s[a:b]
    found = ""
    if cue in _AFTER:
        m = _AFTER[cue].match(after)
        found = name + m.group() if m else ""
    elif cue in _BEFORE:
        m = _BEFORE[cue].search(before)
        found = m.group() + name if m else ""
    elif cue == "quoted":
        found = before.rstrip()[-1:] + name
    elif cue == "business_noun":
        m = d._ROLE_AFTER.match(after)
        mb = d._ROLE_BEFORE.search(before)
        found = name + m.group() if m else (mb.group() + name if mb else "")
    elif cue == "name_list":
        m = d._LIST_AFTER.match(after)
        mb = d._LIST_BEFORE.search(before)
        found = mb.group() + name if mb else (name + m.group() if m else "")
    elif cue in ("ticker", "exchange"):
        m = (d._TICKER if cue == "ticker" else d._EXCHANGE).search(s)
        found = m.group() if m else ""
    elif cue == "capital_before":
        found = " ".join(before.split()[-1:] + [name])
    elif cue == "capital_after":
        found = " ".join([name] + after.split()[:1])
    else:
        found = _hint_word(seen, cue)
    return truncate(" ".join(found.split()), QUOTE_MAX)


_AFTER: dict[str, re.Pattern[str]] = {
    "legal_suffix": d._LEGAL, "possessive_business": d._POSSESSIVE_BUSINESS,
    "possessive": d._POSSESSIVE, "company_verb": d._VERB_AFTER, "verb_after": d._PAST_AFTER,
    "pronoun_after": d._PRONOUN_AFTER}
_BEFORE: dict[str, re.Pattern[str]] = {
    "person_title": d._HONORIFIC, "verb_before": d._VERB_BEFORE,
    "preposition_before": d._PREPOSITION_BEFORE, "determiner": d._DETERMINER}


def _hint_word(seen: Seen, cue: str) -> str:
    """The context / sense word or person's name behind a hint cue (folded, as matched)."""
    hints = seen.hints
    pattern = {"context_sentence": hints.context, "context_article": hints.context,
               "sense_sentence": hints.senses, "sense_next_to_name": hints.senses,
               "sense_article": hints.senses, "person_in_article": hints.people}.get(cue)
    if pattern is None:
        return ""
    if cue.endswith("_article"):
        m = pattern.search(seen.article)
        return m.group() if m else ""
    before = f" {d.fold_term(seen.sentence[:seen.start])} "
    after = f" {d.fold_term(seen.sentence[seen.end:])} "
    near = [(len(before) - m.end(), m.group()) for m in pattern.finditer(before)]
    near += [(m.start(), m.group()) for m in pattern.finditer(after)]
    if not near:
        return ""
    word = min(near)[1]  # folded: shown as the sentence writes it when it can be found there
    written = re.search(r"\b" + re.escape(word), seen.sentence, re.IGNORECASE)
    return written.group() if written else word
