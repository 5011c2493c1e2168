"""Watchlist -> compiled matcher; article -> matches with evidence. Pure.

The whole watchlist's names, aliases and topic keywords compile into ONE Aho-Corasick automaton
(ahocorasick-rs) over folded text (see ``fold.py``). Each term is stored as ``" term "`` (or
``" prefix"`` for a keyword ending in ``*``), and the text is folded and padded, so the automaton
reports only whole-word hits. It reads the folded text with its space runs (punctuation leaves
one at every comma) and, only where a multi-word term may run across a run, again collapsed to
single spaces (``Matcher._scan``); a hit with exclusions to read reads the text around it
single-spaced. One pass over each field
finds everything; Python only looks at the hits, in the same pass:

- a company hit does not count if one of the company's exclusions (patterns: ``Next <time>``) or
  people (``Doug Ford``) covers it, or, for ``case_sensitive`` companies, if the original surface
  is lower case where the term is not (accents and punctuation still fold);
- a hit of a one-word, capitalised name of an *ambiguous* company (one with any rule or hint, see
  ``disambiguate.is_ambiguous``) is a candidate: once both fields are scanned, ``disambiguate``
  scores it from the cues around it (capitals, company verbs, legal suffixes, context and sense
  words, other watched companies and topics ...) and keeps it, with the deciding cues as evidence,
  only above the fitted threshold. Other hits (multi-word names, acronyms, names of companies
  with no rules) count as before, so the scoring costs nothing for them;
- a multi-word hit does not count across a sentence break (``"... Apple. Shell ..."``);
- an occurrence inside a longer occurrence of the same company or topic is not counted again.

Speed (``python tests/bench/bench_match.py``): the work per hit is kept small, since a 5 KB article
has ~20: offsets map back by arithmetic (through lists only where the fold changed offsets or the
text was collapsed), and a ``Match`` is built (as a draft of its layout, ``_draft_class``) only
for hits that pass every check; the commonest hit (a one-word key of one term with no checks)
takes a short path in ``_scan``. A Match's sentence is found only when something reads it
(``why``, evidence, rendering, summaries: ``alert._LazySentence``), since most matched articles
alert no one; a scored candidate's sentence is found at once (the scoring reads it), with two
short regex searches (reused for the next hit in the same sentence). The automaton reads bytes
(for a str the library maps every byte offset to a character offset), a hit with exclusions
reads the text around it single-spaced instead of the whole field being scanned again, and the
fold takes Python's Latin-1 encoder where it can (``fold._fold_latin``). Where the time goes
(10,000 names, 5 KB mixed articles of ~20 hits, ~105 us an article on a loaded machine, ~90
unloaded): the automaton ~30 us, folding ~10 us, ``_scan``'s Python (title and text) ~30 us,
the scoring of ambiguous candidates ~20 us (0.3 an article: most of it ``disambiguate.cues``),
sorting the hits and building the Matches ~14 us.

The scoring (the example watchlist's line of ``bench_match``, 16 candidates in a 1.3 KB article:
~1,050 -> ~1,450 art/s, side by side): the work shared by the candidates of an article is done
once for it (``_read``): per sentence (``disambiguate.SentenceFacts``: its long words, capitals,
ticker/exchange, German), and for the article's hint words, one pass of the watchlist's
``HintIndex`` automaton instead of one ``re.search`` of the article per name and kind; a
decision is remembered per cue set (``disambiguate.decide``); exclusion and person checks ask
a leading-space pattern first (``disambiguate.covered``). A 93,000-character text with no full
stop and ~500 candidates in its one sentence: 4.6 s -> 0.9 s. Each candidate still folds its
sentence before and after it (``disambiguate._hinted``), so a hit's sentence reaches at most
``SENTENCE_REACH`` characters on each side of it: 100,000 characters of the example watchlist's
names and common words with no full stop (~2,000 candidates) took 6 s, now 0.5 s, linear in the
length; the labelled sentences are far shorter, and their scores did not move.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, cast

import ahocorasick_rs

from bot.domain.alert import Field, Match, MatchKind, MatchResult
from bot.domain.watchlist import Watchlist
from bot.pipeline.disambiguate import (
    HintIndex,
    Hints,
    Occurrence,
    SentenceFacts,
    compile_hints,
    covered,
    cues,
    decide,
    is_ambiguous,
    is_scored_term,
)
from bot.pipeline.evidence import Seen
from bot.text.fold import FoldedText, fold_keep_case, fold_term

COMPANY: MatchKind = "company"
TOPIC: MatchKind = "topic"
_FIELDS: tuple[Field, Field] = ("title", "text")

# One watched term of a key: (kind, owner index, term as written, reported name, the owner's
# hints if it is ambiguous, the term is scored per occurrence, the owner is case-sensitive, the
# term itself spans a sentence break).
_Term = tuple[MatchKind, int, str, str, Hints | None, bool, bool, bool]
# A key's terms when none of them has a check but the sentence break: (kind, name, term, the
# term spans a break).
_Plain = tuple[tuple[MatchKind, str, str, bool], ...]
# A key's payload, by the key's index in the automaton: (is prefix, is multi-word, terms, the
# same terms as ``_Plain`` if none has hints or case, else None: the hit needs no other check;
# an owner has exclusions or people, which are read on single-spaced text). None for a marker
# key (``_spaced_markers``).
_Payload = tuple[bool, bool, list[_Term], _Plain | None, bool] | None
# A hit that passed: (field index, start, -end, order found, kind, name, term, evidence); sorts
# as reported.
_Found = tuple[int, int, int, int, MatchKind, str, str, tuple[str, ...]]
# A candidate to score: (field index, start, end, owner index, name, term, hints).
_Candidate = tuple[int, int, int, int, str, str, Hints]
# A hit an exclusion or a person vetoed (kept only by ``explain``): (field index, padded start,
# padded end, name, hints).
_Vetoed = tuple[int, int, int, str, Hints]
Cues = frozenset[str]

# Sentence end: . ! ? … (+ closing quotes) before a space or the end, or a line break. Written
# to start with one character class (same matches as "[.!?…]+[\"'”’»)\]]*(?=\s|$)|\n").
_SENTENCE_END = re.compile(r"[\n.!?…](?:(?<=\n)|(?<=[.!?…])[.!?…]*[\"'”’»)\]]*(?=\s|$))")
# The same boundary read backwards (in the reversed text): a line break, or the character after
# the space that follows the punctuation (starts with one character class, like the above).
_SENTENCE_START_REVERSED = re.compile(
    r"[\n\"'”’»)\].!?…](?:(?<=\n)|(?<=\s[\"'”’»)\]])[\"'”’»)\]]*[.!?…]|(?<=\s[.!?…]))")
# How far a hit's sentence may reach on each side (see ``_Sentences._bounds``)
SENTENCE_REACH = 600
_BREAK = re.compile(r"[.!?;:,…][\"'”’»)\]]*\s|\n\s*\n")


class Matcher:
    """A compiled watchlist. Build with ``compile_watchlist``; ``match`` is pure and thread-safe."""

    def __init__(self, watchlist: Watchlist) -> None:
        self.watchlist = watchlist
        keys: dict[str, list[_Term]] = {}
        for i, c in enumerate(watchlist.companies):
            hints = compile_hints(c) if is_ambiguous(c) else None
            for term in (c.name, *c.aliases):
                scored = hints is not None and is_scored_term(term)
                _add(keys, (COMPANY, i, term, c.name, hints, scored, c.case_sensitive,
                            _BREAK.search(term) is not None), prefix=False)
        for j, t in enumerate(watchlist.topics):
            for kw in t.keywords:
                breaks = _BREAK.search(kw) is not None
                _add(keys, (TOPIC, j, kw, t.name, None, False, False, breaks),
                     prefix=kw.endswith("*"))
        self._automaton: ahocorasick_rs.BytesAhoCorasick | None = None
        self._payloads: list[_Payload] = []
        # by key, for ``_scan``'s quick path: the one plain term (kind, name, term, breaks) of a
        # one-word key of one term with no checks (most keys), else None; and whether each key
        # is a prefix (a byte each)
        self._simple: list[tuple[MatchKind, str, str, bool] | None] = []
        self._prefixed = b""
        if keys:
            for key, terms in keys.items():
                prefix = key[-1] != " "
                multi = key.count(" ") > (1 if prefix else 2)
                plain = None
                covers = False
                if all(t[4] is None and not t[6] for t in terms):
                    plain = tuple((t[0], t[3], t[2], t[7]) for t in terms)
                else:
                    covers = any(t[4] is not None and (t[4].exclude is not None
                                                       or t[4].people is not None) for t in terms)
                # (no copy: less GC)
                self._payloads.append((prefix, multi, terms, plain, covers))
                self._simple.append(plain[0] if plain is not None and len(plain) == 1
                                    and not multi else None)
            self._prefixed = bytes(p[0] for p in self._payloads if p is not None)
            markers = _spaced_markers(keys)
            self._payloads.extend([None] * len(markers))
            self._simple.extend([None] * len(markers))
            # the library picks the automaton's layout by size (a DFA for small watchlists); it
            # reads UTF-8 bytes: for a str the library maps every byte offset to a character
            # offset (an 8-byte slot a byte, a tenth of the matcher's work on 5 KB), where the
            # folded text is ASCII nearly always and its offsets the same (``_hits``)
            self._automaton = ahocorasick_rs.BytesAhoCorasick(  # (one key's bytes at a time)
                key.encode() for key in (*keys, *markers))
        self.size = len(keys)
        self._hint_index = HintIndex([t[4] for terms in keys.values() for t in terms
                                      if t[4] is not None and t[5]])

    def match(self, title: str, text: str) -> MatchResult:
        """Every counted occurrence in ``title`` and ``text``, with evidence."""
        if self._automaton is None or not (title or text):
            return MatchResult()
        docs, found, candidates = self._collect(title, text)
        finders = _finders(docs)  # shared with ``_result``: each text is reversed once
        for candidate, _, found_cues in _read(candidates, docs, found, finders, self._hint_index):
            decision = decide(found_cues)
            if decision.accepted:
                fi, start, end, _, name, term, _ = candidate
                found.append((fi, start, -end, len(found), COMPANY, name, term,
                              decision.evidence))
        return _result(found, finders) if found else MatchResult()

    def candidates(self, title: str, text: str) -> tuple[set[str], list[tuple[str, Cues]]]:
        """For fitting and explaining: the companies that count without scoring, and each scored
        candidate's name with its cues."""
        if self._automaton is None:
            return set(), []
        docs, found, candidates = self._collect(title, text)
        plain = {f[5] for f in found if f[4] == COMPANY}
        read = _read(candidates, docs, found, _finders(docs), self._hint_index)
        return plain, [(c[4], cs) for c, _, cs in read]

    def explain(self, title: str, text: str) -> list[Seen]:
        """For ``why`` and previews only: every occurrence of a scored name with its cues, and
        every one an exclusion or a person vetoed (``evidence.reading`` decides and words it)."""
        if self._automaton is None:
            return []
        vetoed: list[_Vetoed] = []
        docs, found, candidates = self._collect(title, text, vetoed)
        article = docs[0].collapsed + docs[1].collapsed
        seen = [Seen(c[4], _FIELDS[c[0]], occ.sentence, occ.start, occ.end, article, cs, c[6])
                for c, occ, cs in _read(candidates, docs, found, _finders(docs),
                                        self._hint_index)]
        return seen + [_veto(v, docs, article) for v in vetoed]

    def _collect(self, title: str, text: str, vetoed: list[_Vetoed] | None = None
                 ) -> tuple[tuple[FoldedText, FoldedText], list[_Found], list[_Candidate]]:
        docs = (FoldedText(title or "", collapse=False), FoldedText(text or "", collapse=False))
        found: list[_Found] = []
        candidates: list[_Candidate] = []
        for fi, doc in enumerate(docs):
            if doc.original:
                counts = len(found), len(candidates)
                if not self._scan(fi, docs, found, candidates, vetoed):
                    # the text with its space runs does not do: again on single spaces
                    del found[counts[0]:], candidates[counts[1]:]
                    doc.collapse()
                    self._scan(fi, docs, found, candidates, vetoed)
        return docs, found, candidates

    def _scan(self, fi: int, docs: tuple[FoldedText, FoldedText], found: list[_Found],
              candidates: list[_Candidate], vetoed: list[_Vetoed] | None) -> bool:
        """Add the hits in field ``fi`` that pass the checks, with spans in the original text;
        hits to be scored go to ``candidates``.

        The automaton first reads the folded text with its space runs (``doc.padded`` before
        ``collapse()``): the same hits as on single spaces unless a multi-word key runs across a
        space run (a marker key says so: ``_spaced_markers``). Then this returns False, having
        added nothing, and the caller collapses the text and scans again. A hit with exclusions
        or people to read (patterns written for single spaces) reads the text around it made
        single-spaced (``_single_spaced``), except for ``explain``, whose vetoes keep spans in
        the single-spaced text: it scans again too."""
        assert self._automaton is not None
        doc = docs[fi]
        padded, original = doc.padded, doc.original
        hits = _hits(self._automaton, padded)
        if not hits:
            return True
        spaced = doc.collapse_map is None
        # A hit inside one word (most hits) has no space run in it: in the text with its runs
        # ``padded`` index - 1 is the folded index, after collapsing one bisect finds it; the
        # folded index is the original one where the fold kept every offset, else one bisect
        # in the pieces of ``doc.unfold_map`` finds it (``FoldedText.unfold`` inline).
        pstarts, fstarts = doc.collapse_map or ([], [])
        linear = doc.keeps_offsets
        fpos, opos, lin = ([0], [0], [1]) if linear else doc.unfold_map()
        # before the first piece that does not keep offsets nothing moves; after the last, all
        # by the same shift (if that piece runs on 1:1)
        first = fpos[1] if len(fpos) > 1 else len(padded)
        last, shift_last = fpos[-1], (opos[-1] - fpos[-1] if lin[-1] else None)
        # between: the shift of the piece ``bisect_right(fpos, i) - 1`` (None: an expansion)
        shift = [] if linear else [None, *(o - f if one else None
                                           for f, o, one in zip(fpos, opos, lin, strict=True))]
        payloads, simple, prefixed, find = (self._payloads, self._simple, self._prefixed,
                                            padded.find)
        # every key starts with a space: a hit's word starts after it (``ps``); ``pe`` is the
        # space after the hit's last word (a prefix key's word runs on to the next space)
        for index, ks, ke in hits:
            one = simple[index]
            if one is not None and spaced:  # most hits: a one-word key of one term, no checks
                end = (find(" ", ke) if prefixed[index] else ke - 1) - 1
                if end < first:
                    found.append((fi, ks, -end, len(found), one[0], one[1], one[2], ()))
                    continue
                if ks >= last and shift_last is not None:
                    found.append((fi, ks + shift_last, -end - shift_last, len(found), one[0],
                                  one[1], one[2], ()))
                    continue
                to_start = shift[bisect_right(fpos, ks)]
                to_end = shift[bisect_right(fpos, end)]
                if to_start is not None and to_end is not None:
                    found.append((fi, ks + to_start, -end - to_end, len(found), one[0], one[1],
                                  one[2], ()))
                    continue
            payload = payloads[index]
            if payload is None:  # a marker: only ever found in text with its space runs
                return False
            prefix, multi, terms, plain, covers = payload
            pe = padded.find(" ", ke) if prefix else ke - 1
            if spaced:
                if covers and vetoed is not None:  # ``explain`` reads vetoes on single spaces
                    return False
                start, end = ks, pe - 1
            elif multi:
                start, end = doc.span(ks + 1, pe)
            else:
                i = bisect_right(pstarts, ks + 1) - 1
                start = fstarts[i] + ks + 1 - pstarts[i]
                end = start + pe - ks - 1
            if not linear and (spaced or not multi) and end >= first:
                if start >= last and shift_last is not None:
                    start, end = start + shift_last, end + shift_last
                else:
                    i = bisect_right(fpos, start) - 1
                    j = bisect_right(fpos, end, i) - 1
                    if i == j and lin[i]:
                        start, end = start + opos[i] - fpos[i], end + opos[i] - fpos[i]
                    else:
                        start, end = doc.unfold(start, end)
            if plain is not None:  # most hits: no hints, no case, so only the span was needed
                broken = multi and _BREAK.search(original, start, end) is not None
                for kind, name, term, breaks in plain:
                    if not broken or breaks:
                        found.append((fi, start, -end, len(found), kind, name, term, ()))
                continue
            # exclusions and people are patterns over single-spaced text: read around the hit
            text, ps, hit_end = (_single_spaced(padded, ks + 1, pe) if spaced and covers
                                 else (padded, ks + 1, pe))
            for kind, owner, term, name, hints, scored, case_sensitive, breaks in terms:
                if hints is not None and (
                        covered(hints.exclude, text, ps, hit_end, hints.exclude_in)
                        or covered(hints.people, text, ps, hit_end, hints.people_in)):
                    if vetoed is not None and scored:
                        vetoed.append((fi, ps, hit_end, name, hints))
                    continue
                if case_sensitive and not _same_case(original[start:end], term, scored):
                    continue
                if multi and not breaks and _BREAK.search(original, start, end):
                    continue
                if scored:
                    assert hints is not None
                    candidates.append((fi, start, end, owner, name, term, hints))
                else:
                    found.append((fi, start, -end, len(found), kind, name, term, ()))
        return True


