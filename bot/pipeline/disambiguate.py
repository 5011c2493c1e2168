"""Is this occurrence of an ambiguous name the company? A scored decision per occurrence. Pure.

The matcher (``match.py``) finds candidates with its automaton; for the one-word names of
companies that carry hints (``case_sensitive``, ``context``, ``senses``, ``people``, ``exclude``)
each occurrence is read here instead of accepted outright. ``cues`` turns the sentence around the
occurrence (and the rest of the article) into named 0/1 cues that hold for every name:

- how the word is capitalised, read against the sentence: a capital mid-sentence, at a sentence
  start, in a headline (title case) or an all-caps line, or in German text (where every noun has
  one);
- organisation cues: a legal suffix ("Apple Inc", "Fox Corporation"), a ticker or an exchange,
  possessive + business noun ("Shell's profits"), a company verb after the name ("Meta said",
  "Target is ending"), a role or business noun next to it ("a spokesperson for Gap", "Dell CEO");
- other watched companies or the tenant's topics in the same article;
- the admin's hints for the name: context words (matched by prefix: "share" finds "shares") in the
  sentence or the article, sense words that count against ("fruit", "river", "wind"), people named
  like the company in the article ("Doug Ford"); exclusions and people veto the occurrence itself.

``decide`` adds the fitted weights (``weights.py``, fitted by ``tests/bench/fit_entity_weights.py``
with logistic regression) and accepts at the precision-first threshold; the cues that weighed most
become the match's evidence, which ``why`` and previews show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import ahocorasick_rs

from bot.domain.watchlist import Company
from bot.pipeline.entity_weights import BIAS, THRESHOLD, WEIGHTS
from bot.text.fold import fold_term

# Words an exclusion may write as ``<time>``: "Next <time>" covers "Next week", "Next spring" ...
TIME_WORDS = ("day", "days", "week", "weeks", "weekend", "weekends", "month", "months", "year",
              "years", "time", "times", "season", "seasons", "spring", "summer", "autumn", "fall",
              "winter", "morning", "afternoon", "evening", "night", "tonight", "decade", "decades",
              "century", "quarter", "generation", "round", "stage", "step", "steps", "phase",
              "door", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
              "january", "february", "march", "april", "may", "june", "july", "august", "september",
              "october", "november", "december")
_PLACEHOLDERS = {"<time>": "(?:" + "|".join(TIME_WORDS) + ")"}

_LEGAL = re.compile(
    r"\s*,?\s*(?:Inc|Incorporated|Corp|Corporation|Co|Company|plc|PLC|Plc|AG|SA|S\.A|SE|GmbH|Ltd|"
    r"Limited|LLC|NV|N\.V|Holdings|Group)\b\.?")
_TICKER = re.compile(r"\((?:NYSE|NASDAQ|Nasdaq|LSE|LON|TSX|ASX|Euronext|XETRA|EPA|ETR|FRA|AMS|"
                     r"OTC|BIT|SWX|TYO|HKEX)\s*:\s*[A-Z][A-Z0-9.]{0,6}\)")
_EXCHANGE = re.compile(r"\b(?:NYSE|Nasdaq|NASDAQ|FTSE|Dow Jones|S&P 500|stock exchange|"
                       r"Stock Exchange|DAX|CAC 40|Euro Stoxx|market capitali[sz]ation)\b")
# ``_EXCHANGE`` without its leading ``\b``: ``re`` then skips to the alternatives' first letters
# (3x faster than trying the ``\b`` at every character); ``_has_exchange`` checks the boundary.
_EXCHANGE_BODY = re.compile(_EXCHANGE.pattern.removeprefix(r"\b"))
_BUSINESS = (r"(?:chief|ceo|cfo|executive|executives|boss|bosses|chairman|chairwoman|founder|"
             r"co-founder|president|board|shareholders?|investors?|shares?|stock|stocks|profits?|"
             r"revenues?|sales|earnings|results|turnover|margins?|quarterly|annual|stores?|shops?|"
             r"outlets?|branches|customers?|subscribers?|users?|employees?|staff|workers?|"
             r"workforce|headquarters|hq|spokes(?:man|woman|person)|brand|brands|products?|"
             r"devices?|app|apps|platform|services?|division|unit|subsidiary|deal|takeover|"
             r"acquisition|merger|bid|valuation|market|debt|bonds?|dividends?|guidance|outlook|"
             r"plant|plants|factory|factories|fleet|flights?|network|chain|franchise\w*|"
             r"executives|analysts?|rivals?|partners?|suppliers?|lawyers?|advertis\w*|ipo)")
_POSSESSIVE_BUSINESS = re.compile(
    r"['’]s?\s+(?:[\w-]+\s+){0,2}?" + _BUSINESS + r"\b", re.IGNORECASE)
_POSSESSIVE = re.compile(r"['’]s?\b")
_VERBS = (r"(?:said|says|say|announc\w*|report\w*|acquir\w*|bought|buys|buy|sold|sells|"
          r"cut|cuts|cutting|hir\w*|fir(?:ed|es|ing)|plans?|planned|posted|posts|launch\w*|"
          r"agreed|agrees|su(?:ed|es|ing)|opened|opens|rais\w*|warn\w*|unveil\w*|invest\w*|"
          r"spends|spent|expects?|expected|forecast\w*|beat|beats|missed|shed|sheds|"
          r"laid|lays|clos(?:ed|es|ing)|confirm\w*|denied|denies|declined|introduc\w*|releas\w*|"
          r"rolled|rolls|partner\w*|ship(?:s|ped)|recall\w*|filed|files|settl\w*|paid|pays|"
          r"ending|ended|ends|reached|struck|signed|won|lost|rejected|reject\w*|approved|"
          r"employs|operates|owns|makes|made|offers|offered|charges|charged|added|adds|"
          r"stopped|stops|pulled|dropped|drops|slashed|boost\w*|increas\w*|reduc\w*|"
          r"delay\w*|halted|suspend\w*|resum\w*|appoint\w*|named|told|tells|responded|"
          r"insist\w*|admitted|argued|claims|claimed|hopes|wants|aims|intends|is\s+set|"
          r"lay\w*|fined|fines|"
          # French, German, Spanish, Italian news verbs
          r"annonce|a\s+annoncé|baisse|relève|lance|rachète|supprime|publie|prévoit|investit|"
          r"kündigt|meldet|streicht|übernimmt|senkt|erhöht|plant|anuncia|lanza|compra|despide|"
          r"presenta|annuncia|taglia|"
          r"has\s+been|is\s+(?:ending|cutting|launching|buying|selling|closing|opening|"
          r"planning|raising|hiring|suing|offering|testing|building|moving|recalling))")
_VERB_AFTER = re.compile(
    r"\s*(?:,[^,.]{1,50},\s*)?(?:(?:has|had|have|will|would|could|may|might|also|is|was|"
    r"now|on\s+\w+|last\s+\w+|this\s+\w+|recently|previously|quickly|then|still)\s+){0,2}"
    + _VERBS + r"\b", re.IGNORECASE)
_ROLE_AFTER = re.compile(r"\s+" + _BUSINESS + r"\b", re.IGNORECASE)
_ROLE_BEFORE = re.compile(
    r"\b(?:ceo|chief executive|executives?|spokes(?:man|woman|person)|boss|founder|chairman|"
    r"shares|stake|rival|retailer|company|firm|giant|carrier|airline|brand|maker|group|bank|"
    r"lender|insurer|operator|broadcaster|chain|owner|unit|subsidiary|partners?|investors?|"
    r"analysts?|clients?|customers?|employees?|staff|workers?|suppliers?|competitors?|"
    r"companies|firms|like|including|such as|versus|vs)\.?\s+(?:(?:of|for|at|in|from|with|to|by|"
    r"and|than)\s+)?(?:the\s+)?$", re.IGNORECASE)
# A title before the name makes it a person or a place, whatever else is said ("Dr Fox said").
_HONORIFIC = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Lady|Lord|President|Premier|Senator|Sen|Rep|"
    r"Governor|Gov|Mayor|Minister|Judge|Coach|actor|actress|singer|rapper|comedian|Saint|Mount|"
    r"Lake|Cape)\.?\s+$")
# Some verb follows: "Shell restated", "Apple has taken", "Orange is merging", "Subway will be"
_PAST_AFTER = re.compile(r"\s+(?:(?:has|had|have|will|would|can|could|must|should|remains|"
                         r"continues)\s+[a-z]+|to\s+[a-z]{3,}|(?:is|was|are|were)\s+[a-z]+ing|[a-z]{3,}ed)\b")
# The object of a verb: "fined Meta", "ordered Apple to pay", "pushed Alphabet past"
_VERB_BEFORE = re.compile(r"\b[a-z]{3,}ed\s+$")
# A person: "Fox said he ...", "Ford told her"
_PRONOUN_AFTER = re.compile(r"\s+(?:[\w,]+\s+){0,3}?(?:he|she|his|her|him|himself|herself)\b")
_PREPOSITION_BEFORE = re.compile(r"\b(?:at|for|by|with|from|against|versus|vs|to|of)\s+$")
_LIST_BEFORE = re.compile(r"[A-Z][\w&'’-]*(?:,|\s+(?:and|or|&))\s+$")
_LIST_AFTER = re.compile(r"(?:,|\s+(?:and|or|&))\s+[A-Z][\w&'’-]*")
_DETERMINER = re.compile(r"(?:^|\s)(?:the|a|an|The|A|An|this|that|its|his|her|their|our|my|"
                         r"your)\s+$")
_WORD = re.compile(r"[^\W\d_][\w'’.-]*")
_GERMAN = frozenset(("der", "die", "das", "des", "dem", "den", "und", "ist", "ein", "eine", "einer",
                    "eines", "nicht", "mit", "fur", "auf", "sich", "auch", "wird", "wurde",
                    "werden", "vom", "zum", "zur", "bei", "nach", "uber", "unter", "viel", "sehr",
                    "mehr", "noch", "oder", "aber", "im", "sind", "wie", "zu", "von", "seit"))
_QUOTES = frozenset("\"“«‘'")
_OPENING = " \t\"'“‘«([—–-"


@dataclass(frozen=True, slots=True)
class Hints:
    """One company's hints, compiled: regexes over folded, space-padded text (``" a b "``)."""

    context: re.Pattern[str] | None
    senses: re.Pattern[str] | None
    people: re.Pattern[str] | None
    exclude: re.Pattern[str] | None
    case_sensitive: bool
    # the same words, to ask whether the whole article has one (``_in_article``)
    context_in: re.Pattern[str] | None = None
    senses_in: re.Pattern[str] | None = None
    people_in: re.Pattern[str] | None = None
    # the literal keys of ``context``, ``senses``, ``people`` for ``HintIndex`` (None: a term
    # has a placeholder, ask the pattern)
    context_keys: tuple[str, ...] | None = None
    senses_keys: tuple[str, ...] | None = None
    people_keys: tuple[str, ...] | None = None
    exclude_in: re.Pattern[str] | None = None  # ``exclude`` for yes/no searches (``covered``)


