"""Stories: the same event told by many outlets is one story. Pure and deterministic.

An article joins the story of the most similar earlier article in the window (default 72 h) when
one of these tests passes (``compare``), and says which one and why:

- **near-copy**: their vocabulary sketches (``story_features``) estimate that at least
  ``COPY_SHARE`` of their content words are the same (syndicated copies, light edits);
- **same event**: they share at least ``MIN_SHARED`` of their prominent names (companies,
  people, places) and numbers ("$2bn" = "2 Milliarden Dollar"), covering at least
  ``MIN_SHARED_FRACTION`` of the shorter list, with ``WORDING_SHARE`` of their vocabulary; or,
  in other words or another language, rarer names and numbers alone;
- **short report** (a teaser, the editors' highlights): at most ``BRIEF_VOCAB`` content words,
  ``BRIEF_SHARE`` of them found in the longer report (estimated from the longer sketches), and a
  name word in common (two when only ``BRIEF_SHARE_NAMES`` of its words are found).

Short items (a title alone: fewer than ``SHORT_VOCAB`` content words) say too little for a share
of words to mean anything: "Acme shares rise" and "Acme shares fall" share two thirds. They are
near-copies only with the very same words (digits too) and otherwise join only on rare names
and numbers.

Either way their event kinds must agree when both have one: "Microsoft invests in Mistral" and
"regulator looks into Microsoft's Mistral deal" are two stories; so are Microsoft's Mistral and
G42 investments (one shared name). Names that half the window mentions ("US", "Trump") count
only when rarer than ``COMMON_DF`` articles.

Candidates come from an index on ``lookup_keys`` (the sketch's smallest hashes, the names, the
numbers): ``StoryWindow`` is the in-memory one (`newsbot cluster`, benchmarks); the poller asks
storage for the same keys and calls ``assign`` with what it found.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections import Counter, deque
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import chain, compress, filterfalse, islice, repeat
from operator import eq
from typing import cast

from bot.domain.article import Article
from bot.domain.story import (
    StoryFeatures,
    StoryLookup,
    StoryMatch,
    StoryMember,
    StoryPlacement,
    search_limit,
)

DEFAULT_WINDOW = timedelta(hours=72)
COPY_SHARE = 0.45  # vocabulary share of a near-copy
WORDING_SHARE = 0.18  # vocabulary share of a rewrite (with the names)
MIN_SHARED = 2  # names and numbers in common
MIN_SHARED_FRACTION = 0.4  # of the shorter list of names and numbers, for a rewrite
MIN_SHARED_ACROSS = 0.3  # for names and numbers alone (another language)
RARE_DF = 10  # a name fewer window articles mention is distinctive...
RARE_SHARE = 150  # ...or fewer than 1 in 150 of them, in a big window
COMMON_DF = 2000  # a key this many window articles share is no evidence of one story
SHORT_VOCAB = 8  # content words under which an item is short (a title alone)
BRIEF_VOCAB = 60  # content words of a short report (a teaser, the highlights, a title alone)
BRIEF_SAMPLE = 6  # of its words at least, for a share to be read
BRIEF_SHARE = 0.6  # of its words found in the longer report, with a name word in common...
BRIEF_SHARE_NAMES = 0.4  # ...or with two
INDEXED_HASHES = 8  # of the sketch's smallest hashes
MAX_POSTINGS = 200  # newest articles read per key
MAX_WINDOW = 250_000  # articles the in-memory window keeps, whatever their dates
LONG_POSTING = 256  # a posting list longer than this drops its oldest in a deque
_ONE_POSTING = array("q", [0])  # (copied: cheaper than array("q", (seq,)))


def lookup_keys(f: StoryFeatures) -> tuple[str, ...]:
    """The index keys under which an article is found (and finds its candidates)."""
    return (*(f"h:{h}" for h in f.sketch[:INDEXED_HASHES]), *(f"n:{n}" for n in f.names),
            *(f"#:{n}" for n in f.numbers))


def _window_keys(f: StoryFeatures) -> tuple[int | str, ...]:
    """``lookup_keys`` as the in-memory index keeps them: the hashes as ints (no formatting,
    an int's hash is itself), the names' and numbers' keys as they are (``df`` is read by
    them)."""
    return (*f.sketch[:INDEXED_HASHES], *map("n:".__add__, f.names),
            *map("#:".__add__, f.numbers))


def copy_share(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of two bottom-k sketches (sorted hashes)."""
    return _copy_share(set(a), a, b)