def _spaced_markers(keys: dict[str, list[_Term]]) -> list[str]:
    """Keys that find where a multi-word key could run across a space run: each word that some
    multi-word key has another word after, followed by two spaces (``" societe  "``). Where
    none is found, no key runs across a run, and reading the text with its runs finds the same
    hits as reading it on single spaces: a key never has two spaces in it, so at each word the
    automaton is in the same state either way."""
    inner: dict[str, None] = {}
    for key in keys:
        words = key.split()
        for word in words[:-1]:
            inner[f" {word}  "] = None
    return list(inner)


def _hits(automaton: ahocorasick_rs.BytesAhoCorasick, text: str) -> list[tuple[int, int, int]]:
    """The automaton's overlapping hits in ``text``: (key index, start, end), in characters."""
    data = text.encode()
    hits = automaton.find_matches_as_indexes(data, overlapping=True)
    if not hits or len(data) == len(text):  # ASCII: byte offsets are character offsets
        return hits
    # Other scripts: each offset is at a character's start (every key starts with a space),
    # so the characters before it are those of the bytes before it, decoded.
    chars: dict[int, int] = {}
    at = count = 0
    for offset in sorted({o for _, start, end in hits for o in (start, end)}):
        count += len(data[at:offset].decode())
        chars[offset], at = count, offset
    return [(index, chars[start], chars[end]) for index, start, end in hits]