def is_ambiguous(company: Company) -> bool:
    """A company whose one-word names are scored: the admin gave it a rule or a hint."""
    return bool(company.case_sensitive or company.context or company.exclude
                or company.senses or company.people)


def is_scored_term(term: str) -> bool:
    """One capitalised word ("Apple", "Shell"): the kind of name that is also a word. Acronyms,
    tickers, "TotalEnergies", "Amazon.com" and multi-word names say which company they are."""
    return term.isalpha() and term.istitle()


def compile_hints(company: Company) -> Hints:
    context, context_keys = _words(company.context, prefix=True)
    senses, senses_keys = _words(company.senses, prefix=True)
    people, people_keys = _words(company.people, prefix=False)
    exclude = _words(company.exclude, prefix=False)[0]
    return Hints(context, senses, people, exclude, company.case_sensitive, _in_article(context),
                 _in_article(senses), _in_article(people), context_keys, senses_keys,
                 people_keys, _in_article(exclude))


def _words(terms: tuple[str, ...], *, prefix: bool
           ) -> tuple[re.Pattern[str] | None, tuple[str, ...] | None]:
    """One regex finding any of ``terms`` as whole words of folded text; with ``prefix``, a last
    word of 4+ letters (or one ending in ``*``) also matches longer words ("share" -> "shares").

    And the same words as literal keys for ``HintIndex``: ``" word "``, or ``" word"`` where the
    word may grow (None if a term has a placeholder such as ``<time>``)."""
    alternatives = []
    keys: list[str] | None = []
    for term in terms:
        star = term.endswith("*")
        parts = []
        written = []
        for word in (term[:-1] if star else term).split():
            hole = _PLACEHOLDERS.get(word.casefold())
            folded = fold_term(word)
            parts.append(hole or re.escape(folded))
            written.append(None if hole else folded)
        body = " ".join(p for p in parts if p)
        if not body:
            continue
        literal = None if None in written else " ".join(w for w in written if w)
        last = parts[-1]
        grow = star or (prefix and len(last) >= 4 and last.isalnum())
        if grow and not star and len(last) >= 5 and last.endswith("s") and last[-2] != "s":
            body = body[:-1]  # a plural stems too: "servers" finds "server"
            literal = literal[:-1] if literal is not None else None
        alternatives.append(body + (r"[^ ]*" if grow else ""))
        if keys is not None and literal is not None:
            keys.append(f" {literal}" if grow else f" {literal} ")
        else:
            keys = None
    if not alternatives:
        return None, None
    alternatives.sort(key=len, reverse=True)
    pattern = re.compile(r"(?<= )(?:" + "|".join(alternatives) + r")(?= )")
    return pattern, tuple(keys) if keys is not None else None


