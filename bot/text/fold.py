"""Case and accent folding for matching, with a map back to original offsets. Pure.

``fold`` applies one table that lower-cases (``casefold``: ß -> ss), strips accents (NFKD,
combining marks dropped), maps a few letters NFKD leaves alone (ø, ł, æ, œ ...) and turns every
character that is not a letter or digit into a space. Soft hyphens and other format characters are
deleted. ``FoldedText`` then collapses space runs and pads with one space each side, so a watchlist
term ``" societe generale "`` only ever hits whole words.

Most characters fold to exactly one character; the few that do not (ß, ligatures, combining marks)
are located only when a hit has to be mapped back to the original text. For mostly-ASCII text the
fold runs as an encode to one byte a character (``_fold``): Latin-1, with the few characters past
it fixed by hand (``_fold_latin``), or else a charmap of ASCII and 128 common accented letters
and punctuation marks whose error handler folds each run of the other characters; either notes
where the characters that grew are, so no scan is needed to find them.
"""

from __future__ import annotations

import codecs
import re
import threading
import unicodedata
from bisect import bisect_right
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _codecs import _EncodingMap

# Letters NFKD does not decompose but readers treat as a base letter plus a stroke or a ligature.
_EXTRA = {
    "ø": "o", "đ": "d", "ł": "l", "ħ": "h", "ı": "i", "ŀ": "l", "ŧ": "t",
    "æ": "ae", "œ": "oe", "þ": "th", "ð": "d", "ĸ": "q",
}
# Modifier letters used as apostrophes ("Nvidiaʼs"): separators, like ' and ’.
_APOSTROPHE_LETTERS = frozenset({0x02B9, 0x02BB, 0x02BC, 0x02BD, 0x02BE, 0x02BF})
_BMP = 0x10000


def _fold_char(ch: str, lower: bool = True) -> str:
    """What one character becomes in folded text ('' = deleted, ' ' = word separator)."""
    if ord(ch) in _APOSTROPHE_LETTERS:
        return " "
    cat = unicodedata.category(ch)
    if cat[0] == "M" or cat == "Cf":
        return ""
    if cat[0] not in "LN":
        return " "
    decomposed = unicodedata.normalize("NFKD", ch)
    if lower:
        decomposed = unicodedata.normalize("NFKD", decomposed.casefold())
    out: list[str] = []
    for c in decomposed:
        kind = unicodedata.category(c)[0]
        if kind == "M":
            continue
        if ord(c) in _APOSTROPHE_LETTERS:  # "ŉ" -> "ʼn": a separator, as "ʼ" alone is
            out.append(" ")
            continue
        base = _EXTRA.get(c.lower())
        if base is not None:
            out.append(base if lower or c.islower() else base.capitalize())
        else:
            out.append(c if kind in "LN" else " ")
    return "".join(out) or " "


class _FoldTable(dict[int, str]):
    """Translate table: the BMP precomputed, rarer code points computed (1:1) on first sight."""

    def __init__(self, lower: bool) -> None:
        super().__init__()
        self.lower = lower

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        value = _fold_char(ch, self.lower)
        if cp >= _BMP and len(value) != 1:  # keep astral characters 1:1 (no offset bookkeeping)
            value = " " if value in ("", " ") else (ch.lower() if self.lower else ch)
            value = value if len(value) == 1 else ch
        if len(self) < 200_000:
            self[cp] = value
        return value


@lru_cache(maxsize=1)
def _tables() -> tuple[_FoldTable, re.Pattern[str], dict[int, str]]:
    """The folding table (BMP filled in), a regex finding characters that do not fold 1:1, and
    a plain-dict copy (``str.translate`` looks a plain dict up faster than a subclass)."""
    table = _FoldTable(lower=True)
    odd: list[int] = []
    for cp in range(_BMP):
        value = _fold_char(chr(cp))
        table[cp] = value
        if len(value) != 1:
            odd.append(cp)
    return table, re.compile(f"[{_ranges(odd)}]"), dict(table)


@lru_cache(maxsize=1)
def _keep_case_table() -> _FoldTable:
    return _FoldTable(lower=False)


