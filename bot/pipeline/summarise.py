"""Extractive summary by rules. Pure.

clean the text -> split sentences -> score each sentence -> pick the best within the budgets ->
put them back in article order.

Scores add up simple, explainable signals: position (news puts the facts first), overlap with the
title, how many of the sentence's words recur elsewhere in the article (centrality), watched
companies and topic keywords from the alert's matches, numbers and money, named-entity-like
capitals, and length (very short lines lose; a run-on penalty exists but is tuned to 0).
Questions and lines ending in ":" lose: they rarely carry the who/what/how much. Sentences that
repeat one already picked (a quarter of their content words shared) are skipped: three sentences
have no room for a second telling of the lead.

Focus: when the matches name a company and a sentence of the text mentions it, the best such
sentence (the "hit sentence") is picked first, whatever its position, so the alert shows why it
fired. Budgets: at most ``max_sentences`` sentences and ``max_chars`` characters (joined by one
space); a sentence that cannot fit is skipped, and only when nothing fits is the first pick cut,
at a word and grapheme boundary, with an ellipsis (``bot.text.truncate.truncate``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.domain.alert import Match, Summary
from bot.text.clean import strip_boilerplate
from bot.text.sentences import split_sentences
from bot.text.truncate import truncate

__all__ = ["summarise", "split_sentences", "Weights", "DEFAULT_WEIGHTS"]


def _words(text: str) -> list[str]:
    return text.split()


@dataclass(frozen=True, slots=True)
class Weights:
    """The scoring rules' knobs (tuned on cnndm_dev100 and bbc_dev300 only)."""

    position: float = 2.4  # score of the first sentence; decays as 1 / (1 + decay * index)
    position_decay: float = 1.0
    title: float = 3.5  # x share of the title's content words found in the sentence
    centrality: float = 1.5  # x share of the sentence's content words that recur in the article
    number: float = 0.1  # sentence has a digit
    money: float = 0.1  # currency, %, million/billion ...
    entities: float = 0.2  # x share of capitalised words (capped)
    short_words: int = 8  # fewer words than this: penalty
    short_penalty: float = 0.5
    long_words: int = 45  # more words than this: penalty (0 after tuning: ROUGE did not want it)
    long_penalty: float = 0.0
    quote_penalty: float = 0.0  # opens with a quotation mark
    question_penalty: float = 2.0
    colon_penalty: float = 1.0  # ends with ":" (introduces a list or a quote)
    company: float = 4.0  # mentions a matched company
    topic: float = 1.0  # mentions a matched topic keyword
    # Jaccard of content words at or above which a sentence repeats one already picked; strict,
    # because three sentences have no room for a second telling of the lead (or of its caption)
    duplicate: float = 0.25


DEFAULT_WEIGHTS = Weights()

_WORD = re.compile(r"\w+(?:[’'.-]\w+)*")
_DIGIT = re.compile(r"\d")
_MONEY = re.compile(
    r"[$€£¥₹%]|\b\d+(?:[.,]\d+)?\s?(?:bn|m|k|mn|tn)\b|\b(?:million|billion|trillion|per ?cent|"
    r"Mio|Mrd|Milliarden?|Millionen?|millions?|milliards?|millones|mil millones|milioni|miliardi|"
    r"dollars?|euros?|pounds?)\b"
)
_QUOTE_OPEN = "\"“„«‘'"
_STOPWORDS = frozenset(_words(
    """a an the and or but of to in on at by for with from as is are was were be been has have had
    it its this that these those he she they we you i his her their our not no will would said says
    der die das den dem des ein eine einer und oder zu im in am an auf mit von für ist sind war
    le la les un une des et ou de du au aux en dans sur pour par est sont il elle
    el los las unos unas y o del al con por para es son que se lo
    il lo gli i una uno e di da nel nella con per è sono che"""))


def summarise(
    title: str,
    text: str,
    *,
    matches: Sequence[Match] = (),
    max_sentences: int = 3,
    max_chars: int = 600,
    lang: str | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
) -> Summary:
    """The best ``max_sentences`` sentences of ``text`` in article order, within ``max_chars``.

    ``weights`` are the scoring rules' weights (the evaluation script tunes them on dev sets).
    """
    sentences = split_sentences(strip_boilerplate(text), lang)
    if not sentences or max_sentences <= 0 or max_chars <= 0:
        return Summary(())
    tokens = [_WORD.findall(s) for s in sentences]
    words = [_content_of(t) for t in tokens]
    scores = _scores(title, sentences, tokens, words, matches, weights)
    hits = _company_hits(sentences, matches)
    order = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
    if hits:
        best_hit = max(hits, key=lambda i: (scores[i], -i))
        order.remove(best_hit)
        order.insert(0, best_hit)
    return Summary(_pick(sentences, words, order, max_sentences, max_chars, weights.duplicate))