class HintIndex:
    """Every literal hint word of a compiled watchlist (context, senses, people) in one automaton:
    one pass over an article says which are in it, where each pattern's ``re.search`` read the
    whole article again (~10 us each on 2.6 KB). Yes/no only: a ``" word"`` key is found where
    ``" word[^ ]*(?= )"`` matches, since an article (single-spaced, padded) ends with a space."""

    __slots__ = ("_automaton", "_ids", "_one_word")

    def __init__(self, hints: list[Hints]) -> None:
        keys: dict[str, int] = {}
        ids: dict[re.Pattern[str], frozenset[int]] = {}
        one_word: set[re.Pattern[str]] = set()
        for h in hints:
            for pattern, literal in ((h.context_in, h.context_keys), (h.senses_in, h.senses_keys),
                                     (h.people_in, h.people_keys)):
                if pattern is not None and literal is not None and pattern not in ids:
                    ids[pattern] = frozenset(keys.setdefault(k, len(keys)) for k in literal)
                    if all(" " not in k.strip(" ") for k in literal):
                        one_word.add(pattern)
        self._ids = ids
        self._one_word = frozenset(one_word)
        # (bytes: only which keys are found is asked, and a str costs the library a map of
        # every byte offset to a character offset)
        self._automaton = (ahocorasick_rs.BytesAhoCorasick([k.encode() for k in keys]) if keys
                           else None)

    def answers_spaced(self, patterns: list[re.Pattern[str]]) -> bool:
        """Whether a reader of the article with its space runs (as the matcher first folds it)
        answers ``has`` for each of ``patterns`` as one of the single-spaced article does: each
        has only one-word keys (``" word"``, ``" word "``), which find the same words whatever
        the spaces around them."""
        return self._automaton is not None and self._one_word.issuperset(patterns)

    def reader(self, article: str) -> ArticleWords | None:
        return ArticleWords(self, article) if self._automaton is not None else None