_RUN = re.compile("  +")


def _single_spaced(padded: str, ps: int, pe: int) -> tuple[str, int, int]:
    """The text around a hit ``padded[ps:pe]`` (text with its space runs) as the single-spaced
    text has it, and the hit's span in it: enough of it for ``disambiguate.covered`` (which
    reads 120 characters either side) to read the same as in the whole single-spaced text, so
    an exclusion's hit needs no second scan of the article on single spaces. A cut inside a
    run or a word still gives a piece of the single-spaced text, and the hit has no run in it
    (its key has single spaces)."""
    size = len(padded)
    reach = 256
    while True:
        a, b = max(0, ps - reach), min(size, pe + reach)
        before, after = _RUN.sub(" ", padded[a:ps]), _RUN.sub(" ", padded[pe:b])
        if (a == 0 or len(before) > 120) and (b == size or len(after) > 121):
            return before + padded[ps:pe] + after, len(before), len(before) + pe - ps
        reach *= 4


def _finders(docs: tuple[FoldedText, FoldedText]) -> tuple[_Sentences, _Sentences]:
    return _Sentences(docs[0].original), _Sentences(docs[1].original)


def _read(candidates: list[_Candidate], docs: tuple[FoldedText, FoldedText],
          found: list[_Found], finders: tuple[_Sentences, _Sentences], index: HintIndex
          ) -> Iterator[tuple[_Candidate, Occurrence, Cues]]:
    """Each candidate, where it is, and the cues around it (``disambiguate.cues``)."""
    if not candidates:
        return
    # the article is read only for hint words (context, senses, people): made only if asked;
    # where the index answers for each of them with one-word keys, it reads the text with its
    # space runs (the same words found), and the single-spaced article is not made
    asked = [p for c in candidates for p in (c[6].context_in, c[6].senses_in, c[6].people_in)
             if p is not None]
    spaced = bool(asked) and index.answers_spaced(asked)
    article = docs[0].collapsed + docs[1].collapsed if asked and not spaced else ""
    accepted = {f[5] for f in found if f[4] == COMPANY}
    topics = any(f[4] == TOPIC for f in found)
    named = {c[4] for c in candidates}
    in_article: dict[re.Pattern[str], bool] = {}
    sentences: dict[str, SentenceFacts] = {}
    words = (index.reader(docs[0].padded + docs[1].padded) if spaced
             else index.reader(article) if asked else None)
    for candidate in candidates:
        fi, start, end, _, name, _, hints = candidate
        finder = finders[fi]
        sentence = finder.around(start, end, True)
        local = start - finder.start
        occ = Occurrence(sentence, local, local + end - start, article,
                         bool((accepted | named) - {name}), topics, in_article, sentences, words)
        yield candidate, occ, cues(occ, hints)


