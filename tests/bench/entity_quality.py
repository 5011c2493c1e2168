"""Precision and recall of the matcher on ambiguous company names.

Run: ``python tests/bench/entity_quality.py [--watchlist PATH] [--errors]``

Data: ``../shared/corpora/entities/ambiguous_company_mentions.jsonl`` next to the checkout (264
labelled sentences for 31 names; read its README). Each sentence alone is the article (empty title);
a row is predicted "company" when the matcher reports the company whose name or alias is the row's
``name``. Rows labelled ``company`` are positives, ``not_company`` negatives; the 7 rows labelled
``ambiguous`` (sponsor names like "Orange Prize", "Corona beer") are left out of precision and
recall and reported on their own line.

Prints the figures for ``config/examples/ambiguous-companies.yaml`` and, for comparison, for a
plain keyword watchlist (the 31 names, case-insensitive, no rules).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.config.watchlist import load_watchlist  # noqa: E402
from bot.domain.watchlist import Company, Watchlist  # noqa: E402
from bot.pipeline.match import compile_watchlist  # noqa: E402

CORPUS = ROOT / ".." / "shared" / "corpora" / "entities" / "ambiguous_company_mentions.jsonl"
WATCHLIST = ROOT / "config" / "examples" / "ambiguous-companies.yaml"


@dataclass
class Report:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    ambiguous_flagged: int = 0
    ambiguous_total: int = 0
    errors: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def line(self, label: str) -> str:
        return (f"{label:<28} precision {self.precision:.3f}  recall {self.recall:.3f}  "
                f"(tp {self.tp}, fp {self.fp}, fn {self.fn}, tn {self.tn}; ambiguous rows flagged "
                f"{self.ambiguous_flagged}/{self.ambiguous_total}, not scored)")


def load_rows(path: Path = CORPUS) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _canonical(watchlist: Watchlist) -> dict[str, str]:
    """Row name (a company name or alias, case-folded) -> canonical company name."""
    out: dict[str, str] = {}
    for c in watchlist.companies:
        for term in (c.name, *c.aliases):
            out.setdefault(term.casefold(), c.name)
    return out


def evaluate(watchlist: Watchlist, rows: list[dict[str, Any]]) -> Report:
    matcher = compile_watchlist(watchlist)
    canonical = _canonical(watchlist)
    report = Report()
    for row in rows:
        company = canonical.get(row["name"].casefold())
        flagged = company is not None and company in matcher.match("", row["sentence"]).companies
        if row["label"] == "ambiguous":
            report.ambiguous_total += 1
            report.ambiguous_flagged += flagged
        elif row["label"] == "company":
            report.tp += flagged
            report.fn += not flagged
            if not flagged:
                report.errors.append(("missed", row))
        else:
            report.fp += flagged
            report.tn += not flagged
            if flagged:
                report.errors.append(("false alarm", row))
    return report


def keyword_baseline(rows: list[dict[str, Any]]) -> Watchlist:
    names = sorted({row["name"] for row in rows})
    return Watchlist(companies=tuple(Company(name) for name in names))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchlist", type=Path, default=WATCHLIST)
    parser.add_argument("--errors", action="store_true", help="list every miss and false alarm")
    args = parser.parse_args(argv)
    if not CORPUS.exists():
        print(f"corpus not found: {CORPUS}", file=sys.stderr)
        return 2
    rows = load_rows()
    print(f"{len(rows)} rows from {CORPUS.resolve()}")
    print(evaluate(keyword_baseline(rows), rows).line("plain keyword match"))
    report = evaluate(load_watchlist(args.watchlist), rows)
    print(report.line(args.watchlist.name))
    if args.errors:
        for kind, row in report.errors:
            print(f"  {kind:<11} {row['name']:<10} {row['sentence'][:150]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