class ArticleWords:
    """Which hint words one article has: found on the first question, then shared."""

    __slots__ = ("_index", "_article", "_found")

    def __init__(self, index: HintIndex, article: str) -> None:
        self._index, self._article = index, article
        self._found: set[int] | None = None

    def has(self, pattern: re.Pattern[str]) -> bool | None:
        """Whether ``article`` has a word of ``pattern``; None if the index cannot say."""
        ids = self._index._ids.get(pattern)
        if ids is None:
            return None
        found = self._found
        if found is None:
            assert self._index._automaton is not None
            found = self._found = {i for i, _, _ in self._index._automaton
                                   .find_matches_as_indexes(self._article.encode(),
                                                            overlapping=True)}
        return not found.isdisjoint(ids)


def _in_article(pattern: re.Pattern[str] | None) -> re.Pattern[str] | None:
    """``pattern`` for yes/no searches over a whole article: a leading space instead of the
    look-behind. ``re`` tries a pattern that starts with a look-behind at every character, and
    jumps from space to space (C speed) to one that starts with a literal: 10x faster over a 5 KB
    article. Its matches include the space before the word, so it only says whether there is one.
    """
    if pattern is None:
        return None
    return re.compile(" " + pattern.pattern.removeprefix("(?<= )"))


def covered(pattern: re.Pattern[str] | None, padded: str, ps: int, pe: int,
            quick: re.Pattern[str] | None = None) -> bool:
    """Whether a match of ``pattern`` in ``padded`` covers the occurrence ``padded[ps:pe]``.
    ``quick``, the pattern's ``_in_article`` form, first asks whether the window has a match at
    all (most have none): it finds one where ``pattern`` does, and skips from space to space."""
    if pattern is None:
        return False
    window = padded[max(0, ps - 120):pe + 121]
    if quick is not None and quick.search(window) is None:
        return False
    offset = max(0, ps - 120)
    return any(m.start() + offset <= ps and m.end() + offset >= pe
               for m in pattern.finditer(window))


