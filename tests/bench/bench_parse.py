"""How fast is parse_feed on real feeds? (prints figures; not part of the test run)

    python tests/bench/bench_parse.py [--repeat N]

For every file in ../shared/corpora/realfeeds: best-of-N wall time of ``parse_feed`` and, for the
XML feeds, of ``feedparser.parse`` alone on the same bytes, so the share spent in feedparser (what
a faster first-pass parser could save) versus our own conversion (HTML -> text, dates, links) is
visible. Totals: MB/s over the corpus, and ms per entry scaled to a 50-item feed; then the same
corpus through ``parse_feed_async`` (the worker process the bot uses, warm), to show what the
process hop costs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

import feedparser

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.domain.errors import ParseError  # noqa: E402
from bot.jobs.parse_workers import close_parse_workers, parse_feed_async  # noqa: E402
from bot.pipeline.parse import parse_feed  # noqa: E402

CORPUS = ROOT / ".." / "shared" / "corpora" / "realfeeds"
SKIP = {"LICENSE", "README.md", "BASELINE.jsonl"}


def best_of(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def ours(body: bytes) -> int:
    try:
        return len(parse_feed(body, url="https://feeds.example/feed").entries)
    except ParseError:
        return 0


def via_worker(bodies: list[bytes], repeat: int) -> float:
    """Best-of-N seconds to parse every body through the (warm) parse worker, one after another."""
    async def all_of_them() -> None:
        for body in bodies:
            with contextlib.suppress(ParseError):
                await parse_feed_async(body, url="https://feeds.example/feed")

    async def timed() -> float:
        await all_of_them()  # starts the worker
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            await all_of_them()
            times.append(time.perf_counter() - start)
        return min(times)

    try:
        return asyncio.run(timed())
    finally:
        close_parse_workers()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS.resolve()}; nothing to measure")
        return 0
    files = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name not in SKIP)
    total_bytes = total_entries = 0
    total_ours = total_fp = 0.0
    print(f"{'file':44} {'KB':>6} {'items':>5} {'ours ms':>8} {'feedparser ms':>13} {'MB/s':>6}")
    for path in files:
        body = path.read_bytes()
        entries = ours(body)
        t_ours = best_of(args.repeat, lambda b=body: ours(b))
        is_json = path.suffix == ".json"
        t_fp = 0.0 if is_json else best_of(
            args.repeat, lambda b=body: feedparser.parse(io.BytesIO(b)))
        total_bytes += len(body)
        total_entries += entries
        total_ours += t_ours
        total_fp += t_fp
        fp_ms = "(json)" if is_json else f"{t_fp * 1000:.1f}"
        print(f"{path.relative_to(CORPUS).as_posix()[-44:]:44} {len(body) / 1024:6.1f} "
              f"{entries:5d} {t_ours * 1000:8.1f} {fp_ms:>13} {len(body) / t_ours / 1e6:6.2f}")
    per_entry = total_ours / max(total_entries, 1)
    print(f"\n{len(files)} files, {total_bytes / 1e6:.2f} MB, {total_entries} entries")
    print(f"parse_feed: {total_bytes / total_ours / 1e6:.2f} MB/s; {per_entry * 1000:.2f} ms/entry "
          f"-> {per_entry * 50 * 1000:.0f} ms per 50-item feed")
    print(f"feedparser.parse alone (XML files): {total_fp * 1000:.0f} ms of "
          f"{total_ours * 1000:.0f} ms total parse_feed time")
    t_worker = via_worker([p.read_bytes() for p in files], args.repeat)
    print(f"parse_feed_async (worker process): {t_worker * 1000:.0f} ms for the corpus, "
          f"{(t_worker - total_ours) / len(files) * 1000:+.1f} ms per feed against parse_feed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