def _scores(
    title: str,
    sentences: Sequence[str],
    tokens: Sequence[list[str]],
    words: Sequence[frozenset[str]],
    matches: Sequence[Match],
    weights: Weights,
) -> list[float]:
    title_words = _content_words(title)
    companies = _term_pattern(m for m in matches if m.kind == "company")
    topics = _term_pattern(m for m in matches if m.kind == "topic")
    central = _centrality(words) if weights.centrality else [0.0] * len(sentences)
    scores: list[float] = []
    for index, sentence in enumerate(sentences):
        score = weights.position / (1.0 + weights.position_decay * index)
        score += _shape_score(sentence, tokens[index], weights)
        if title_words:
            overlap = len(title_words & words[index]) / len(title_words)
            score += weights.title * overlap
        score += weights.centrality * central[index]
        if companies is not None and companies.search(sentence):
            score += weights.company
        if topics is not None and topics.search(sentence):
            score += weights.topic
        scores.append(score)
    return scores


def _centrality(words: Sequence[frozenset[str]]) -> list[float]:
    """Share of a sentence's content words that recur in other sentences, 0..1."""
    counts: dict[str, int] = {}
    for ws in words:
        for w in ws:
            counts[w] = counts.get(w, 0) + 1
    return [sum(counts[w] > 1 for w in ws) / len(ws) if ws else 0.0 for ws in words]


def _shape_score(sentence: str, tokens: Sequence[str], w: Weights) -> float:
    """Signals read from the sentence alone: length, numbers, names, quotes, questions."""
    n = len(tokens)
    score = 0.0
    if n < w.short_words:
        score -= w.short_penalty * (w.short_words - n) / w.short_words
    elif n > w.long_words:
        score -= w.long_penalty * min(1.0, (n - w.long_words) / w.long_words)
    if _DIGIT.search(sentence):
        score += w.number
        if _MONEY.search(sentence):
            score += w.money
    if n > 1:
        capitals = sum(1 for t in tokens[1:] if t[0].isupper() and len(t) > 1)
        score += w.entities * min(1.0, 3.0 * capitals / n)
    if sentence[:1] in _QUOTE_OPEN:
        score -= w.quote_penalty
    if sentence.rstrip("\"”»’'").endswith("?"):
        score -= w.question_penalty
    if sentence.endswith(":"):
        score -= w.colon_penalty
    return score


def _pick(
    sentences: Sequence[str],
    words: Sequence[frozenset[str]],
    order: Sequence[int],
    max_sentences: int,
    max_chars: int,
    duplicate: float,
) -> tuple[str, ...]:
    chosen: list[int] = []
    used = 0
    for i in order:
        if len(chosen) >= max_sentences:
            break
        if any(_jaccard(words[i], words[j]) >= duplicate for j in chosen):
            continue
        extra = len(sentences[i]) + (1 if chosen else 0)
        if used + extra > max_chars:
            if not chosen:
                return (truncate(sentences[i], max_chars),)
            continue
        chosen.append(i)
        used += extra
    return tuple(sentences[i] for i in sorted(chosen))


def _company_hits(sentences: Sequence[str], matches: Sequence[Match]) -> list[int]:
    company = [m for m in matches if m.kind == "company"]
    if not company:
        return []
    pattern = _term_pattern(company)
    evidence = {" ".join(m.sentence.split()) for m in company if m.sentence.strip()}
    hits = []
    for i, sentence in enumerate(sentences):
        if (pattern is not None and pattern.search(sentence)) or any(
            e in sentence or (sentence in e and 2 * len(sentence) >= len(e)) for e in evidence
        ):
            hits.append(i)
    return hits


def _term_pattern(matches: Iterable[Match]) -> re.Pattern[str] | None:
    terms = {t.strip() for m in matches for t in (m.alias, m.name) if t.strip()}
    if not terms:
        return None
    return _terms_pattern(tuple(sorted(terms, key=lambda t: (-len(t), t))))


@lru_cache(maxsize=4096)
def _terms_pattern(terms: tuple[str, ...]) -> re.Pattern[str]:
    """The names as one pattern, longest first; kept per set of names (``re``'s own cache holds
    512 patterns, fewer than the name sets of a big watchlist's alerts, and compiling one was a
    quarter of a summary's time)."""
    alternatives = "|".join(re.escape(t) for t in terms)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _content_words(text: str) -> frozenset[str]:
    return _content_of(_WORD.findall(text))


def _content_of(tokens: Iterable[str]) -> frozenset[str]:
    return frozenset(w for w in map(str.lower, tokens) if w not in _STOPWORDS)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