@dataclass(frozen=True, slots=True)
class Occurrence:
    """A candidate: ``sentence[start:end]`` is the name; ``article`` is the folded, padded title
    and text (may be "" when no candidate's hints have words to look for in it);
    ``others``/``topics``: other watched companies / topics found in the article."""

    sentence: str
    start: int
    end: int
    article: str
    others: bool
    topics: bool
    # whether a hint pattern is in ``article``, shared by the candidates of one article: the
    # answer is the same for each occurrence of a name, and each search reads the whole article
    in_article: dict[re.Pattern[str], bool] = field(default_factory=dict, compare=False,
                                                    repr=False)
    # per-sentence work (``SentenceFacts``), shared the same way, by sentence
    sentences: dict[str, SentenceFacts] = field(default_factory=dict, compare=False, repr=False)
    # the watchlist's hint words found in ``article`` in one pass (``HintIndex``), if any
    words: ArticleWords | None = field(default=None, compare=False, repr=False)


def cues(occ: Occurrence, hints: Hints) -> frozenset[str]:
    """The named cues present for this occurrence (``CUES`` lists every name)."""
    sentence, surface = occ.sentence, occ.sentence[occ.start:occ.end]
    before, after = sentence[:occ.start], sentence[occ.end:]
    facts = _facts(occ)
    found: set[str] = set(_capitals(sentence, surface, before, facts))
    found.update(_organisation(facts, after))
    tail = _tail(before)
    found.update(name for name, before_re, after_re in _AROUND
                 if (before_re is not None and before_re.search(before, tail))
                 or (after_re is not None and after_re.match(after)))
    if "company_verb" in found:
        found.discard("verb_after")
    if before.strip(_OPENING) and before.rstrip(" \u00a0")[-1:] in _QUOTES:
        found.add("quoted")  # « Orange Corail », "the Next Big Thing": a title or a product
    found.update(_neighbours(before, after, "headline" in found or "all_caps" in found))
    if occ.others:
        found.add("other_company")
    if occ.topics:
        found.add("topic")
    found.update(_hinted(occ, hints))
    return frozenset(found)


# The patterns read before the name end where it starts ($) and span four words at most ("chief
# executive of the"): they are searched from the fifth word before the name (``re`` still sees
# the text before for ``\b``), not tried at each character of the sentence, with a long
# alternation and IGNORECASE (which made them half of the scoring's time on long sentences).
_BEFORE_WORDS = 5


def _tail(before: str) -> int:
    """Where the last ``_BEFORE_WORDS`` words of ``before`` start (at the space before them)."""
    parts = before.rsplit(None, _BEFORE_WORDS)
    return len(parts[0]) if len(parts) > _BEFORE_WORDS else 0


def _organisation(facts: SentenceFacts, after: str) -> list[str]:
    out = []
    if _LEGAL.match(after):
        out.append("legal_suffix")
    if facts.market:
        out.append(facts.market)
    if _POSSESSIVE_BUSINESS.match(after):
        out.append("possessive_business")
    elif _POSSESSIVE.match(after):
        out.append("possessive")
    return out


