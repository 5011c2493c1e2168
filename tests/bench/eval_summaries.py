"""Evaluate newsbot's summaries and sentence splitter on ../shared/corpora/summaries.

    python tests/bench/eval_summaries.py            # dev + test ROUGE tables, splitter F1 table
    python tests/bench/eval_summaries.py --dev      # tuning sets only (cnndm_dev100, bbc_dev300)

ROUGE: rouge-score, use_stemmer=True, F1 x 100 averaged over articles. newsbot's summaries are made
from the article text in generic mode (no matches), 3 sentences, no character budget in the way
(max_chars=10_000), with the title when the set has one. Lead-3 is computed in the same run: the
first three sentences of the set's own sentence split (``article_sentences`` / ``sentences``), or
of newsbot's splitter for MLSUM, which has none. English uses rouge-score's tokenizer (Porter
stemmer); German, Spanish and French a Unicode word tokenizer with NLTK's Snowball stemmer
(rouge-score's default tokenizer drops every non a-z character). RLsum is sentence-aware LCS.

Tuning happened on cnndm_dev100 and bbc_dev300 only; cnndm_test150 and mlsum are report-only.

Splitter: boundary F1 per language on the UD test sentences: the sentences of one language are
joined with single spaces into one text (sentences of a document are contiguous in UD), split,
and the predicted sentence end offsets are compared with the gold ones. A naive regex baseline
(split after . ! ? followed by whitespace) is scored the same way as a sanity check against the
figures in the corpus README.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.pipeline.summarise import DEFAULT_WEIGHTS, Weights, summarise  # noqa: E402
from bot.text.sentences import split_sentences  # noqa: E402

CORPUS = ROOT / ".." / "shared" / "corpora" / "summaries"
ROUGE_TYPES = ("rouge1", "rouge2", "rougeLsum")
README_LEAD3 = {"cnndm_dev100": (39.33, 16.48, 35.31), "cnndm_test150": (42.57, 20.14, 38.88)}
README_SPLIT = {  # punkt / pysbd / naive regex, from the corpus README
    "de": (0.927, 0.888, 0.858), "fr": (0.957, 0.966, 0.941),
    "es": (0.966, 0.940, 0.961), "it": (0.950, 0.936, 0.911),
}
MLSUM_STEMMER = {"de": "german", "es": "spanish", "fr": "french"}


def load(name: str) -> list[dict[str, Any]]:
    with (CORPUS / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class UnicodeTokenizer:
    """Lower-cased Unicode words, Snowball-stemmed: rouge-score's tokenizer for fr/de/es/it."""

    _word = re.compile(r"\w+")

    def __init__(self, language: str) -> None:
        from nltk.stem.snowball import SnowballStemmer

        self._stem = SnowballStemmer(language).stem

    def tokenize(self, text: str) -> list[str]:
        return [self._stem(w) for w in self._word.findall(text.lower())]


