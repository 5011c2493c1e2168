"""Throughput of summarise() on ~5 KB articles and of the sentence splitter. Prints figures only.

    python tests/bench/bench_summarise.py [--seconds 2]

Articles are the CNN/DM and BBC evaluation texts from ../shared/corpora/summaries, cut at a
sentence near 5,000 characters; without the corpus, a generated 5 KB article is used instead.
Single process, single thread: the figures are per core. Target: >= 500 summaries/s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.domain.alert import Match  # noqa: E402
from bot.pipeline.summarise import summarise  # noqa: E402
from bot.text.clean import html_to_text  # noqa: E402
from bot.text.sentences import split_sentences  # noqa: E402

CORPUS = ROOT / ".." / "shared" / "corpora" / "summaries"
SIZE = 5_000


def articles() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, text_field in (("cnndm_dev100.jsonl", "article"), ("bbc_dev300.jsonl", "article")):
        path = CORPUS / name
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            text = row[text_field]
            if len(text) >= SIZE:
                cut = text.find(". ", SIZE - 200)
                out.append((row.get("title", ""), text[: cut + 1 if cut > 0 else SIZE]))
    if not out:
        sentence = "Acme Corp said on Tuesday that revenue rose 12% to $4.5bn in the quarter. "
        out = [("Acme revenue rises", sentence * (SIZE // len(sentence)))]
    return out


def rate(label: str, fn: object, items: list, seconds: float, unit: str) -> None:  # type: ignore[type-arg]
    call = fn  # type: ignore[assignment]
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for item in items:
            call(item)  # type: ignore[operator]
        done += len(items)
    elapsed = time.perf_counter() - start
    print(f"{label:<44} {done / elapsed:10,.0f} {unit}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    items = articles()
    mean = sum(len(t) for _, t in items) / len(items)
    print(f"{len(items)} articles, mean {mean:,.0f} chars")
    acme = [Match("company", "Acme", "Acme", "text", 0, 4, "")]
    rate("summarise (generic, 3 sentences)", lambda a: summarise(a[0], a[1]), items,
         args.seconds, "summaries/s")
    rate("summarise (with a company match)", lambda a: summarise(a[0], a[1], matches=acme),
         items, args.seconds, "summaries/s")
    rate("split_sentences", lambda a: split_sentences(a[1], "en"), items, args.seconds,
         "articles/s")
    total_mb = sum(len(t) for _, t in items) / 1e6
    start = time.perf_counter()
    for _, text in items:
        split_sentences(text, "en")
    mb_s = total_mb / (time.perf_counter() - start)
    print(f"{'split_sentences throughput':<44} {mb_s:10,.1f} MB/s")
    html = ["<p>" + t.replace(". ", ".</p><p><b>x</b> ") + "</p>" for _, t in items]
    start = time.perf_counter()
    for markup in html:
        html_to_text(markup)
    mb = sum(len(h) for h in html) / 1e6
    print(f"{'html_to_text throughput':<44} {mb / (time.perf_counter() - start):10,.1f} MB/s")


if __name__ == "__main__":
    main()