class SentenceFacts:
    """Per-sentence work, shared by the candidates of one sentence in an article (doing it per
    candidate made the scoring of many names in one long sentence quadratic)."""

    __slots__ = ("words", "upper", "market", "german", "rest", "titled")

    def __init__(self, sentence: str) -> None:
        words = tuple(w for w in _WORD.findall(sentence) if len(w) > 3)
        self.words = words  # the words of 4+ characters
        self.upper = sum(w.isupper() for w in words)  # how many of them are all caps
        # the ones after the first that are not all caps, and how many start with a capital
        self.rest = [w for w in words[1:] if not w.isupper()]
        self.titled = sum(w[0].isupper() for w in self.rest)
        # "ticker" or "exchange" if the sentence names one, else ""
        self.market = ("ticker" if _TICKER.search(sentence)
                       else "exchange" if _has_exchange(sentence) else "")
        self.german: bool | None = None  # asked only of some capitalised names


def _has_exchange(sentence: str) -> bool:
    r"""``_EXCHANGE.search(sentence) is not None``: every alternative starts with a word character,
    so its ``\b`` holds where no word character comes before."""
    m = _EXCHANGE_BODY.search(sentence)
    while m is not None:
        at = m.start()
        if at == 0 or not (sentence[at - 1].isalnum() or sentence[at - 1] == "_"):
            return True
        m = _EXCHANGE_BODY.search(sentence, at + 1)
    return False


def _facts(occ: Occurrence) -> SentenceFacts:
    facts = occ.sentences.get(occ.sentence)
    if facts is None:
        facts = occ.sentences[occ.sentence] = SentenceFacts(occ.sentence)
    return facts


# cue -> pattern ending the text before the name, pattern starting the text after it
_AROUND: tuple[tuple[str, re.Pattern[str] | None, re.Pattern[str] | None], ...] = (
    ("company_verb", None, _VERB_AFTER),
    ("business_noun", _ROLE_BEFORE, _ROLE_AFTER),
    ("person_title", _HONORIFIC, None),
    ("verb_after", None, _PAST_AFTER),
    ("verb_before", _VERB_BEFORE, None),
    ("pronoun_after", None, _PRONOUN_AFTER),
    ("preposition_before", _PREPOSITION_BEFORE, None),
    ("name_list", _LIST_BEFORE, _LIST_AFTER),
    ("determiner", _DETERMINER, None),
)


def _capitals(sentence: str, surface: str, before: str, facts: SentenceFacts) -> list[str]:
    words, upper = facts.words, facts.upper
    n = max(1, len(words))
    initial = not before.strip(_OPENING)
    if surface.islower():
        return ["lower_case"]
    if surface.isupper() and len(surface) > 1:
        return ["all_caps"] if upper * 2 >= n else ["all_caps_word"]
    if upper * 2 > n:
        return ["all_caps"]
    # title case: most longer words after the first (other than the name) start with a capital
    own = facts.rest.count(surface)
    rest = len(facts.rest) - own
    titled = facts.titled - (own if surface[:1].isupper() else 0)
    if rest >= 2 and titled * 4 >= rest * 3:
        return ["headline"]
    if facts.german is None:
        facts.german = len(set(fold_term(sentence).split()) & _GERMAN) >= 2
    if facts.german:
        return ["german_noun"]
    return ["capital_initial"] if initial else ["capital_mid"]


def _neighbours(before: str, after: str, shouting: bool) -> list[str]:
    if shouting:
        return []
    out = []
    prev = before.rstrip().rsplit(None, 1)[-1:] if before.strip() else []
    if prev and prev[0][:1].isupper() and prev[0].isalpha() and before.strip(_OPENING) != prev[0]:
        out.append("capital_before")
    nxt = after.split(None, 1)[:1]
    if nxt and nxt[0][:1].isupper() and nxt[0].rstrip(".,;:").isalpha() and after[:1] == " ":
        out.append("capital_after")
    return out