def rouge(pairs: Iterable[tuple[Sequence[str], Sequence[str]]], tokenizer: Any = None
          ) -> tuple[float, ...]:
    """Mean F1 x 100 for R1, R2, RLsum over (summary sentences, reference sentences) pairs."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True, tokenizer=tokenizer)
    totals: dict[str, list[float]] = {t: [] for t in ROUGE_TYPES}
    for summary, reference in pairs:
        scores = scorer.score("\n".join(reference), "\n".join(summary))
        for t in ROUGE_TYPES:
            totals[t].append(scores[t].fmeasure)
    return tuple(100 * statistics.fmean(totals[t]) for t in ROUGE_TYPES)


Summariser = Callable[[str, str, str | None], Sequence[str]]


def newsbot(weights: Weights = DEFAULT_WEIGHTS) -> Summariser:
    def run(title: str, text: str, lang: str | None) -> Sequence[str]:
        return summarise(title, text, weights=weights, max_sentences=3, max_chars=10_000,
                         lang=lang).sentences
    return run


def eval_cnndm(name: str, summariser: Summariser) -> dict[str, tuple[float, ...]]:
    rows = load(name)
    refs = [r["reference_sentences"] for r in rows]
    ours = [summariser("", r["article"], "en") for r in rows]
    lead = [r["article_sentences"][:3] for r in rows]
    return {"newsbot": rouge(zip(ours, refs, strict=True)),
            "Lead-3": rouge(zip(lead, refs, strict=True))}


def eval_bbc(summariser: Summariser) -> dict[str, tuple[float, ...]]:
    rows = load("bbc_dev300.jsonl")
    refs = [[r["sentences"][i] for i in r["summary_sentence_idx"]] for r in rows]
    ours = [summariser(r["title"], r["article"], "en") for r in rows]
    lead = [r["sentences"][:3] for r in rows]
    return {"newsbot": rouge(zip(ours, refs, strict=True)),
            "Lead-3": rouge(zip(lead, refs, strict=True))}


def eval_mlsum(summariser: Summariser) -> dict[str, tuple[float, ...]]:
    rows = load("mlsum_de_es_fr45.jsonl")
    out: dict[str, tuple[float, ...]] = {}
    for lang in ("de", "es", "fr"):
        subset = [r for r in rows if r["lang"] == lang]
        tok = UnicodeTokenizer(MLSUM_STEMMER[lang])
        refs = [split_sentences(r["summary"], lang) for r in subset]
        ours = [summariser(r["title"], r["text"], lang) for r in subset]
        lead = [split_sentences(r["text"], lang)[:3] for r in subset]
        out[f"newsbot {lang}"] = rouge(zip(ours, refs, strict=True), tok)
        out[f"Lead-3 {lang}"] = rouge(zip(lead, refs, strict=True), tok)
    return out


# --- splitter -------------------------------------------------------------------------------------
_NAIVE = re.compile(r"(?<=[.!?])\s+")


def boundary_f1(sentences: Sequence[str], splitter: Callable[[str], list[str]]) -> float:
    text = " ".join(sentences)
    gold: set[int] = set()
    offset = 0
    for s in sentences:
        offset += len(s)
        gold.add(offset)
        offset += 1
    predicted: set[int] = set()
    cursor = 0
    for piece in splitter(text):
        head = " ".join(piece.split()[:1])
        start = text.find(head, cursor) if head else -1
        if start < 0:
            continue
        end = _end_of(text, start, piece)
        predicted.add(end)
        cursor = end
    tp = len(gold & predicted)
    precision = tp / len(predicted) if predicted else 0.0
    recall = tp / len(gold) if gold else 0.0
    return 2 * precision * recall / (precision + recall) if tp else 0.0


def _end_of(text: str, start: int, piece: str) -> int:
    """End offset in ``text`` of ``piece`` (whose inner whitespace may have been normalised)."""
    i = start
    for word in piece.split():
        i = text.find(word, i) + len(word)
    return i


def eval_splitter() -> dict[str, tuple[float, float]]:
    rows = load("ud_sentences_de_fr_es_it.jsonl")
    out = {}
    for lang in ("de", "fr", "es", "it"):
        sents = [r["text"] for r in rows if r["lang"] == lang]
        ours = boundary_f1(sents, lambda t, lang=lang: split_sentences(t, lang))  # type: ignore[misc]
        naive = boundary_f1(sents, lambda t: [s for s in _NAIVE.split(t) if s.strip()])
        out[lang] = (ours, naive)
    return out


# --- report ---------------------------------------------------------------------------------------
def print_table(title: str, rows: dict[str, tuple[float, ...]]) -> None:
    print(f"\n{title}")
    print(f"| {'system':<14} | R1    | R2    | RLsum |")
    print("|" + "-" * 16 + "|-------|-------|-------|")
    for name, (r1, r2, rl) in rows.items():
        print(f"| {name:<14} | {r1:5.2f} | {r2:5.2f} | {rl:5.2f} |")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", action="store_true", help="tuning sets only")
    args = parser.parse_args(argv)
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS.resolve()}: nothing to evaluate")
        return 0
    summariser = newsbot()
    print_table("cnndm_dev100 (tuning)", eval_cnndm("cnndm_dev100.jsonl", summariser))
    print_table("bbc_dev300 (tuning; machine-made extractive references)", eval_bbc(summariser))
    if args.dev:
        return 0
    print_table("cnndm_test150 (report only)", eval_cnndm("cnndm_test150.jsonl", summariser))
    print_table("mlsum_de_es_fr45 (report only; Lead-3 = newsbot splitter's first 3)",
                eval_mlsum(summariser))
    print(f"\nREADME Lead-3 anchors: {README_LEAD3}")
    print("\nSentence-boundary F1 on UD test sentences")
    print("| lang | newsbot | naive regex (this run) | README punkt / pysbd / naive |")
    print("|------|---------|------------------------|------------------------------|")
    for lang, (ours, naive) in eval_splitter().items():
        punkt, pysbd, readme_naive = README_SPLIT[lang]
        print(f"| {lang:<4} | {ours:7.3f} | {naive:22.3f} | "
              f"{punkt:.3f} / {pysbd:.3f} / {readme_naive:.3f}          |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