def _veto(vetoed: _Vetoed, docs: tuple[FoldedText, FoldedText], article: str) -> Seen:
    """A vetoed hit as ``Seen``: its sentence, and the exclusion or person phrase, as written."""
    fi, ps, pe, name, hints = vetoed
    doc = docs[fi]
    start, end = doc.span(ps, pe)
    finder = _Sentences(doc.original)
    sentence = finder.around(start, end, True)
    veto: tuple[str, str] = ("exclude", "")
    for kind, pattern in (("exclude", hints.exclude), ("people", hints.people)):
        for m in pattern.finditer(doc.padded) if pattern is not None else ():
            if m.start() <= ps and m.end() >= pe:
                a, b = doc.span(m.start(), m.end())
                veto = (kind, doc.original[a:b])
                break
        if veto[1]:
            break
    local = start - finder.start
    return Seen(name, _FIELDS[fi], sentence, local, local + end - start, article, frozenset(),
                hints, veto)


def _add(keys: dict[str, list[_Term]], term: _Term, *, prefix: bool) -> None:
    written = term[2]
    body = fold_term(written[:-1] if prefix else written)
    if not body:
        return
    key = f" {body}" if prefix else f" {body} "
    terms = keys.get(key)
    if terms is None:
        keys[key] = [term]
    elif not any(t[0] == term[0] and t[1] == term[1] for t in terms):
        terms.append(term)