def _hinted(occ: Occurrence, hints: Hints) -> list[str]:
    """Context and sense words in the sentence (the nearer kind wins when both are there: "Brewers
    blamed Corona lockdowns"), else in the article; no context word anywhere counts against."""
    # the sentence without the name itself (a sense word "shells" must not find "Shell")
    before = f" {fold_term(occ.sentence[:occ.start])} "
    after = f" {fold_term(occ.sentence[occ.end:])} "
    context = _distance(hints.context_in, before, after)
    sense = _distance(hints.senses_in, before, after)
    out = []
    if context < sense:
        out.append("context_sentence")
    elif sense < context:
        out.append("sense_sentence")
        if sense <= 1:
            out.append("sense_next_to_name")
    if context == _FAR:
        has = _in_text(occ, hints.context_in)
        out.append("context_article" if has else "no_context")
    if sense == _FAR and _in_text(occ, hints.senses_in):
        out.append("sense_article")
    if _in_text(occ, hints.people_in):
        out.append("person_in_article")
    return out


_FAR = 1 << 30


def _in_text(occ: Occurrence, pattern: re.Pattern[str] | None) -> bool:
    if pattern is None:
        return False
    has = occ.in_article.get(pattern)
    if has is None:
        if occ.words is not None:
            has = occ.words.has(pattern)
        if has is None:
            has = pattern.search(occ.article) is not None
        occ.in_article[pattern] = has
    return has


def _distance(pattern: re.Pattern[str] | None, before: str, after: str) -> int:
    """How near the name (in characters of folded text) the nearest word of ``pattern`` (a
    ``_in_article`` pattern: its matches start at the space before the word) is."""
    if pattern is None:
        return _FAR
    # matches come left to right without overlapping: the last one in ``before`` ends nearest,
    # the first one in ``after`` starts nearest
    near = _FAR
    for m in pattern.finditer(before):
        near = len(before) - m.end() - 1
    first = pattern.search(after)
    return min(near, first.start()) if first is not None else near


CUES = ("lower_case", "all_caps", "all_caps_word", "headline", "german_noun", "capital_initial",
        "capital_mid", "legal_suffix", "ticker", "exchange", "possessive_business", "possessive",
        "company_verb", "verb_after", "verb_before", "pronoun_after", "business_noun",
        "person_title", "preposition_before", "name_list", "determiner", "capital_before",
        "capital_after", "other_company", "topic", "context_sentence", "context_article",
        "no_context", "sense_sentence", "sense_next_to_name", "sense_article",
        "person_in_article", "quoted")


@dataclass(frozen=True, slots=True)
class Decision:
    accepted: bool
    score: float
    evidence: tuple[str, ...]  # the cues that weighed most, strongest first ("company_verb +2.1")


@dataclass(frozen=True, slots=True)
class Model:
    bias: float
    threshold: float
    weights: dict[str, float]


SHIPPED = Model(BIAS, THRESHOLD, WEIGHTS)


# The shipped model's decisions by cue set: a few hundred sets recur (a decision is a sum, a sort
# and four formatted numbers: a sixth of the scoring's time when made per candidate).
_DECIDED: dict[frozenset[str], Decision] = {}
_DECIDED_MAX = 4096


def decide(found: frozenset[str], model: Model = SHIPPED) -> Decision:
    """Add the weights of the cues found; accept at the model's threshold."""
    if model is not SHIPPED:
        return _decide(found, model)
    decision = _DECIDED.get(found)
    if decision is None:
        if len(_DECIDED) >= _DECIDED_MAX:
            _DECIDED.clear()
        decision = _DECIDED[found] = _decide(found, model)
    return decision


def _decide(found: frozenset[str], model: Model) -> Decision:
    weights = model.weights
    score = model.bias + sum(weights.get(c, 0.0) for c in found)
    accepted = score >= model.threshold and "person_title" not in found
    weighed = sorted(((weights.get(c, 0.0), c) for c in found), key=lambda wc: -abs(wc[0]))
    # the evidence: the cues that pushed the way it went, strongest first
    sign = 1 if accepted else -1
    evidence = tuple(f"{c} {w:+.1f}" for w, c in weighed if w * sign > 0)[:4]
    return Decision(accepted, round(score, 2), evidence)