def _ranges(cps: list[int]) -> str:
    """A regex character-class body for sorted code points, as ranges."""
    parts: list[str] = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        lo, hi = re.escape(chr(cps[i])), re.escape(chr(cps[j]))
        parts.append(lo if i == j else f"{lo}-{hi}")
        i = j + 1
    return "".join(parts)


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_HANDLER = "newsbot.fold"
_GROWN = threading.local()  # the fast path's log of runs that fold longer (this thread's call)


@lru_cache(maxsize=1)
def _ascii_table() -> dict[int, str]:
    """The fold of the 128 ASCII characters: all ASCII text needs, without the BMP table (65,536
    characters through ``unicodedata``, ~0.1 s: a start-up that reads only ASCII config and
    answers 304s should not pay it)."""
    return {cp: _fold_char(chr(cp)) for cp in range(128)}


def fold(text: str) -> str:
    """Lower-case, accent-free text where every non-word character is a space (not collapsed)."""
    if text.isascii():  # watchlist terms, mostly: no detour
        return text.translate(_ascii_table())
    return _fold(text)[0]


def _fold(text: str) -> tuple[str, list[int] | None]:
    """``fold(text)``, and where the characters that do not fold to exactly one character are
    (``[]``: folded offsets are original offsets; ``None``: not known, look them up).

    ``str.translate`` is only fast on ASCII strings, and news text is mostly ASCII with a few curly
    quotes and accented words. So the text is encoded to bytes, one byte a character, through a
    charmap (``_fast_path``): ASCII as itself, and 128 common non-ASCII characters that fold to
    one ASCII character (curly quotes, dashes, the accented letters of Latin-1 and the commonest
    of Latin Extended-A) as the bytes 128-255. An error handler folds each run of the other
    characters through the table (``_fold_run``), and one ``bytes.translate`` folds the rest:
    several times faster than translating the string, and the handler (a Python call a run) runs
    only for rarer characters (other scripts, the rarer ligatures). It gives up (and the slow path
    below runs) when a run folds to non-ASCII (other scripts) or deletes a character. Before it,
    text of Latin-1 and a few other characters takes ``_fold_latin`` (faster still).
    """
    if text.isascii():
        return text.translate(_ascii_table()), []
    latin = _fold_latin(text)
    if latin is not None:
        return latin
    byte_table, charmap = _fast_path()
    grown: list[int] = []
    _GROWN.runs = grown
    try:
        data = codecs.charmap_encode(text, _HANDLER, charmap)[0]
    except UnicodeEncodeError:
        pass
    else:
        folded = data.translate(byte_table)
        if folded.isascii():
            return folded.decode("ascii"), _odd_in_runs(text, grown)
        folded, odd = _expand(folded, text, _odd_in_runs(text, grown), _placeholders())
        return folded.decode("ascii"), odd
    finally:
        _GROWN.runs = None
    table, _, plain = _tables()
    if len(text.encode("utf-8")) - len(text) > len(text) // 16:
        return text.translate(table if _ASTRAL.search(text) else plain), None
    return _NON_ASCII.sub(lambda m: m.group().translate(table), text).translate(plain), None


# Non-ASCII characters the fast path encodes as one byte each, in order of preference (the first
# 128 that fold to one ASCII character, or to several (``_EXPANDING``), are taken): punctuation
# news is full of, Latin-1 but for a few symbols news hardly writes, then the letters of Latin
# Extended-A that news writes most (Central European and Turkish names).
_COMMON = ("\u2019\u2018\u201c\u201d\u2013\u2014\u2026\u2022\u201a\u201e\u2039\u203a\u2032\u2033"
           + "".join(chr(cp) for cp in range(0xA0, 0x100) if chr(cp) not in "¤¦¨¯¸")
           + "œŒčćšžđłńśźżąęőűřěůňťďşğıāēīūČĆŠŽĐŁŚŹŻŘŞİŐŰĚŮ")
# Characters of ``_COMMON`` that fold to several ASCII characters (German ß, the ligatures of
# Danish, Norwegian and French): their bytes are placeholders, replaced after the translation
# (``_expand``), so that text with them needs no call of the error handler (~3 us a call).
_EXPANDING = "ßæÆœŒ"