def _copy_share(mine: set[int], a: Sequence[int], b: Sequence[int]) -> float:
    """``copy_share`` with ``a``'s set given (made once per new article, not per candidate).

    The union's ``k`` smallest hashes end at its k-th smallest: ``b``'s hashes that ``a`` lacks
    (filtered in C, still sorted) merged with ``a`` (one merge of two sorted runs in C) hold
    each hash once, so it is at ``k - 1``. The share is the shared hashes up to it (``b``'s up
    to it less its own) over ``k``."""
    if len(mine) != len(a) or len(set(b)) != len(b):  # a hash twice in one sketch (crc32 clash)
        both = mine.intersection(b)
        if not both:
            return 0.0
        union = sorted(mine.union(b))[:min(len(a), len(b))]
        return len(both.intersection(union)) / len(union)
    theirs = tuple(filterfalse(mine.__contains__, b))
    if len(theirs) == len(b):
        return 0.0
    merged = sorted((*a, *theirs))
    k = min(len(a), len(b))
    if len(merged) <= k:  # k distinct hashes or fewer in all: the union is all of them
        return (len(b) - len(theirs)) / len(merged)
    end = merged[k - 1]
    return (bisect_right(b, end) - bisect_right(theirs, end)) / k


def containment(short: StoryFeatures, long: StoryFeatures) -> tuple[float, int]:
    """(estimated share of ``short``'s vocabulary found in ``long``'s, words it is estimated on).

    From the two longer bottom-k sketches: ``short``'s hashes below the largest that ``long``'s
    sketch kept are a sample of its words for which "in ``long``" is known exactly."""
    mine, theirs = short.word_hashes(), long.word_hashes()
    if not mine or not theirs:
        return 0.0, 0
    top = theirs[-1] if long.vocabulary > len(theirs) else 0xFFFFFFFF
    sample = mine[:bisect_right(mine, top)]  # (the hashes are sorted)
    if not sample:
        return 0.0, 0
    return len(set(theirs).intersection(sample)) / len(sample), len(sample)


def _name_words(names: Sequence[str]) -> set[str]:
    return {w for n in names for w in n.split() if len(w) > 2}


