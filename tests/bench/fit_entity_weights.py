"""Fit the weights of the ambiguous-name cues (``bot/pipeline/entity_weights.py``).

Run: ``python tests/bench/fit_entity_weights.py [--write]``

Data: the labelled sentences of ``../shared/corpora/entities`` (read in place, never copied) and the
``dev`` split of ``tests/fixtures/entities/ambiguous_dev.jsonl``; the ``test`` split is never used
here. Each sentence is matched against ``config/examples/ambiguous-companies.yaml``; every scored
occurrence of the row's company becomes one example (its cues -> the row's label).

Model: L2-regularised logistic regression over the 0/1 cues, fitted by batch gradient descent
(pure Python: a few hundred examples, ~25 cues). Threshold: precision first -- the lowest score at
which the out-of-fold (leave-one-name-out) predictions reach ``TARGET_PRECISION``, so the shipped
threshold is chosen on predictions for names the weights never saw.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.config.watchlist import load_watchlist  # noqa: E402
from bot.pipeline.disambiguate import CUES, Model, decide  # noqa: E402
from bot.pipeline.match import Matcher, compile_watchlist  # noqa: E402

# ``shared`` sits next to the checkout (or next to the worktrees' folder)
SHARED = next((p for p in (ROOT.parent / "shared", ROOT.parent.parent / "shared")
               if p.exists()), ROOT.parent / "shared") / "corpora" / "entities" / (
    "ambiguous_company_mentions.jsonl")
DEV = ROOT / "tests" / "fixtures" / "entities" / "ambiguous_dev.jsonl"
WATCHLIST = ROOT / "config" / "examples" / "ambiguous-companies.yaml"
WEIGHTS_FILE = ROOT / "bot" / "pipeline" / "entity_weights.py"
TARGET_PRECISION = 0.97  # on out-of-fold (leave-one-name-out) scores: the shipped threshold
# on in-sample scores (optimistic, so asked for more): the threshold of each leave-one-name-out fit
# in entity_quality.py
FOLD_TARGET_PRECISION = 0.99
L2 = 0.05


@dataclass(frozen=True)
class Row:
    """One labelled sentence, read through the matcher: ``plain`` = the company counts without
    scoring (a multi-word alias ...); ``occurrences`` = the cues of each scored occurrence."""

    name: str
    company: str
    label: bool
    plain: bool
    occurrences: tuple[frozenset[str], ...]
    sentence: str


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def read_rows(raw: Iterable[dict[str, Any]], matcher: Matcher) -> list[Row]:
    canonical = {t.casefold(): c.name for c in matcher.watchlist.companies
                 for t in (c.name, *c.aliases)}
    rows = []
    for r in raw:
        if r["label"] not in ("company", "not_company"):
            continue
        company = canonical[r["name"].casefold()]
        plain, found = matcher.candidates("", r["sentence"])
        rows.append(Row(r["name"], company, r["label"] == "company", company in plain,
                        tuple(cs for n, cs in found if n == company), r["sentence"]))
    return rows


def training_rows(matcher: Matcher | None = None) -> list[Row]:
    matcher = matcher or compile_watchlist(load_watchlist(WATCHLIST))
    raw = load_jsonl(SHARED) if SHARED.exists() else []
    raw += [r for r in load_jsonl(DEV) if r["split"] == "dev"]
    return read_rows(raw, matcher)


def fit(rows: list[Row], iterations: int = 1500, rate: float = 0.5) -> Model:
    """Logistic regression on every scored occurrence; threshold 0 (p = 0.5) until chosen."""
    examples = [(occ, 1.0 if row.label else 0.0) for row in rows for occ in row.occurrences]
    weights = dict.fromkeys(CUES, 0.0)
    bias = 0.0
    n = max(1, len(examples))
    for _ in range(iterations):
        grad = dict.fromkeys(CUES, 0.0)
        grad_bias = 0.0
        for cues, y in examples:
            z = bias + sum(weights[c] for c in cues)
            err = 1.0 / (1.0 + math.exp(-z)) - y
            grad_bias += err
            for c in cues:
                grad[c] += err
        bias -= rate * grad_bias / n
        for c in CUES:
            weights[c] -= rate * (grad[c] / n + L2 * weights[c] / n * 10)
    return Model(round(bias, 3), 0.0, {c: round(w, 3) for c, w in weights.items() if w})


def predict(row: Row, model: Model) -> bool:
    return row.plain or any(decide(occ, model).accepted for occ in row.occurrences)


def score(row: Row, model: Model) -> float:
    """The best score of the row's occurrences (inf: counts without scoring)."""
    if row.plain:
        return math.inf
    return max((decide(occ, model).score if "person_title" not in occ else -math.inf
                for occ in row.occurrences), default=-math.inf)


def leave_one_name_out(rows: list[Row]) -> list[tuple[Row, float]]:
    """Each row scored by a model fitted without any row of its company."""
    out: list[tuple[Row, float]] = []
    for company in sorted({r.company for r in rows}):
        model = fit([r for r in rows if r.company != company])
        out += [(r, score(r, model)) for r in rows if r.company == company]
    return out


def choose_threshold(scored: list[tuple[Row, float]], target: float = TARGET_PRECISION) -> float:
    """The lowest threshold whose precision on ``scored`` reaches ``target`` (most recall): half
    way between the lowest score kept and the highest score below it."""
    finite = sorted({s for _, s in scored if math.isfinite(s)})
    for i, t in enumerate(finite):
        tp = sum(1 for r, s in scored if s >= t and r.label)
        fp = sum(1 for r, s in scored if s >= t and not r.label)
        if tp + fp and tp / (tp + fp) >= target:
            return round((t + finite[i - 1]) / 2, 3) if i else t
    return finite[-1] + 1 if finite else 0.0


def write_weights(model: Model, path: Path = WEIGHTS_FILE) -> None:
    lines = ['"""Weights of the cues in ``disambiguate.py``: written by',
             '``tests/bench/fit_entity_weights.py`` (logistic regression on labelled sentences;',
             'threshold chosen for precision first). Do not edit by hand: re-run the script."""',
             "", f"BIAS = {model.bias!r}", f"THRESHOLD = {model.threshold!r}",
             "WEIGHTS: dict[str, float] = {"]
    lines += [f"    {c!r}: {w!r}," for c, w in sorted(model.weights.items(), key=lambda x: -x[1])]
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {WEIGHTS_FILE.name}")
    args = parser.parse_args(argv)
    rows = training_rows()
    threshold = choose_threshold(leave_one_name_out(rows))
    fitted = fit(rows)
    model = Model(fitted.bias, round(threshold, 3), fitted.weights)
    print(f"{len(rows)} rows, {sum(len(r.occurrences) for r in rows)} scored occurrences; "
          f"bias {model.bias}, threshold {model.threshold}")
    for c, w in sorted(model.weights.items(), key=lambda x: -x[1]):
        print(f"  {c:<24} {w:+.3f}")
    if args.write:
        write_weights(model)
        print(f"written to {WEIGHTS_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
