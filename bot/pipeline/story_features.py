"""What story detection compares: one article's signature. Pure.

- ``sketch``: a bottom-k sketch (the ``SKETCH`` smallest crc32 hashes) of the article's
  vocabulary (distinct words of four letters or more, folded); two sketches estimate the Jaccard
  similarity of two vocabularies: about 1 for syndicated copies, 0.2-0.5 for rewrites of one
  event, under 0.15 for other news of the same people. (On the labelled set it separated copies
  better than 3-word shingles, and costs less.)
- ``names``: the article's most prominent names (words written with a capital that the text never
  writes in lower case, so "The" or "Le" at a sentence start do not count), folded, the title's
  first. Companies, people and places carry across our five languages where words do not.
- ``numbers``: amounts and percentages normalised across languages and notations: "$2bn",
  "2 billion dollars", "2 Milliarden Dollar" and "deux milliards" are all ``2e9``; "15%",
  "15 per cent" and "15 Prozent" are ``15%``. Bare numbers under 1,000 and years are left out
  (dates and ages say little about the event).
- ``wording``: a hash of every distinct word, short words and digits too: two short items (a
  title alone) are near-copies only when it is the same ("Acme news 0-1" is not "Acme news 0-2").
- ``event``: the kind of event the title and lede report (funding, acquisition, regulation, ...)
  from a small built-in lexicon in en/fr/de/es/it; a deal and the regulator's inquiry into it are
  two stories. Built in rather than read from a tenant's watchlist: an article belongs to one
  story whoever watches it.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from array import array
from collections.abc import Sequence
from itertools import compress, count
from operator import itemgetter

import ahocorasick_rs

from bot.domain.story import StoryFeatures

SKETCH = 48  # hashes kept per article for the Jaccard estimate and the index
WORDS = 160  # hashes kept for containment (about every content word of the lede)
MAX_NAMES = 16  # names kept per article
MAX_NUMBERS = 8
LEDE_CHARS = 1500  # what is read: the top of an article is what copies and rewrites share
EVENT_WORDS = 100  # words where the event kind is read (the title's count three times)
MEMO = 100_000  # numbers and event phrases whose reading is remembered across articles


# --- names ----------------------------------------------------------------------------------------
# capitalised words that are not names, in the languages where they are capitalised mid-sentence
_NOT_NAMES = frozenset({
    "i", "mr", "mrs", "ms", "dr", "st", "ceo", "cfo", "ap", "afp", "dpa", "reuters", "bloomberg",
    "however", "but", "and", "the", "this", "that", "january", "february", "march", "april",
    "may", "june", "july", "august", "september", "october", "november", "december", "monday",
    "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "januar", "februar",
    "marz", "juni", "juli", "oktober", "dezember", "montag", "dienstag", "mittwoch", "donnerstag",
    "freitag", "samstag", "sonntag", "prozent", "milliarden", "milliarde", "millionen", "million",
    "euro", "dollar", "dollars", "uhr", "jahr", "jahre", "jahren", "unternehmen", "konzern",
    "chef", "chefin", "sie", "er", "es", "ich", "wir", "ihr", "der", "die", "das", "den", "dem",
    "ein", "eine",
})
_START = "xxsx"  # marks a sentence start among the words (never a name: lower case)
_BREAK = "xxpx"  # marks other punctuation: a name does not run across it
_START_BYTES, _BREAK_BYTES = f" {_START}".encode(), f" {_BREAK}".encode()
# (newlines: str.replace, faster; "[.!?:;]" first, not "[.!?:;]+": with a set first re skips
# to the next mark in C, with a repeat first it tries a match at every character)
_SENTENCE_MARKS = re.compile(r"[.!?:;][.!?:;]*[\"')\]]*\s+")
_OTHER_MARKS = ",()[]\"/|"  # (each replaced by str.replace: cheaper than re reading every char)
# the words are the runs of ASCII letters and digits: every other byte made a space, then split
# (one bytes.translate and one split: cheaper than a regular expression's findall)
_NOT_WORD = bytes(c if chr(c).isascii() and chr(c).isalnum() else 32 for c in range(256))
MAX_RUN = 3  # words in one name ("Competition and Markets Authority" keeps "Markets Authority")


def _spaced(text: str) -> tuple[bytes, str]:
    """The text's words with sentence and punctuation marks, one space or more apart (ASCII
    bytes), and the text they were read from (accents stripped)."""
    plain = text
    if not plain.isascii():  # (ASCII text is its own NFKD form)
        plain = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode()
    marked = _SENTENCE_MARKS.sub(f" {_START} ", plain.replace("\n", f" {_START} "))
    for mark in _OTHER_MARKS:
        if mark in marked:
            marked = marked.replace(mark, f" {_BREAK} ")
    return marked.encode().translate(_NOT_WORD), plain  # (marked is ASCII)


def _title_case(title: Sequence[str]) -> bool:
    """Most longer words capitalised: an English-style headline, where capitals say nothing."""
    long = [w for w in title if len(w) > 3]
    return bool(long) and sum(w[0].isupper() for w in long) * 2 > len(long)


_first = itemgetter(0)


def _names(words: list[str], title_len: int) -> tuple[str, ...]:
    """The most prominent names (runs of name words): by mentions, a title mention counting
    three times.

    Name words are the capitalised words that are never written in lower case and are
    capitalised at least once inside a sentence of the text (so "The", "Meanwhile" or a
    title-case headline's words are not names). The capitalised words' places are found once
    (C calls per word: their first letter's case); the rest reads those places only."""
    capitals = list(compress(count(), map(str.isupper, map(_first, words))))
    mid = {words[i] for i in capitals if i > title_len and words[i - 1] != _START}
    if not _title_case(words[:title_len]):  # a sentence-case title's names count too
        mid.update(words[i] for i in capitals if 0 < i < title_len)
    written = set(words)  # (a capitalised word's lower-case form among them: written so)
    names = {w for w in mid if len(w) > 1 and w.lower() not in written}
    score: dict[str, int] = {}  # (a dict: a Counter's += on a new name calls Python)
    # runs of consecutive name words, words[start:end]; none crosses from the title to the
    # lede (a sentence mark is between them)
    start = end = 0
    for i in (*[i for i in capitals if words[i] in names], -1):
        if i != end:
            if end - start == 1:  # (most runs: one word)
                if (name := words[start].lower()) not in _NOT_NAMES:
                    score[name] = score.get(name, 0) + (3 if start < title_len else 1)
            elif end > start:
                name = " ".join(words[max(start, end - MAX_RUN):end]).lower()
                score[name] = score.get(name, 0) + (3 if start < title_len else 1)
            start = i
        end = i + 1
    # by mentions, then alphabetically: sorted by name, then (stable) by mentions
    ranked = sorted(sorted(score.items()), key=itemgetter(1), reverse=True)
    return tuple(map(itemgetter(0), ranked[:MAX_NAMES]))


# --- numbers --------------------------------------------------------------------------------------
_SCALES = {
    "k": 1e3, "thousand": 1e3, "mille": 1e3, "tausend": 1e3, "mil": 1e3,
    "m": 1e6, "mn": 1e6, "mln": 1e6, "million": 1e6, "millions": 1e6, "millionen": 1e6,
    "mio": 1e6, "millon": 1e6, "millones": 1e6, "milione": 1e6, "milioni": 1e6,
    "bn": 1e9, "b": 1e9, "billion": 1e9, "billions": 1e9, "milliard": 1e9, "milliards": 1e9,
    "milliarde": 1e9, "milliarden": 1e9, "mrd": 1e9, "md": 1e9, "mds": 1e9, "miliardo": 1e9,
    "miliardi": 1e9, "mil millones": 1e9, "trillion": 1e12, "billionen": 1e12,
}
_PERCENT = ("%", "percent", "per cent", "prozent", "pour cent", "pourcent", "por ciento",
            "per cento")
_WORD_NUMBERS: dict[str, float] = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10, "un": 1, "une": 1,
    "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "dix": 10, "ein": 1, "eine": 1, "zwei": 2,
    "drei": 3, "vier": 4, "funf": 5, "zehn": 10, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4,
    "cinco": 5, "diez": 10, "due": 2, "tre": 3, "quattro": 4, "dieci": 10,
}
_SCALE_ALT = "|".join(sorted((re.escape(s) for s in _SCALES), key=len, reverse=True))
_PCT_ALT = "|".join(re.escape(p) for p in _PERCENT)
_TAIL = rf"(?:\s?(?P<pct>{_PCT_ALT})|\s?(?P<scale>{_SCALE_ALT})\b\.?)"
_NUMBER = re.compile(r"(?P<num>\d(?<![\w.,]\d)(?:\d{0,2}(?:[.,\u00a0\u202f]\d{3})+"
                     r"|\d*(?:[.,]\d+)?))" + _TAIL + "?")
# (on lower-cased text; a number starts with a digit not inside a word or a number: the pattern
# opens with the digit, so re scans for digits, and looks behind only there)


_GROUPS = re.compile(r"[.,\u00a0\u202f]")
_NUMBER_WORDS = frozenset(_WORD_NUMBERS)
_NUMBER_BYTES = frozenset(w.encode() for w in _WORD_NUMBERS)  # (the folded words are bytes)
_SCALE_BYTES = frozenset(s.encode() for s in _SCALES)


def _number_value(raw: str) -> float | None:
    groups = _GROUPS.split(raw)
    if len(groups) > 1 and all(len(g) == 3 for g in groups[1:]):
        return float("".join(groups))  # thousands separators: 2,500 / 2.500 / 2 500
    try:
        return float(raw.replace(",", "."))  # a decimal point or comma: 2.5 / 2,5
    except ValueError:
        return None


def _token(value: float, pct: str | None, scale: str | None) -> str | None:
    """The canonical form of an amount, a percentage or a large bare number, else None."""
    if pct:
        return f"{float(f'{value:.3g}'):g}%"
    if scale:
        value *= _SCALES[scale.rstrip(".")]
    elif value < 1000 or (1900 <= value <= 2100 and value.is_integer()):
        return None
    return f"{float(f'{value:.3g}'):g}"


def _number_token(num: str, pct: str, scale: str) -> str | None:
    value = _number_value(num)
    return None if value is None else _token(value, pct, scale)


_NUMBER_TOKENS: dict[tuple[str, ...], str | None] = {}  # (num, pct, scale) -> token

# where a number can start, found without re reading every character (a number starts with a
# digit that follows neither a word character nor "." or ","): the text's ASCII bytes made
# "0" (digit), "a" (letter, "_", "." or ","), "?" (any other character, which could be a
# digit or a letter: "?" itself too) or " " (anything else); a start is then a "0" or "?"
# after a " " or "?" (or first), found by bytes.find
_NUMBER_CLASSES = bytes(48 if chr(c).isdigit() else 97 if chr(c).isalpha() or chr(c) in "_.,"
                        else 63 if c == 63 else 32 for c in range(128)) + b"?" * 128
_NUMBER_STARTS = (b" 0", b" ?", b"?0", b"??")


def _number_matches(lowered: str) -> list[tuple[str, ...]]:
    """``_NUMBER.findall(lowered)``, matched at the places a number can start only."""
    classes = lowered.encode("ascii", "replace").translate(_NUMBER_CLASSES)  # (1 byte a char)
    starts = [0] if classes[:1] in (b"0", b"?") else []
    for pair in _NUMBER_STARTS if b"?" in classes else _NUMBER_STARTS[:1]:
        at = classes.find(pair)
        while at >= 0:
            starts.append(at + 1)
            at = classes.find(pair, at + 1)
    starts.sort()
    found = []
    end = 0
    for at in starts:
        if at >= end and (match := _NUMBER.match(lowered, at)):
            found.append(match.groups(""))  # (num, pct, scale)
            end = match.end()
    return found


def _numbers(lowered: str, words: Sequence[bytes], distinct: set[bytes]) -> tuple[str, ...]:
    """Amounts and percentages of the lower-cased text, and spelled-out ones ("two billion")
    among its folded words (``distinct``: their set); in order of appearance, each once."""
    found: dict[str, None] = {}
    for groups in _number_matches(lowered):  # ((num, pct, scale), "" when absent)
        try:
            token = _NUMBER_TOKENS[groups]
        except KeyError:
            if len(_NUMBER_TOKENS) >= MEMO:
                _NUMBER_TOKENS.clear()
            token = _NUMBER_TOKENS[groups] = _number_token(*groups)
        if token:
            found[token] = None
    # (only when a number word and a scale word are both among the words, their places read)
    if not _NUMBER_BYTES.isdisjoint(distinct) and not _SCALE_BYTES.isdisjoint(distinct):
        for i in compress(range(len(words) - 1), map(_NUMBER_BYTES.__contains__, words)):
            if (scale := words[i + 1]) in _SCALE_BYTES:
                found[str(_token(_WORD_NUMBERS[words[i].decode()], None, scale.decode()))] = None
    return tuple(found)[:MAX_NUMBERS]


# --- event kind -----------------------------------------------------------------------------------
_EVENTS: dict[str, str] = {
    "funding": r"funding|raises|raised|series [a-e]|seed round|venture capital|invests?|invested"
               r"|investment|valuation|leve de fonds|levee de fonds|investit|investissement"
               r"|finanzierungsrunde|finanzierung|investiert|investition|kapitalerhohung"
               r"|ronda de financiacion|financiacion|invierte|inversion|round di finanziamento"
               r"|finanziamento|investe|investimento|raccoglie",
    "acquisition": r"acquir\w*|acquisition\w*|takeover\w*|buyout|merger\w*|to buy|buys"
                   r"|rachat|rachete|acquiert|s offre|fusion|opa|ubernahme\w*|ubernimmt"
                   r"|kauft|zukauf|adquisicion|adquiere|compra|acquisizione|acquisisce"
                   r"|fusione",
    "regulation": r"regulators?|antitrust|competition authority|fined?|fines|investigation"
                  r"|inquiry|probe|watchdog|lawsuit|sued|sues|court|enquete|amende|autorite"
                  r"|regulateur|plainte|kartellamt|bussgeld|ermittlung\w*|klage|untersuchung"
                  r"|wettbewerbshuter|multa|investigacion|demanda|regulador|indagine|sanzion\w*"
                  r"",
    "layoffs": r"layoffs?|lay off|laid off|job cuts|redundanc\w*|licenciements?|suppressions?"
               r"|stellenabbau|entlassung\w*|despidos?|licenziament\w*|esuberi",
    "results": r"earnings|quarterly|profit|revenue|results|benefice|resultats|chiffre d affaires"
               r"|gewinn|umsatz|quartal|beneficio|ingresos|resultados|utile|ricavi|trimestre",
    "leadership": r"resigns?|steps down|appoints?|appointed|names new|demission|nomme"
                  r"|rucktritt|tritt zuruck|ernannt|dimite|nombra|dimissioni|nomina",
    "launch": r"launch\w*|unveils?|releases?|lance|devoile|stellt vor|vorgestellt|lanza"
              r"|presenta|lancia",
}


_Kinds = tuple[tuple[re.Pattern[str], str], ...]


def _event_lexicon() -> tuple[dict[str, str], re.Pattern[str], _Kinds]:
    """The lexicon as a word -> kind table (single words, "invests?" as two), one pattern for
    the rest (phrases, word stems) and what kind each of those is: a table look-up per word
    instead of trying every alternative at every word. Where two kinds have a word, the first
    kind has it."""
    words: dict[str, str] = {}
    rest: list[tuple[str, str]] = []
    for kind, alternatives in _EVENTS.items():
        for alt in alternatives.split("|"):
            if re.fullmatch(r"[a-z]+s?\??", alt):
                base = alt.rstrip("?")
                for form in (base[:-1], base) if alt.endswith("?") else (base,):
                    words.setdefault(form, kind)
            elif alt and not set(alt.split()) & set(words):  # (a phrase with such a word: it)
                rest.append((alt, kind))
    pattern = re.compile(" (" + "|".join(alt for alt, _ in rest) + ")(?= )")
    return words, pattern, tuple((re.compile(alt), kind) for alt, kind in rest)


_EVENT_WORDS, _EVENT_REST, _REST_KINDS = _event_lexicon()
_EVENT_BYTES = {word.encode(): kind for word, kind in _EVENT_WORDS.items()}
# what each of the rest's alternatives opens with (" series ", " acquir", " to buy"...): where
# none is in the text (most texts), the pattern, which tries every space, cannot match either
_OPENINGS = [" " + re.match(r"[a-z ]*", kind.pattern)[0] for kind, _ in _REST_KINDS]  # type: ignore[index]
_REST_OPENINGS = ahocorasick_rs.AhoCorasick(_OPENINGS) if all(
    opening.strip() for opening in _OPENINGS) else None


_FOUND_KINDS: dict[str, str] = {}  # a phrase or stem's words -> its kind (memo of _rest_kind)


def _rest_kind(found: str) -> str:
    kind = _FOUND_KINDS.get(found)
    if kind is None:
        if len(_FOUND_KINDS) >= MEMO:
            _FOUND_KINDS.clear()
        kind = _FOUND_KINDS[found] = next(k for alt, k in _REST_KINDS if alt.fullmatch(found))
    return kind


def _event(title: Sequence[bytes], lede: Sequence[bytes]) -> str | None:
    """The event kind with most hits in the title (counted three times) and the lede, or None."""
    counts: dict[str, int] = {}  # (a dict: a Counter's += on a new kind calls Python)
    for weight, words in ((3, title), (1, lede)):
        for kind in filter(None, map(_EVENT_BYTES.get, words)):
            counts[kind] = counts.get(kind, 0) + weight
        text = f" {b' '.join(words).decode()} "
        if _REST_OPENINGS is not None and not _REST_OPENINGS.find_matches_as_indexes(text):
            continue
        for found in _EVENT_REST.findall(text):
            kind = _rest_kind(found)
            counts[kind] = counts.get(kind, 0) + weight
    # (Counter.most_common(2): by count, first counted first on a tie)
    ranked = sorted(counts.items(), key=itemgetter(1), reverse=True)[:2]
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


# --- wording --------------------------------------------------------------------------------------
# function words of four letters or more in en/fr/de/es/it: every article has them, so a short
# report's share of words found in a longer one counts only the words that say something
_FUNCTION_TEXT = """
about above after again against also although among another around because been before being
below between both could does doing down during each either even ever every from further have
having here however into itself just like many more most much must never only other ought over
same shall should since some such than that their theirs them then there these they this those
though through under until upon very were what when where whether which while whom whose will
with within without would your yours said says year years told according
avec aussi autre autres avant avait cela cette ceux comme dans depuis donc elle elles encore
entre leur leurs mais meme nous notre pour pourquoi quand quel quelle sans selon sont sous
tous tout toute toutes tres vers votre vous etait etre fait faire apres alors aux
aber alle allem allen aller alles also auch auf aus bei beim bis damit dann dass dein deine dem
den denn der des dessen die dies diese diesem diesen dieser dieses doch dort durch eine einem
einen einer eines etwas fur gegen hatte hatten hier hinter ihre ihrem ihren ihrer ihres immer
jede jedem jeden jeder jedes jetzt kann kein keine konnen mehr mein meine mich mir mit muss nach
nicht noch nun oder ohne schon sehr sein seine seinem seinen seiner sich sind soll sollen uber
und uns unser unter vom von vor wann warum was weil welche welchem welchen welcher wenn werden
wie wieder will wird wurde wurden zum zur zwischen sagte sagt
ante bajo cada como con contra cual cuando desde donde durante ellas ellos entre esta estaba
estan este esto estos hacia hasta mientras mucho muy nada nosotros otra otras otro otros para
pero poco porque puede sido sobre solo tambien tanto tiene todo todos tras una unas unos
anche ancora avere come con dalla dalle degli della delle dello dopo essere fare hanno loro
molto nella nelle negli nostro ogni perche piu piu poi quale quando quella quelle quelli
quello questa queste questi questo sono stato stata tutti tutto uno una
"""
_FUNCTION_WORDS = frozenset(_FUNCTION_TEXT.split())
_FUNCTION_BYTES = frozenset(w.encode() for w in _FUNCTION_WORDS)


# --- wording --------------------------------------------------------------------------------------
def _sketch(distinct: set[bytes]) -> tuple[tuple[int, ...], bytes, int, int]:
    """Bottom-k sketches of the vocabulary (the distinct words of four letters or more that are
    not function words): the ``SKETCH`` smallest crc32, the ``WORDS`` smallest (as packed
    unsigned 32-bit integers), how many words there were, and a hash of every distinct word
    (short ones too: a sum of their crc32, so no sorting). ``distinct``: the folded words."""
    vocabulary = {w for w in distinct if len(w) >= 4}.difference(_FUNCTION_BYTES)
    hashes = sorted(map(zlib.crc32, vocabulary))
    wording = (sum(hashes) + sum(map(zlib.crc32, distinct - vocabulary))) & 0xFFFFFFFF
    return tuple(hashes[:SKETCH]), array("I", hashes[:WORDS]).tobytes(), len(hashes), wording


def story_features(title: str, text: str) -> StoryFeatures:
    """The signature of one article (title and plain text; only the top of the text is read)."""
    lede = text[:LEDE_CHARS]
    original = f"{title}\n{lede}"
    lowered = original.lower()
    spaced, plain = _spaced(original)
    words = spaced.decode().split()
    title_len = words.index(_START) if _START in words else len(words)
    # the folded words (lower case, without the marks; ASCII bytes, as crc32 reads them): the
    # marks are words of their own unless the text writes them itself
    if _START not in (low := lowered if plain is original else plain.lower()) and (
            _BREAK not in low):
        folded = (b" " + spaced.lower()).replace(_START_BYTES, b"").replace(
            _BREAK_BYTES, b"").split()  # (bytes methods: no Python loop)
    else:
        folded = f" {' '.join(words)}".lower().replace(f" {_START}", "").replace(
            f" {_BREAK}", "").encode().split()
    distinct = set(folded)
    sketch, packed, vocabulary, wording = _sketch(distinct)
    return StoryFeatures(sketch=sketch, vocabulary=vocabulary, names=_names(words, title_len),
                         words=packed, wording=wording,
                         numbers=_numbers(lowered, folded, distinct),
                         event=_event(folded[:title_len], folded[title_len:EVENT_WORDS]))
