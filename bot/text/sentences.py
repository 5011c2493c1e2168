r"""Sentence splitting for en, fr, de, es, it by rules. Pure.

One regex finds candidate boundaries (terminal punctuation, optional closing quotes or brackets,
whitespace, then something that can start a sentence); a few cheap checks on the word before and
the word after reject the false ones: abbreviations ("Dr.", "z.B.", "Sra."), initials ("J. R. R."),
German ordinals ("am 3. Oktober"), and a lower-case continuation. Numbers such as "€1.5bn" or
"3.5 %" never reach the checks because a boundary needs whitespace after the punctuation. A
paragraph break ("\n\n") always ends a sentence. In English, a sentence glued to the text
before it without a full stop (a caption or teaser run into the story: "... in Lyon The plant
will ...") is cut off where a word that nearly always starts a sentence in title case follows a
lower-case word. A tuned regex splitter like this agrees with pysbd/punkt on news text at a small
fraction of their cost (see tests/bench/eval_summaries.py).
"""

from __future__ import annotations

import re

__all__ = ["split_sentences", "ABBREVIATIONS"]


def _words(text: str) -> list[str]:
    return text.split()

_COMMON = """
dr drs prof mr mrs ms mme mlle mm messrs st sr sra srta sres jr gen gov sen rep lt col capt cpt
sgt cpl adm rev hon pres supt insp vs nr fig figs vol vols eds ch chap
sec ca cf approx est dept univ corp inc ltd co bros av ave avda blvd tel pp pag pagg mt ft
jan feb febr apr jun jul aug sep sept oct okt nov dec dez
"""
_BY_LANG = {
    "en": "e.g i.e a.k.a u.s u.k u.n etc. viz al no nos",
    "de": """bzw ca chr d.h dipl evtl ggf hr hrn fr frl hrsg inkl insb ing jh jhd jahrh max min mio
    mrd o.ä rd s sog art str u.a u.ä usw vgl z.b z.t zb zt abs abt bd bspw bzgl ff geb gest gegr
    jr. jun lfd mind nachf n.chr v.chr o.g tsd u.u urspr verh vorm zzt zit""",
    "fr": """av apr j.-c cf env etc p pp vol chap art janv févr fév avr juil déc mgr me mes
    st ste cie éd hab n°""",
    "es": """sr sra srta sres dr dra ud uds vd vds d dña dª pág núm nº etc aprox av avda c cía s.a
    ee.uu art dpto gral lic ing prof pta ptas tel ej p.ej sig fdo admón""",
    "it": """sig sigg sig.ra dott dott.ssa prof ing avv geom on sen mons s ecc pag pagg art cap tel
    vol n nr es p.es c.so v.le p.zza ss spett egr gent""",
}
ABBREVIATIONS: dict[str, frozenset[str]] = {
    lang: frozenset(w.rstrip(".") for w in (_COMMON + words).split())
    for lang, words in _BY_LANG.items()
}
# with no language given, leave out abbreviations that are ordinary words elsewhere ("no", "mio")
_RISKY = frozenset(_words("no nos es mio s d c p n art min max est me mes on es ss ed"))
_ALL = frozenset().union(*ABBREVIATIONS.values()) - _RISKY
# words that usually end a sentence even though they look like abbreviations
_ENDERS = frozenset({"etc", "usw", "ecc", "inc", "ltd", "co", "corp", "a.m", "p.m"})

_MONTHS_DE = frozenset(
    _words(
        "januar jänner februar märz april mai juni juli "
        "august september oktober november dezember"
    )
)
_ORDINAL_LEAD_DE = frozenset(
    _words(
        "am vom zum bis seit ab dem der den des "
        "die das im beim zur ihrem seinem jeder"
    )
)

# terminal punctuation, closing quotes/brackets, whitespace, then a sentence-like start
_CANDIDATE = re.compile(
    r"""([.!?…]+|\.\.\.)((?:[ \u00a0]?[»"”’'\)\]])*)(\s+)(?=[\w¿¡"“„«'‘‚`\(\[\-–—])"""
)
_ELISION = re.compile(r"^.*['’]")
_MIN_PLAIN_WORD = 5
_AFTER_TIME = frozenset(
    _words(
        "monday tuesday wednesday thursday friday saturday "
        "sunday et est edt gmt bst pt pst cet utc"
    )
)
_WORD_BEFORE = re.compile(r"([\w.\-']*)$")
_WORD_AFTER = re.compile(r"[¿¡\"“„«'‘‚`\(\[\-–—\s]*(\w+)")
_PARAGRAPH = re.compile(r"\n[ \t\u00a0]*\n\s*")
# English only: a sentence glued to the previous text without a full stop (captions and teasers
# that sites run into the story): a lower-case word or a number, then a word that almost only
# ever starts a sentence in title case, followed by a lower-case word: "... a colleague The cost
# of divorce ...". "told The New York Times" stays whole (a capital follows "The").
_GLUED_EN = re.compile(
    r"\s+(?=(?:The|An|He|She|They|His|Her|Their|Its|This|These|Those|And|But|However|When|While"
    r"|After|Before|Now|Then|In|On|At|Police|Officers)\s+[a-z0-9])"
)
_GLUED_EN_BEFORE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789%’'\"”)")
# German: a capitalised article after a word with no punctuation (mid-sentence articles are lower
# case), as where a headline runs into the story: "... wechseln in den Westen Die Regierung ...";
# not after a noun that introduces a title: "die Zeitung Die Welt". After a colon or semicolon a
# capitalised article starts a full sentence too ("Er warnte: Die Lage ist ernst"), and a smiley
# before a capital ends one
_GLUED_DE = re.compile(r"\s+(?=(?:Der|Die|Das)\s)|(?<=:-\)|;-\))\s+(?=[A-ZÄÖÜ])")
_TITLE_NOUNS = ("zeitung", "magazin", "blatt", "film", "buch", "roman", "titel", "album", "serie",
                "sender", "band", "gruppe", "stück", "song", "lied", "show", "oper")