def _same_case(surface: str, term: str, scored: bool) -> bool:
    """The surface has the term's case; a scored name may also be written in capitals (an
    all-caps headline), which the scoring reads."""
    folded = fold_keep_case(surface)
    return folded == fold_keep_case(term) or (scored and folded.isupper())


class _Sentences:
    """The sentence of the original text around a span (split on . ! ? … and line breaks).

    Looks only near each hit: one regex search forward in the text and one backward (forward in
    the reversed text) instead of splitting the whole text (fewer characters scanned: hits are
    few and sentences short). Both patterns start with a character class, which ``re`` scans for
    quickly.
    """

    __slots__ = ("text", "reversed", "start", "_from", "_until", "_last", "_start")

    def __init__(self, text: str) -> None:
        self.text = text
        self.reversed = ""  # ``text`` reversed, made on the first search
        self._from = self._until = -1
        self._last = ""
        self.start = self._start = 0  # where the last sentence returned starts in ``text``

    def around(self, start: int, end: int, one_word: bool) -> str:
        """The sentence around ``text[start:end]``, a hit (``one_word``: no whitespace in it).

        After a hit with no sentence boundary inside it (any one-word hit), a hit that starts no
        earlier and ends before the next sentence end is in the same sentence: no boundary can
        lie between them. (Without this for multi-word hits, a 100,000-character text of 3,000
        names and no full stop searched the whole text for each: 1.7 s.)
        """
        if self._from <= start and end <= self._until:
            self.start = self._start
            return self._last
        left, right, until = self._bounds(start, end)
        raw = self.text[left:right]
        self._last = sentence = raw.strip()
        self.start = self._start = left + len(raw) - len(raw.lstrip())
        inside = not one_word and _SENTENCE_END.search(self.text, start, end) is not None
        self._from, self._until = (-1, -1) if inside or until < 0 else (start, until)
        return sentence

    def sentence(self, start: int, end: int) -> str:
        """``around`` without its memory of the last sentence: what a ``Match`` reads when its
        sentence is first asked for, in any order, from any thread."""
        left, right, _ = self._bounds(start, end)
        return self.text[left:right].strip()

    def _bounds(self, start: int, end: int) -> tuple[int, int, int]:
        """The sentence's bounds (before stripping), and where its end mark starts.

        A sentence reaches at most ``SENTENCE_REACH`` characters on each side of the hit (cut at
        a space): a real sentence is far shorter, and a text with no full stop (a hostile feed's
        100,000 characters) would otherwise make every candidate in it read all of it."""
        text, size = self.text, len(self.text)
        floor = max(0, start - SENTENCE_REACH)
        left = -1  # the space or line break before the sentence (stripped by the caller)
        here = size - start  # ``start - 1`` in the reversed text
        if not self.reversed:
            self.reversed = text[::-1]  # (two threads may both make it: the same string)
        reversed_ = self.reversed
        back = _SENTENCE_START_REVERSED.search(reversed_, here, size - floor)
        while back is not None:
            r = back.start()
            if reversed_[r] == "\n":
                left = size - 1 - r
                break
            if r > here:  # the space before it is at r - 1, which must not be before ``here``
                left = size - r
                break
            back = _SENTENCE_START_REVERSED.search(reversed_, r + 1, size - floor)
        if left < 0:  # the text's start, or the reach's (after a space there)
            cut = text.find(" ", floor, start) if floor else -1
            left = cut + 1 if cut >= 0 else floor
        ceiling = min(size, end + SENTENCE_REACH)
        m = _SENTENCE_END.search(text, end, ceiling)
        if m is not None:
            return left, m.end(), m.start()
        if ceiling < size:  # cut at the reach (before a space there)
            cut = text.rfind(" ", end, ceiling)
            ceiling = cut if cut >= 0 else ceiling
            return left, ceiling, -1  # -1: no next hit reuses this cut sentence
        return left, size, size