@lru_cache(maxsize=1)
def _fast_path() -> tuple[bytes, dict[int, int] | _EncodingMap]:
    """Register the encode error handler (once per process); return the charmap of ``_fold``'s
    fast path and the table folding its bytes (every byte's character folded, as ASCII)."""
    plain = _tables()[2]
    codecs.register_error(_HANDLER, _fold_run)
    common = [ch for ch in _COMMON if plain[ord(ch)].isascii()
              and (len(plain[ord(ch)]) == 1 or ch in _EXPANDING)]
    common = list(dict.fromkeys(common))[:128]
    chars = "".join(chr(b) for b in range(128)) + "".join(common)
    # an expanding character's byte stays itself (a placeholder, not ASCII)
    table = (bytes(b if ch in _EXPANDING else ord(plain[ord(ch)]) for b, ch in enumerate(chars))
             + bytes(range(len(chars), 256)))
    return table, codecs.charmap_build(chars)


@lru_cache(maxsize=1)
def _placeholders() -> tuple[tuple[str, bytes, bytes], ...]:
    """Each ``_EXPANDING`` character the fast path encodes: the character, its placeholder byte
    and what it folds to."""
    table, charmap = _fast_path()
    plain = _tables()[2]
    out = []
    for ch in _EXPANDING:
        byte = codecs.charmap_encode(ch, "strict", charmap)[0]
        out.append((ch, byte, plain[ord(ch)].encode("ascii")))
    return tuple(out)


def _expand(folded: bytes, text: str, odd: list[int],
            placeholders: tuple[tuple[str, bytes, bytes], ...]) -> tuple[bytes, list[int]]:
    """The fast path's folded bytes with each placeholder replaced by what its character folds
    to (ß -> ss), and ``odd`` with where those characters are in ``text``."""
    where = set(odd)  # (a logged run may run on over one of them: ``_odd_in_runs``)
    for ch, byte, value in placeholders:
        if byte in folded:
            folded = folded.replace(byte, value)
            p = text.find(ch)
            while p >= 0:
                where.add(p)
                p = text.find(ch, p + 1)
    return folded, sorted(where)


# The Latin-1 path (``_fold_latin``) fixes at most this many characters past Latin-1 by hand.
_PAST_LATIN = 8
_QUESTION = ord("?")


@lru_cache(maxsize=1)
def _latin() -> tuple[bytes, tuple[tuple[str, bytes, bytes], ...]]:
    """The Latin-1 path's byte table (each Latin-1 character folded, where it folds to one ASCII
    character; else the byte stays, not ASCII) and its placeholders (ß, æ, Æ: ``_expand``)."""
    plain = _tables()[2]
    table = bytes(ord(plain[b]) if len(plain[b]) == 1 and plain[b].isascii() else b
                  for b in range(256))
    placeholders = tuple((ch, ch.encode("latin-1"), plain[ord(ch)].encode("ascii"))
                         for ch in _EXPANDING if ord(ch) < 256)
    return table, placeholders


def _fold_latin(text: str) -> tuple[str, list[int]] | None:
    """``_fold`` for text of Latin-1 characters and a few others (what most news in Western
    European languages is): Python's Latin-1 encoder (a tight loop, 3-4x faster than the
    charmap's lookup a character) with each character past Latin-1 as ``?``, which folds to a
    space, as punctuation does (curly quotes, dashes); the few that fold to a letter or digit
    (Central European letters) are set by hand. None (take the charmap) if more than
    ``_PAST_LATIN`` characters are past Latin-1 or question marks, or a character folds to
    anything but ASCII of the same length other than ß, æ, Æ (soft hyphens, ¼, µ)."""
    data = text.encode("latin-1", "replace")
    table, placeholders = _latin()
    folded = data.translate(table)
    at = data.find(_QUESTION)
    if at >= 0:
        fold_table = _tables()[0]
        fixed = bytearray(folded)
        left = _PAST_LATIN
        while at >= 0:
            left -= 1
            if left < 0:
                return None
            value = fold_table[ord(text[at])]
            if value != " ":
                if len(value) != 1 or not value.isascii():
                    return None
                fixed[at] = ord(value)
            at = data.find(_QUESTION, at + 1)
        folded = bytes(fixed)
    if folded.isascii():
        return folded.decode("ascii"), []
    folded, odd = _expand(folded, text, [], placeholders)
    return (folded.decode("ascii"), odd) if folded.isascii() else None


