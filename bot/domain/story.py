"""Story values shared by the pipeline (bot/pipeline/stories.py) and storage: an article's story
signature, a placed member of the window, a match and why, a storage lookup, a placement. Pure."""

from __future__ import annotations

import base64
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

FOLLOWUPS = ("thread", "edit", "off")  # what a later report of an alerted story does
FOLLOWUP_MEANS = {
    "thread": "a later report of a story alerted here is a reply in the alert's thread",
    "edit": "a later report of a story alerted here adds its outlet to the alert's "
            "“Also covered by” line",
    "off": "a later report of a story alerted here posts nothing",
}


def describe_followups(mode: str) -> str:
    """The follow-up setting, as `/news list` shows it."""
    return f"followups {mode}: {FOLLOWUP_MEANS.get(mode, mode)}"


FOLLOWUP_GAP = timedelta(minutes=10)  # at most one follow-up per story and destination per gap
SEARCH_DF = 50  # keys of more window articles than this do not find candidates: a story's own
# names, numbers and rare words are shared by its few reports, common ones by too many to read


def search_limit(size: int) -> int:
    """Keys of more window articles than this find no candidates (``size``: window articles).

    Fixed: a limit growing with the window (1 in 200) read hundreds of postings per key in a
    100,000-article window (155 articles/s in tests/bench/eval_stories.py) and found the same
    stories on the labelled set (P 0.973, R 0.702 both ways).
    """
    return SEARCH_DF


@dataclass(frozen=True, slots=True)
class StoryFeatures:
    """One article's story signature (how it is made: bot/pipeline/story_features.py)."""

    sketch: tuple[int, ...]
    vocabulary: int  # distinct words the sketch was taken from
    names: tuple[str, ...]
    numbers: tuple[str, ...]
    event: str | None
    words: bytes = b""  # a longer bottom-k sketch, packed unsigned 32-bit hashes (containment)
    wording: int = 0  # a hash of every distinct word (short items: the same words or not)

    def word_hashes(self) -> array[int]:
        hashes = array("I")
        hashes.frombytes(self.words)
        return hashes

    def to_json(self) -> dict[str, object]:
        return {"sketch": list(self.sketch), "vocabulary": self.vocabulary,
                "names": list(self.names), "numbers": list(self.numbers), "event": self.event,
                "words": base64.b64encode(self.words).decode("ascii"), "wording": self.wording}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> StoryFeatures:
        def seq(key: str) -> tuple[object, ...]:
            value = data.get(key)
            return tuple(value) if isinstance(value, list) else ()

        event = data.get("event")
        vocabulary = data.get("vocabulary")
        words, wording = data.get("words"), data.get("wording")
        packed = base64.b64decode(words) if isinstance(words, str) else b""
        return cls(sketch=tuple(int(str(h)) for h in seq("sketch")),
                   vocabulary=vocabulary if isinstance(vocabulary, int) else 0,
                   names=tuple(str(n) for n in seq("names")),
                   numbers=tuple(str(n) for n in seq("numbers")),
                   event=event if isinstance(event, str) else None,
                   words=packed if len(packed) % 4 == 0 else b"",
                   wording=wording if isinstance(wording, int) else 0)


@dataclass(frozen=True, slots=True)
class StoryMember:
    """An article already placed in a story: ``ref`` is its id, ``story`` its story's id."""

    ref: str
    story: str
    at: datetime | None
    features: StoryFeatures
    source: str = ""  # the feed it came from: one feed's entries are never one story


@dataclass(frozen=True, slots=True)
class StoryMatch:
    """Why an article joined a story: the member it matched and the evidence."""

    story: str
    joined: str  # ref of the most similar earlier article
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"story": self.story, "joined": self.joined, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class StoryLookup:
    """What storage found for a poll's keys: candidate members, key counts, window size."""

    members: tuple[StoryMember, ...] = ()
    df: Mapping[str, int] = field(default_factory=dict)
    size: int = 0


@dataclass(frozen=True, slots=True)
class StoryPlacement:
    """One new article's story: stored with the article (signature, keys, why)."""

    article_key: str
    story: str
    ref: str
    at: datetime
    features: StoryFeatures
    keys: tuple[str, ...]
    match: StoryMatch | None


@dataclass(frozen=True, slots=True)
class FollowupTarget:
    """What a follow-up needs from its story's first alert in one destination."""

    followups: str  # the destination's setting: thread | edit | off
    status: str | None  # the first alert's status (pending, sent...), None if there is none
    message_id: str | None  # the first alert's platform message id, once sent
    first_alert: dict[str, Any] | None = None  # its Alert JSON
    outlets: tuple[str, ...] = ()  # feeds of the story's follow-ups already sent there
    merged: tuple[str, ...] = ()  # feeds of later reports merged into this follow-up