def _result(found: list[_Found], sentences: tuple[_Sentences, _Sentences]) -> MatchResult:
    """Drop occurrences inside a longer one of the same name; order by field, then position
    (then the order found); build a ``Match`` for each one kept (its sentence is found from
    ``sentences`` if read)."""
    found.sort()
    reach: dict[tuple[MatchKind, str, int], int] = {}
    kept: list[Match] = []
    companies: dict[str, None] = {}
    topics: dict[str, None] = {}
    draft, new, fields = _DRAFT, object.__new__, _FIELDS
    for fi, start, neg_end, _, kind, name, term, evidence in found:
        key = (kind, name, fi)
        end = -neg_end
        if end <= reach.get(key, -1):
            continue
        reach[key] = end  # sorted by start: a later one inside this one ends no later
        if draft is None:
            kept.append(Match(kind, name, term, fields[fi], start, end,
                              sentences[fi].sentence(start, end), evidence))
        else:  # (inline: a call a Match was a tenth of this loop)
            m = new(draft)
            m.kind = kind
            m.name = name
            m.alias = term
            m.field = fields[fi]
            m.start = start
            m.end = end
            m._source = sentences[fi]
            m.evidence = evidence
            m.__class__ = Match
            kept.append(m)
        (companies if kind == COMPANY else topics)[name] = None
    return MatchResult(tuple(companies), tuple(topics), tuple(kept))