def _fold_run(exc: UnicodeError) -> tuple[str, int]:
    """Encode error handler: a run of non-ASCII characters, folded, if it folds to ASCII without
    deleting anything. Runs that grow (ß -> ss) are logged for the offset map."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    run = exc.object[exc.start:exc.end]
    out = _fold_ascii_run(run)
    grown = getattr(_GROWN, "runs", None)  # None: not called from _fold (a second copy of this
    if out is None or grown is None:       # module registered the name): take the slow path
        raise exc
    if len(out) != len(run):
        grown.append(exc.start)
    return out, exc.end


@lru_cache(maxsize=4096)
def _fold_ascii_run(run: str) -> str | None:
    """A run of non-ASCII characters folded, or None if that is not ASCII or deletes something
    (deletions and expansions could cancel out and hide an offset shift)."""
    out = run.translate(_tables()[0])
    return out if out.isascii() and not _deleted().search(run) else None


@lru_cache(maxsize=1)
def _deleted() -> re.Pattern[str]:
    """Characters the fold deletes (combining marks, soft hyphens, other format characters)."""
    table = _tables()[0]
    return re.compile(f"[{_ranges([cp for cp in range(_BMP) if table[cp] == ''])}]")


def _odd_in_runs(text: str, starts: list[int]) -> list[int]:
    """Offsets of the characters that fold to more than one, inside the logged runs."""
    if not starts:
        return []
    table = _tables()[0]
    odd: list[int] = []
    p = 0
    for start in starts:
        p = max(p, start)
        while p < len(text) and not text[p].isascii():
            if len(table[ord(text[p])]) != 1:
                odd.append(p)
            p += 1
    return odd


def fold_term(term: str) -> str:
    """A watchlist term as the automaton stores it: folded, single spaces, no edge spaces."""
    return " ".join(fold(term).split())


def fold_keep_case(text: str) -> str:
    """Accents stripped and separators normalised, case kept: compares case-sensitive names."""
    return " ".join(text.translate(_keep_case_table()).split())


def _collapse(folded: str) -> tuple[str, tuple[list[int], list[int]]]:
    """``" " + words + " "`` with single spaces, and the map back to ``folded`` (see
    ``FoldedText.collapse_map``).

    One pass over the space runs (``str.find``, C speed) collapses them and records the map back:
    the piece after a run starts at the run's end, less the spaces deleted so far.
    """
    lead = len(folded) - len(folded.lstrip(" "))
    stop = len(folded.rstrip(" "))
    pieces = [" "]
    pstarts, fstarts = [1], [lead]
    find = folded.find
    start, shift = lead, 1 - lead  # shift: padded index - folded index in this piece
    i = find("  ", lead, stop)
    while i >= 0:
        j = i + 2
        while folded[j] == " ":  # runs end before ``stop``: the text ends with a word there
            j += 1
        pieces.append(folded[start:i + 1])
        shift -= j - i - 1
        pstarts.append(j + shift)
        fstarts.append(j)
        start = j
        i = find("  ", j, stop)
    pieces.append(folded[start:stop])
    pieces.append(" ")
    return "".join(pieces), (pstarts, fstarts)


class FoldedText:
    """One field's text folded for matching, and the way back to original offsets.

    ``padded`` is ``" " + words + " "`` with single spaces. ``span(ps, pe)`` turns a word span in
    ``padded`` (start of the first word, index of the space after the last) into ``(start, end)``
    in the original text. The map over collapsed space runs is built with ``padded``; the one to
    original offsets on the first ``span`` call, and not at all when the fold kept every offset
    (ASCII, accents, curly quotes).

    With ``collapse=False``, ``padded`` is ``" " + folded + " "``, space runs kept (a 5 KB article
    has one at every comma or full stop: collapsing them is a sixth of the matcher's time) and
    ``span`` maps from it; ``collapse()`` switches to single spaces when a caller needs them, and
    ``collapsed`` is the single-spaced text either way.

    Space runs are found with ``str.find`` (C speed; a regex over a 5 KB text costs ~40
    instructions a character: ``re.split`` on the runs was a tenth of the matcher's time).
    """

    __slots__ = ("original", "folded", "padded", "keeps_offsets", "collapse_map", "_odd",
                 "_unfold", "_collapsed")

    def __init__(self, original: str, *, collapse: bool = True) -> None:
        self.original = original
        folded, self._odd = _fold(original)
        self.folded = folded
        self.keeps_offsets = self._odd is not None and not self._odd
        self._unfold: tuple[list[int], list[int], list[int]] | None = None
        self._collapsed: str | None = None
        # padded index -> folded index: piece k of ``padded`` starts at ``pstarts[k]`` and at
        # ``fstarts[k]`` in ``folded`` (None while ``padded`` keeps the runs: index - 1); where
        # ``keeps_offsets``, folded indexes are original ones
        self.collapse_map: tuple[list[int], list[int]] | None = None
        self.padded = f" {folded} "
        if collapse:
            self.collapse()

    def collapse(self) -> None:
        """``padded`` with single spaces from now on (``span`` maps from it)."""
        if self.collapse_map is None:
            self.padded, self.collapse_map = _collapse(self.folded)

    @property
    def collapsed(self) -> str:
        """``padded`` with single spaces, whether or not ``padded`` is (made once)."""
        if self.collapse_map is not None:
            return self.padded
        if self._collapsed is None:
            self._collapsed = _collapse(self.folded)[0]
        return self._collapsed

    def span(self, ps: int, pe: int) -> tuple[int, int]:
        cmap = self.collapse_map
        if cmap is None:
            start, end = ps - 1, pe - 1
        else:
            pstarts, fstarts = cmap
            i = bisect_right(pstarts, ps) - 1
            start = fstarts[i] + ps - pstarts[i]
            i = bisect_right(pstarts, pe - 1, i) - 1
            end = fstarts[i] + pe - pstarts[i]  # the folded index after the last character, + 1
        if self.keeps_offsets:
            return start, end
        return self.unfold(start, end)

    def unfold(self, start: int, end: int) -> tuple[int, int]:
        """A span of ``folded`` as a span of ``original`` (the same where ``keeps_offsets``)."""
        if self.keeps_offsets:
            return start, end
        # Folded index -> index of the original character that produced it.
        fpos, opos, linear = self.unfold_map()
        i = bisect_right(fpos, start) - 1
        j = bisect_right(fpos, end, i) - 1
        # an end inside one character's expansion ("¼" -> "1 4", a match on "1") ends after it
        inside = not linear[j] and end > fpos[j]
        return (opos[i] + (start - fpos[i]) * linear[i],
                opos[j] + 1 if inside else opos[j] + (end - fpos[j]) * linear[j])

    def unfold_map(self) -> tuple[list[int], list[int], list[int]]:
        """The map ``unfold`` reads (made once): folded indexes where a piece starts, the
        original index each starts at, and whether the piece runs on 1:1 (1) or is one
        character's expansion (0); the matcher reads it inline, hit by hit."""
        unfold = self._unfold
        if unfold is None:
            unfold = self._unfold = self._unfold_map()
        return unfold

    def _unfold_map(self) -> tuple[list[int], list[int], list[int]]:
        table, odd, _ = _tables()
        points = [(0, 0, 1)]  # (folded index, original index, 1 = linear / 0 = constant)
        shift = 0  # original index - folded index, for the characters after the last odd one
        where = self._odd
        if where is None:
            where = [m.start() for m in odd.finditer(self.original)]
        for p in where:
            size = len(table[ord(self.original[p])])
            fp = p - shift
            if size == 0:  # deleted (combining mark, soft hyphen): next char starts here
                shift += 1
                points.append((fp, p + 1, 1))
            else:  # expanded (ß -> ss): all its folded chars map to it
                points.append((fp, p, 0))
                shift -= size - 1
                points.append((fp + size, p + 1, 1))
        return [a for a, _, _ in points], [b for _, b, _ in points], [c for _, _, c in points]