def rare_limit(size: int) -> int:
    """A name mentioned by fewer window articles than this is rare (distinctive)."""
    return max(RARE_DF, size // RARE_SHARE)


class _Probe:
    """The new article's side of ``compare``, worked out once for all its candidates: its
    sketch as a set, its names that are not common in the window (and as a set, when each
    comes once), and the rare ones."""

    __slots__ = ("features", "sketch", "names", "name_set", "rare", "rare_names", "bounded")

    def __init__(self, new: StoryFeatures, df: Mapping[str, int], size: int) -> None:
        limit = rare_limit(size)
        counts = list(map(df.get, map("n:".__add__, new.names), repeat(0)))
        self.features = new
        self.sketch = set(new.sketch)
        self.names = [n for n, c in zip(new.names, counts, strict=True) if c < COMMON_DF]
        name_set = set(self.names)
        self.name_set = name_set if len(name_set) == len(self.names) else None
        self.rare_names = [n for n, c in zip(new.names, counts, strict=True) if c <= limit]
        self.rare = set(self.rare_names)
        # each hash, name and number once (as story_features makes them): a near-copy's share
        # is at most the shared hashes over k, every other test scores 2.0 at most
        self.bounded = (len(self.sketch) == len(new.sketch) and self.name_set is not None
                        and len(set(new.numbers)) == len(new.numbers))


def compare(new: StoryFeatures, old: StoryFeatures, df: Mapping[str, int],
            size: int = 0) -> tuple[float, str] | None:
    """(score, reason) when ``new`` reports the same event as ``old``, else None. ``df``: how
    many window articles have each lookup key; ``size``: how many articles the window holds."""
    return _compare(_Probe(new, df, size), old, df)


def _compare(probe: _Probe, old: StoryFeatures, df: Mapping[str, int]
             ) -> tuple[float, str] | None:
    new = probe.features
    if new.event is not None and old.event is not None and new.event != old.event:
        return None  # two kinds of event: two stories
    if min(new.vocabulary, old.vocabulary) < SHORT_VOCAB:
        return _short_items(probe, old)
    share = _copy_share(probe.sketch, new.sketch, old.sketch)
    if share >= COPY_SHARE:
        return 2.0 + share, f"near-copy: {share:.0%} of the vocabulary is the same"
    theirs = old.names
    # the names in common: a set of them (in C), in the new article's order when said
    names: Collection[str] = (probe.name_set.intersection(theirs) if probe.name_set is not None
                              else [n for n in probe.names if n in theirs])
    numbers = [n for n in new.numbers if n in old.numbers]
    if len(names) + len(numbers) < MIN_SHARED:
        return _brief(new, old, df)
    fraction = (len(names) + len(numbers)) / max(1, min(
        len(new.names) + len(new.numbers), len(old.names) + len(old.numbers)))
    if share >= WORDING_SHARE and fraction >= MIN_SHARED_FRACTION:
        return 1.0 + fraction, f"same event: {share:.0%} of the vocabulary; names " + _said(
            new, [n for n in probe.names if n in names], numbers)
    rare = len(probe.rare.intersection(names))
    if fraction >= MIN_SHARED_ACROSS and (
            (rare >= 3 and numbers) or (rare >= 2 and len(numbers) >= 2)):
        return fraction, "same event (other wording or language): names " + _said(
            new, [n for n in probe.names if n in names], numbers)
    return _brief(new, old, df)


def _compare_above(probe: _Probe, old: StoryFeatures, df: Mapping[str, int], floor: float
                   ) -> tuple[float, str] | None:
    """``_compare`` when only a score above ``floor`` (2.0 or more: a near-copy's) matters, for a
    ``bounded`` probe: only a near-copy or short items' same words can score that much, and a
    near-copy's share is at most the shared hashes over k (counted in C, no merge)."""
    new = probe.features
    if new.event is not None and old.event is not None and new.event != old.event:
        return None
    if min(new.vocabulary, old.vocabulary) < SHORT_VOCAB:
        return _short_items(probe, old)
    k = min(len(new.sketch), len(old.sketch))
    if not k or 2.0 + len(probe.sketch.intersection(old.sketch)) / k <= floor:
        return None
    share = _copy_share(probe.sketch, new.sketch, old.sketch)
    if share >= COPY_SHARE:
        return 2.0 + share, f"near-copy: {share:.0%} of the vocabulary is the same"
    return None


def _said(new: StoryFeatures, names: list[str], numbers: list[str]) -> str:
    said = ", ".join(names[:5]) + (f"; numbers {', '.join(numbers[:3])}" if numbers else "")
    return said + (f"; event {new.event}" if new.event else "")


def _short_items(probe: _Probe, old: StoryFeatures) -> tuple[float, str] | None:
    """``compare`` when one of them is a short item (a title alone)."""
    new = probe.features
    if new.wording and new.wording == old.wording:
        return 3.0, "near-copy: the same words"
    names = [n for n in probe.rare_names if n in old.names]
    numbers = [n for n in new.numbers if n in old.numbers]
    if len(names) >= 2 and numbers:
        return 1.0, (f"same event (short items): names {', '.join(names[:5])}; numbers "
                     f"{', '.join(numbers[:3])}")
    return None


def _brief(new: StoryFeatures, old: StoryFeatures, df: Mapping[str, int]
           ) -> tuple[float, str] | None:
    """A short report (a teaser, the highlights) whose words are mostly in the other one and
    that names one of its names."""
    short, long = (new, old) if new.vocabulary <= old.vocabulary else (old, new)
    if not 0 < short.vocabulary <= BRIEF_VOCAB:
        return None
    share, sample = containment(short, long)
    if sample < BRIEF_SAMPLE or share < BRIEF_SHARE_NAMES:
        return None
    common = {w for n in (*short.names, *long.names) if df.get(f"n:{n}", 0) >= COMMON_DF
              for w in n.split()}
    shared = sorted((_name_words(short.names) & _name_words(long.names)) - common)
    if not shared or (share < BRIEF_SHARE and len(shared) < 2):
        return None
    return share, (f"short report: {share:.0%} of its words are in the longer one; "
                   f"names {', '.join(shared[:5])}")


def assign(features: StoryFeatures, at: datetime | None, candidates: Iterable[StoryMember],
           df: Mapping[str, int], size: int,
           window: timedelta = DEFAULT_WINDOW, source: str = "") -> StoryMatch | None:
    """The story ``features`` joins among ``candidates`` (the best match wins; on a tie the
    earliest candidate given), or None: the article starts a new story."""
    best: tuple[float, StoryMember, str] | None = None
    probe: _Probe | None = None  # (made for the first candidate: most articles have none)
    for member in candidates:
        other = member.at  # (outside the window: more than ``window`` apart)
        if (at is not None and other is not None and abs(at - other) > window) or (
                source and member.source == source):
            continue
        if probe is None:
            probe = _Probe(features, df, size)
        if best is not None and best[0] >= 2.0 and probe.bounded:
            found = _compare_above(probe, member.features, df, best[0])
        else:
            found = _compare(probe, member.features, df)
        if found is not None and (best is None or found[0] > best[0]):
            best = (found[0], member, found[1])
    if best is None:
        return None
    return StoryMatch(story=best[1].story, joined=best[1].ref, reason=best[2])


class StoryWindow:
    """The stories of the last ``window`` of articles, in memory, fed in (roughly) date order.

    Not I/O, but state: the CLI and benchmarks feed it article by article; the poller keeps the
    same index in the database instead.
    """

    def __init__(self, window: timedelta = DEFAULT_WINDOW, max_size: int = MAX_WINDOW) -> None:
        self.window = window
        self.max_size = max_size
        self._members: deque[tuple[int, StoryMember, tuple[int | str, ...]]] = deque()
        # key -> sequence numbers, oldest first: an array (most keys have a few articles: a
        # tenth of a deque's memory, and not an object the garbage collector reads: 25 new
        # lists an article made it collect every 20 articles), a deque once a long one loses
        # its first
        self._postings: dict[int | str, array[int] | deque[int]] = {}
        self._by_seq: dict[int, StoryMember] = {}
        self._latest: datetime | None = None
        self._seq = 0

    def __len__(self) -> int:
        return len(self._members)

    def add(self, ref: str, features: StoryFeatures, at: datetime | None) -> StoryMatch | None:
        """Place one article; returns the story it joined (None: it starts story ``ref``).
        An undated article counts as published with the newest dated one seen so far."""
        if at is not None and (self._latest is None or at > self._latest):
            self._latest = at
            self._evict()
        at = at or self._latest
        keys = _window_keys(features)
        postings = self._postings
        found = list(map(postings.get, keys))
        hashes = min(len(features.sketch), INDEXED_HASHES)  # (keys of the names and numbers)
        named = cast("tuple[str, ...]", keys[hashes:])
        df = {k: len(p) for k, p in zip(named, found[hashes:], strict=True) if p is not None}
        match = assign(features, at, self._candidates(found, len(self._members)), df,
                       len(self._members), self.window)
        member = StoryMember(ref, match.story if match else ref, at, features)
        self._seq += 1
        seq = self._seq
        for key, posting in zip(keys, found, strict=True):
            if posting is None and (posting := postings.get(key)) is None:  # (a key twice)
                posting = postings[key] = _ONE_POSTING.__copy__()
                posting[0] = seq
            else:
                posting.append(seq)
        self._by_seq[seq] = member
        self._members.append((seq, member, keys))
        if len(self._members) > self.max_size:
            self._drop_oldest()
        return match

    def _candidates(self, found: Sequence[array[int] | deque[int] | None], size: int
                    ) -> list[StoryMember]:
        """Members sharing two keys (sketch hashes, names, numbers) with the new article, read
        from the postings (``found``: the article's keys') of keys that are not common in the
        window."""
        limit = search_limit(size)
        read = [posting if len(posting) <= MAX_POSTINGS
                else islice(posting, len(posting) - MAX_POSTINGS, None)
                for posting in found if posting is not None and len(posting) <= limit]
        seen = sorted(chain.from_iterable(read))  # (in C: no loop per posting here)
        twice = set(compress(seen, map(eq, seen, islice(seen, 1, None))))  # in 2 keys or more
        return list(map(self._by_seq.__getitem__, sorted(twice)))

    def _evict(self) -> None:
        assert self._latest is not None
        horizon = self._latest - self.window
        while self._members:
            at = self._members[0][1].at
            if at is None or at >= horizon:
                return
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        seq, _, keys = self._members.popleft()
        del self._by_seq[seq]
        postings = self._postings
        for key in keys:
            posting = postings[key]
            if posting and posting[0] == seq:
                if type(posting) is deque:
                    posting.popleft()
                elif len(posting) > LONG_POSTING:  # (an array: made a deque once it is long)
                    posting = postings[key] = deque(posting)
                    posting.popleft()
                else:
                    del posting[0]
            if not posting:
                del postings[key]


# --- the poller's step: place a poll's new articles among the stored window -----------------------
def place_articles(articles: Sequence[Article], features: Sequence[StoryFeatures],
                   lookup: StoryLookup, now: datetime, window: timedelta = DEFAULT_WINDOW
                   ) -> tuple[tuple[Article, ...], tuple[StoryPlacement, ...]]:
    """Each article with the story key of the story it joins (its own when it starts one),
    and its placement; articles of one batch can join each other.

    ``lookup`` holds the whole batch's candidates (one storage lookup); each article is
    compared only with its own: the members, stored or placed earlier in the batch, sharing two
    searchable keys with it, as ``story_candidates`` finds them for one article (a key is
    searchable when at most ``search_limit`` window and batch articles have it). Compared with
    the whole batch's candidates, 1,200 articles made 480,000 comparisons (10 s of a 17 s
    cycle)."""
    limit = search_limit(lookup.size)
    batch_df = Counter(k for f in features for k in lookup_keys(f))
    members = list(lookup.members)
    index: dict[str, list[int]] = {}

    def searchable(keys: Sequence[str]) -> list[str]:
        return [k for k in keys if lookup.df.get(k, 0) + batch_df[k] <= limit]

    def add(at: int, keys: Sequence[str]) -> None:
        for k in searchable(keys):
            index.setdefault(k, []).append(at)

    for i, member in enumerate(members):
        add(i, lookup_keys(member.features))
    placed: list[Article] = []
    placements: list[StoryPlacement] = []
    for article, feats in zip(articles, features, strict=True):
        keys = lookup_keys(feats)
        hits = Counter(i for k in searchable(keys) for i in index.get(k, ()))
        at = article.published or now
        match = assign(feats, at, [members[i] for i in sorted(hits) if hits[i] >= 2],
                       lookup.df, lookup.size, window, article.feed_url)
        if match is not None and match.story == article.story:
            match = None  # the same page (canonical link) seen again: nothing to follow up
        story = match.story if match else article.story
        ref = article.url or article.key
        placements.append(StoryPlacement(article.key, story, ref, at, feats, keys, match))
        members.append(StoryMember(ref, story, at, feats, article.feed_url))
        add(len(members) - 1, keys)
        placed.append(replace(article, story=story) if match else article)
    return tuple(placed), tuple(placements)