def _match_draft() -> type[Any] | None:
    """The class ``_result`` builds each ``Match`` as (see ``_draft_class``), so that its
    sentence is found when first read (``alert._LazySentence``): most matches' sentences are
    never read (an article that alerts no one), and finding one is two regex searches. A frozen
    dataclass's ``__init__`` sets each field through ``object.__setattr__`` (0.65 us a Match,
    against 0.15). The same object (``==``, ``hash``, ``repr``, ``asdict``) as ``Match(...)``
    with the sentence. None (``_result`` calls the constructor, sentence found at once) if
    ``Match`` ever has other fields, a ``__post_init__`` or no slots, or Python refuses the
    draft."""
    names = ("kind", "name", "alias", "field", "start", "end", "sentence", "evidence")
    if (tuple(f.name for f in dataclasses.fields(Match)) == names
            and not hasattr(Match, "__post_init__") and not Match.__dictoffset__
            and Match.__new__ is object.__new__
            and "_source" in getattr(Match.__base__, "__slots__", ())):
        return _draft_class(names)
    return None


def _draft_class(names: tuple[str, ...]) -> type[Any] | None:
    """A class with ``Match``'s layout (same base, same slots) but plain attribute writes: a
    Match is filled in as one of these (a slot write is one fast bytecode; a descriptor's
    ``__set__`` a call) and then turned into a Match by setting its ``__class__``, which Python
    allows between classes of the same layout (0.15 us a Match; through the slots' descriptors
    0.38). None if Python refuses it or the result is not the same Match."""
    draft = type("_MatchDraft", (cast(type, Match.__base__),), {"__slots__": Match.__slots__})

    class _Source:
        def sentence(self, start: int, end: int) -> str:
            return "s"

    try:
        m: Any = object.__new__(draft)
        for n, v in zip(names, ("company", "n", "a", "text", 1, 2, None, ("e",)), strict=True):
            if n != "sentence":
                setattr(m, n, v)
        m._source = _Source()
        m.__class__ = Match
    except TypeError:
        return None
    same = Match("company", "n", "a", "text", 1, 2, "s", ("e",))
    return draft if type(m) is Match and m == same and hash(m) == hash(same) else None