_GLUED: dict[str, tuple[re.Pattern[str], frozenset[str] | None]] = {
    "": (_GLUED_EN, _GLUED_EN_BEFORE), "en": (_GLUED_EN, _GLUED_EN_BEFORE), "de": (_GLUED_DE, None)
}


def split_sentences(text: str, lang: str | None = None) -> list[str]:
    """Split ``text`` into sentences; paragraph breaks always end one. Never raises."""
    code = (lang or "").split("-")[0].lower()
    abbreviations = ABBREVIATIONS.get(code, _ALL)
    out: list[str] = []
    for paragraph in _PARAGRAPH.split(text):
        out.extend(_split_paragraph(paragraph, abbreviations, lang))
    rule = _GLUED.get(code)
    if rule is None:
        return out
    return [piece for sentence in out for piece in _split_glued(sentence, *rule)]


def _split_glued(
    sentence: str, glued: re.Pattern[str], before: frozenset[str] | None
) -> list[str]:
    """Cut ``sentence`` where ``glued`` matches, if the character before it is in ``before``
    (any word character or closing punctuation when None) and no title noun precedes."""
    pieces: list[str] = []
    start = 0
    for m in glued.finditer(sentence):
        last = sentence[m.start() - 1 : m.start()]
        if not last or (last not in before if before is not None else last in " ,-–—("):
            continue
        if sentence[: m.start()].lower().endswith(_TITLE_NOUNS):
            continue
        pieces.append(sentence[start : m.start()])
        start = m.end()
    pieces.append(sentence[start:])
    return pieces


def _split_paragraph(text: str, abbreviations: frozenset[str], lang: str | None) -> list[str]:
    sentences: list[str] = []
    start = 0
    for m in _CANDIDATE.finditer(text):
        if _is_boundary(text, m, abbreviations, lang):
            piece = text[start : m.start(3)].strip()
            if piece:
                sentences.append(" ".join(piece.split()))
            start = m.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(" ".join(tail.split()))
    return sentences


def _is_boundary(
    text: str, m: re.Match[str], abbreviations: frozenset[str], lang: str | None
) -> bool:
    after = _WORD_AFTER.match(text, m.end())
    next_word = after.group(1) if after else ""
    lower_next = next_word[:1].islower()
    if m.group(1) != ".":
        return not lower_next  # "!", "?", "…" before a capital; not '"Why?" he asked'
    before = _WORD_BEFORE.search(text, max(0, m.start(1) - 40), m.start(1))
    word = before.group(1) if before else ""
    core = _ELISION.sub("", word.strip("-'’")).lower()  # "dall'art" -> "art"
    if not core:
        return not lower_next
    bare = core.rsplit(".", 1)[-1]
    if core in _ENDERS or bare in _ENDERS:
        return not lower_next and (bool(m.group(2)) or next_word.lower() not in _AFTER_TIME)
    if core in abbreviations or (bare in abbreviations and len(bare) > 1):
        return False
    if len(bare) == 1 and bare.isalpha() and not m.group(2):
        return False  # an initial or a one-letter abbreviation: "J. R. R. Tolkien", "U.S.", "v."
    if lower_next:
        # a lower-case start follows a real sentence end only after a plain, longer word
        return len(core) >= _MIN_PLAIN_WORD and core.isalpha()
    if bare.isdigit() and len(bare) <= 2 and not m.group(2):
        return not _german_ordinal(text, m.start(1) - len(word), next_word, lang)
    return True


def _german_ordinal(text: str, word_start: int, next_word: str, lang: str | None) -> bool:
    if lang is not None and not lang.lower().startswith("de"):
        return False
    if next_word.lower() in _MONTHS_DE:
        return True
    previous = text[max(0, word_start - 12) : word_start].split()
    return bool(previous) and previous[-1].lower() in _ORDINAL_LEAD_DE