_DRAFT = _match_draft()


_BY_IDENTITY: OrderedDict[int, tuple[Watchlist, Matcher]] = OrderedDict()
_BY_VALUE: OrderedDict[Watchlist, Matcher] = OrderedDict()
_CACHE_SIZE = 256  # as many as storage keeps parsed watchlists (one per tenant revision)
_CACHE_LOCK = threading.Lock()  # compiles run in worker threads (bot/jobs/compile.py)
_COMPILING: dict[int, threading.Lock] = {}  # id(watchlist) -> held while it compiles


def cached_matcher(watchlist: Watchlist) -> Matcher | None:
    """The compiled matcher of this very object, if compiled before (no hashing)."""
    with _CACHE_LOCK:
        hit = _BY_IDENTITY.get(id(watchlist))
        if hit is not None and hit[0] is watchlist:
            _BY_IDENTITY.move_to_end(id(watchlist))
            return hit[1]
    return None


def compile_watchlist(watchlist: Watchlist) -> Matcher:
    """Compile once per distinct watchlist (Watchlist is frozen and hashable). Thread-safe: a
    thread asking for a watchlist another thread is compiling waits for that one compile.

    The same object is found by identity without hashing it (hashing 100,000 companies costs
    tens of milliseconds); an equal but different object is found by value.
    """
    hit = cached_matcher(watchlist)
    if hit is not None:
        return hit
    with _CACHE_LOCK:
        compiling = _COMPILING.setdefault(id(watchlist), threading.Lock())
    try:
        with compiling:
            return cached_matcher(watchlist) or _compile(watchlist)
    finally:
        with _CACHE_LOCK:
            _COMPILING.pop(id(watchlist), None)


def _compile(watchlist: Watchlist) -> Matcher:
    with _CACHE_LOCK:
        matcher = _BY_VALUE.get(watchlist)
    if matcher is None:
        matcher = Matcher(watchlist)
    with _CACHE_LOCK:
        matcher = _BY_VALUE.setdefault(watchlist, matcher)
        if len(_BY_VALUE) > _CACHE_SIZE:
            _BY_VALUE.popitem(last=False)
        _BY_IDENTITY[id(watchlist)] = (watchlist, matcher)
        if len(_BY_IDENTITY) > _CACHE_SIZE:
            _BY_IDENTITY.popitem(last=False)
    return matcher

