"""How close is one polling cycle to what the machine allows? (prints figures; not a test)

    python tests/bench/bench_cycle.py [--feeds 1000,3000] [--db sqlite,pg] [--items 30]
                                      [--companies 1000] [--big 100000] [--concurrency 16]
                                      [--no-pair] [--no-big]

A loopback feed server (its own process, aiohttp, ETag/304) serves N feeds of ``--items`` RSS
items each; "generation" g of feed i lists items g*6 .. g*6+items-1, so moving every feed one
generation on adds 6 new entries per feed, about 20% of which name a watched company. newsbot is
measured from outside: ``newsbot run --once`` as a subprocess (imports, config sync, the cycle,
delivery to one jsonl destination; wall time from spawn to exit, peak RSS of the main process
from ``wait4``) on a config of N feeds (backfill 0), a watchlist of ``--companies`` companies and
one ``jsonl:`` destination for every company.

Cycles, each on a fresh database (SQLite file / a new PostgreSQL database) per N:
  first    every feed new: N*items entries stored, no alerts (backfill 0)
  changes  every feed one generation on: N*6 new entries, ~20% of them alerts
  304      nothing changed: every fetch answers 304 Not Modified
The floor of each, measured in this process in the same run: a bare aiohttp fetch of the same
N feeds at the same concurrency (with the ETags for the 304 cycle) plus bare ``feedparser.parse``
of every body, one after another. The table prints newsbot / floor.

A warm-worker line per N and database: one App kept open in the bench's process (as a long-running
``newsbot run`` keeps it), cycle N+1 with every feed answering 304, timed against the fetch floor
measured next to it in the same event loop (median of ``--warm-rounds``). The run --once 304 line
is a new process: interpreter, imports and config sync included; it is also divided by the same
conditional fetch run as a new process (interpreter + ``import aiohttp`` + ``fetch_all``), the
floor of anything cron starts. bot/ is compiled to bytecode first, as ``pip install .`` does.

Then, on PostgreSQL at the largest N: two ``run --once`` started together on one database for a
changes cycle, against one alone (time ratio, and how many feeds the server served more than
once in that cycle), with the default parse workers and with ``NEWSBOT_PARSE_WORKERS=1``, each
beside the cores the one alone kept busy (its CPU time, its parse workers' and PostgreSQL's,
over its wall time): two processes on c cores cannot take less than that / c of its time; and,
unless ``--no-big``, peak RSS of a changes cycle at the largest N with
a ``--big``-company watchlist.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import email.utils
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NEW_PER_GEN = 6
SYLLABLES = ["zor", "vex", "qua", "lin", "tor", "mab", "kel", "dri", "fen", "gox", "pry", "sul",
             "bre", "vok", "nim", "zat", "ulo", "jex", "rak", "wyn", "cor", "thu", "pel", "sar"]
FILLER = ["the", "market", "moved", "on", "reports", "that", "regulators", "would", "review",
          "the", "deal", "while", "analysts", "said", "the", "quarter", "looked", "steady", "and",
          "investors", "waited", "for", "more", "details", "from", "the", "board", "about",
          "plans", "for", "the", "coming", "year"]
PG_ADMIN = os.environ.get("NEWSBOT_TEST_POSTGRES_URL",
                          "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def company(k: int) -> str:
    """A made-up one-word company name, distinct for every k (three syllables in base 24)."""
    a, b, c = k % 24, (k // 24) % 24, (k // 576) % 24
    n = SYLLABLES[a] + SYLLABLES[b] + SYLLABLES[c] + (str(k // 13824) if k >= 13824 else "")
    return n.capitalize() + "ex"


# --- the feed server (a separate process) -----------------------------------------------------
def item_xml(feed: int, n: int, companies: int) -> str:
    rnd = random.Random(feed * 1_000_003 + n)
    # common words and words of the item's own: different items are different stories
    # (issue 12 joins near-copies), as different news would be
    own = ["".join(rnd.choices(SYLLABLES, k=3)) for _ in range(30)]
    words = rnd.sample(rnd.choices(FILLER, k=30) + own, 60)
    if rnd.random() < 0.2:  # about one item in five names a watched company
        words.insert(rnd.randrange(len(words)), company(rnd.randrange(companies)))
    title = " ".join(words[:9]).capitalize()
    text = ". ".join(" ".join(words[i:i + 15]).capitalize() for i in range(0, 60, 15)) + "."
    # published in the last day: inside the channels' default 3-day freshness gate (issue 13)
    when = email.utils.format_datetime(
        datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=n % 1440))
    return (f"<item><guid isPermaLink=\"false\">f{feed}-i{n}</guid><title>{title}</title>"
            f"<link>https://news.example.com/{feed}/{n}</link>"
            f"<pubDate>{when}</pubDate>"
            f"<description>&lt;p&gt;{text}&lt;/p&gt;</description></item>")


def feed_body(feed: int, gen: int, items: int, companies: int) -> bytes:
    first = gen * NEW_PER_GEN
    body = "".join(item_xml(feed, n, companies) for n in range(first + items - 1, first - 1, -1))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Feed {feed}</title><link>https://news.example.com/{feed}/</link>"
            f"<description>bench feed</description>{body}</channel></rss>").encode()


def serve(port_out: multiprocessing.Queue, items: int, companies: int) -> None:  # type: ignore[type-arg]
    from aiohttp import web

    state = {"gen": 0}
    bodies: dict[tuple[int, int], bytes] = {}
    hits: dict[int, int] = {}

    async def feed(request: web.Request) -> web.StreamResponse:
        i = int(request.match_info["i"])
        gen = state["gen"]
        hits[i] = hits.get(i, 0) + 1
        etag = f'"{i}-{gen}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        body = bodies.get((i, gen))
        if body is None:
            body = bodies[(i, gen)] = feed_body(i, gen, items, companies)
        return web.Response(body=body, headers={"ETag": etag},
                            content_type="application/rss+xml")

    async def control(request: web.Request) -> web.StreamResponse:
        if "gen" in request.query:
            state["gen"] = int(request.query["gen"])
            bodies.clear()
        twice = sum(1 for n in hits.values() if n > 1)
        served = len(hits)
        if "reset" in request.query:
            hits.clear()
        return web.json_response({"served": served, "twice": twice})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{i}", feed)
        app.router.add_get("/control", control)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port_out.put(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


class Server:
    def __init__(self, items: int, companies: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        q = ctx.Queue()
        self.proc = ctx.Process(target=serve, args=(q, items, companies), daemon=True)
        self.proc.start()
        self.base = f"http://127.0.0.1:{q.get(timeout=30)}"

    def control(self, **query: int) -> dict[str, int]:
        import json
        import urllib.request

        qs = "&".join(f"{k}={v}" for k, v in query.items())
        with urllib.request.urlopen(f"{self.base}/control?{qs}", timeout=30) as r:
            return dict(json.loads(r.read()))

    def close(self) -> None:
        self.proc.terminate()
        self.proc.join(5)


# --- the floor --------------------------------------------------------------------------------
async def fetch_all(urls: list[str], concurrency: int, etags: dict[str, str] | None
                    ) -> tuple[list[bytes], dict[str, str]]:
    import aiohttp

    gate = asyncio.Semaphore(concurrency)
    bodies: list[bytes] = []
    seen: dict[str, str] = {}
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as session:
        async def one(url: str) -> None:
            headers = {"If-None-Match": etags[url]} if etags and url in etags else {}
            async with gate, session.get(url, headers=headers) as resp:
                body = await resp.read()
                seen[url] = resp.headers.get("ETag", "")
                if resp.status == 200:
                    bodies.append(body)
        await asyncio.gather(*(one(u) for u in urls))
    return bodies, seen


PROCESS_FETCH = """
import asyncio, json, sys, time
sys.path.insert(0, sys.argv[2])
from bench_cycle import fetch_all
urls, etags, concurrency = json.load(open(sys.argv[1]))
asyncio.run(fetch_all(urls, concurrency, etags))
"""


def process_floor(urls: list[str], concurrency: int, etags: dict[str, str], base: Path) -> float:
    """The 304 fetch floor as a new process, like ``run --once``: interpreter, ``import aiohttp``
    and the same conditional fetch (``fetch_all``), spawn to exit."""
    import json

    args = base / "process_floor.json"
    args.write_text(json.dumps([urls, etags, concurrency]), encoding="utf-8")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", PROCESS_FETCH, str(args), str(Path(__file__).parent)],
                   check=True)
    return time.perf_counter() - start


def floor(urls: list[str], concurrency: int, etags: dict[str, str] | None = None
          ) -> tuple[float, float, dict[str, str]]:
    """(fetch seconds, parse seconds, the ETags seen)."""
    import io

    import feedparser

    start = time.perf_counter()
    bodies, seen = asyncio.run(fetch_all(urls, concurrency, etags))
    fetched = time.perf_counter() - start
    start = time.perf_counter()
    for body in bodies:
        feedparser.parse(io.BytesIO(body))
    return fetched, time.perf_counter() - start, seen


# --- newsbot ----------------------------------------------------------------------------------
def write_config(base: Path, urls: list[str], companies: int) -> Path:
    config = base / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "feeds.yaml").write_text(
        "defaults:\n  interval_minutes: 15\n  backfill: 0\nfeeds:\n"
        + "".join(f"  - url: {u}\n" for u in urls), encoding="utf-8")
    (config / "watchlist.yaml").write_text(
        "companies:\n" + "".join(f"  - name: {company(k)}\n" for k in range(companies))
        + "topics:\n  - name: Funding\n    keywords: [funding round]\n", encoding="utf-8")
    (config / "channels.yaml").write_text(
        f"destinations:\n  - to: jsonl:{base / 'alerts.jsonl'}\n    companies: ['*']\n",
        encoding="utf-8")
    return config


@dataclass
class Run:
    seconds: float
    rss_mb: float
    status: int
    line: str
    cpu: float = 0.0  # user + system seconds of the process and the parse workers it waited for

    @property
    def cores(self) -> float:
        """Cores busy on average: at best, k such processes on c cores take
        max(1, k * cores / c) of one's time."""
        return self.cpu / self.seconds if self.seconds else 0.0


def newsbot_env(db: str, config: Path, concurrency: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "DISCORD_", "NEWSBOT_"))}
    env.update(NEWSBOT_DATABASE_URL=db, NEWSBOT_CONFIG_DIR=str(config),
               NEWSBOT_FETCH_ALLOW_NETWORKS="127.0.0.0/8", NEWSBOT_CONCURRENCY=str(concurrency),
               # every feed is on 127.0.0.1: the floor's concurrency, not 2 per host
               NEWSBOT_FETCH_PER_HOST=str(concurrency),
               NEWSBOT_HTTP_PORT="0", NEWSBOT_LOG_LEVEL="WARNING")
    return env


def run_once(env: dict[str, str], copies: int = 1) -> list[Run]:
    """``copies`` × ``python -m bot run --once`` started together; each one's time and RSS."""
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "bot", "run", "--once"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for _ in range(copies)]
    runs = []
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        took = time.perf_counter() - start
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        proc.returncode = os.waitstatus_to_exitcode(status)
        last = err.strip().splitlines()[-1] if err.strip() else ""
        if proc.returncode not in (0, 3, 4, 5):
            print(err[-3000:], file=sys.stderr)
        runs.append(Run(took, usage.ru_maxrss / 1024, proc.returncode, last,
                        usage.ru_utime + usage.ru_stime))
    return runs


def new_database(kind: str, base: Path, tag: str) -> str:
    if kind == "sqlite":
        path = base / f"{tag}.db"
        for p in base.glob(f"{tag}.db*"):
            shutil.rmtree(p) if p.is_dir() else p.unlink()
        return f"sqlite+aiosqlite:///{path}"
    name = f"bench_cycle_{tag}"
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'))
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_database(kind: str, tag: str) -> None:
    if kind == "pg":
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "bench_cycle_{tag}" WITH (FORCE)'))


async def _pg(*statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN.replace("+asyncpg", ""))
    try:
        for s in statements:
            await conn.execute(s)
    finally:
        await conn.close()


# --- the table --------------------------------------------------------------------------------
@dataclass
class Row:
    db: str
    feeds: int
    cycle: str
    newsbot: float
    fetch: float
    parse: float
    rss: float
    line: str
    process_fetch: float = 0.0  # the 304 fetch floor as a new process (run --once 304 only)

    @property
    def floor(self) -> float:
        return self.fetch + (0.0 if self.cycle.startswith("304") else self.parse)


def measure(server: Server, kind: str, n: int, args: argparse.Namespace, base: Path
            ) -> list[Row]:
    urls = [f"{server.base}/feed/{i}" for i in range(n)]
    config = write_config(base / f"{kind}{n}", urls, args.companies)
    db = new_database(kind, base, f"{kind}{n}")
    env = newsbot_env(db, config, args.concurrency)
    rows = []
    try:
        etags: dict[str, str] = {}
        for gen, cycle in ((0, "first"), (1, "changes"), (1, "304")):
            server.control(gen=gen, reset=1)
            fetch, parse, seen = floor(urls, args.concurrency,
                                       etags if cycle == "304" else None)
            etags = seen
            run = run_once(env)[0]
            proc = process_floor(urls, args.concurrency, etags, base) if cycle == "304" else 0.0
            rows.append(Row(kind, n, cycle, run.seconds, fetch, parse, run.rss_mb, run.line,
                            proc))
            print(f"  {kind} N={n} {cycle}: newsbot {run.seconds:.2f}s floor {fetch:.2f}+"
                  f"{parse:.2f}s{f' (as a new process {proc:.2f}s)' if proc else ''} "
                  f"rss {run.rss_mb:.0f} MB | {run.line}", flush=True)
    finally:
        drop_database(kind, f"{kind}{n}")
    return rows


async def _warm(server: Server, urls: list[str], env: dict[str, str], concurrency: int,
                rounds: int, profile: str | None) -> list[tuple[float, float]]:
    """A long-running worker's all-304 cycles: one App kept open in this process (as `newsbot
    run` keeps it), its clock moved one interval on between cycles so every feed is due again
    (the scheduler's tick, without waiting 15 minutes); each 304 cycle timed next to a bare
    fetch of the same feeds with their ETags, in the same event loop."""
    from bot.app import App
    from bot.config.settings import Settings

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        settings = Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    shift = [timedelta(0)]
    app = await App.open(settings, clock=lambda: datetime.now(UTC) + shift[0])
    out: list[tuple[float, float]] = []
    try:
        server.control(gen=30, reset=1)
        await app.cycle()  # cycle 1: every feed new
        _, etags = await fetch_all(urls, concurrency, None)
        for r in range(rounds + bool(profile)):  # cycle N+1: nothing changed
            shift[0] += timedelta(minutes=16)
            start = time.perf_counter()
            await fetch_all(urls, concurrency, etags)
            fetch = time.perf_counter() - start
            prof = None
            if profile and r == rounds:  # one more cycle, profiled (not in the figures)
                import cProfile

                prof = cProfile.Profile()
                prof.enable()
            start = time.perf_counter()
            report = await app.cycle()
            took = time.perf_counter() - start
            if prof is not None and profile:
                prof.disable()
                prof.dump_stats(profile)
                continue
            if report.polled != len(urls) or report.new_articles:
                raise RuntimeError(f"warm 304 cycle polled {report.polled} of {len(urls)}, "
                                   f"{report.new_articles} new")
            out.append((took, fetch))
    finally:
        await app.close()
    return out


def warm(server: Server, kind: str, n: int, args: argparse.Namespace, base: Path) -> Row:
    """The warm-worker all-304 line (median of ``--warm-rounds`` cycles, each side by side
    with its fetch floor)."""
    urls = [f"{server.base}/feed/{i}" for i in range(n)]
    config = write_config(base / f"warm{kind}{n}", urls, args.companies)
    db = new_database(kind, base, f"warm{kind}{n}")
    env = newsbot_env(db, config, args.concurrency)
    try:
        runs = asyncio.run(_warm(server, urls, env, args.concurrency, args.warm_rounds,
                                 args.profile))
    finally:
        drop_database(kind, f"warm{kind}{n}")
        from bot.jobs.parse_workers import close_parse_workers

        close_parse_workers()
    ratios = sorted(runs, key=lambda r: r[0] / r[1])
    took, fetch = ratios[len(ratios) // 2]
    print(f"  {kind} N={n} 304 warm worker: cycle {took:.3f}s fetch floor {fetch:.3f}s "
          f"({', '.join(f'{t / f:.1f}x' for t, f in runs)})", flush=True)
    return Row(kind, n, "304 warm", took, fetch, 0.0, 0.0, "")


def postgres_cpu() -> float:
    """CPU seconds used so far by this machine's PostgreSQL processes (/proc; 0 elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if fields[0].endswith("(postgres"):
            rest = fields[1].split()
            # utime, stime and the exited backends' (cutime, cstime): fields 14-17
            total += sum(int(x) for x in rest[11:15])
    return total / tick


def pair(server: Server, n: int, args: argparse.Namespace, base: Path) -> str:
    """Two `run --once` started together on one PostgreSQL database, against one alone, for a
    changes cycle: with the default parse workers (one per core up to 2, in each process) and
    with ``NEWSBOT_PARSE_WORKERS=1`` in each. Every feed must be served exactly once."""
    urls = [f"{server.base}/feed/{i}" for i in range(n)]
    config = write_config(base / f"pair{n}", urls, args.companies)
    db = new_database("pg", base, f"pair{n}")
    env = newsbot_env(db, config, args.concurrency)
    lines = []
    gen = 10
    try:
        server.control(gen=gen, reset=1)
        run_once(env)
        for workers in ("default (2)", "1"):
            wenv = env if workers.startswith("default") else {**env,
                                                              "NEWSBOT_PARSE_WORKERS": workers}
            gen += 1
            server.control(gen=gen, reset=1)
            pg_before = postgres_cpu()
            one = run_once(wenv)[0]
            busy = (one.cpu + postgres_cpu() - pg_before) / one.seconds
            gen += 1
            server.control(gen=gen, reset=1)
            two = run_once(wenv, copies=2)
            both = max(r.seconds for r in two)
            stats = server.control(reset=1)
            once = stats["served"] == n and stats["twice"] == 0
            lines.append(
                f"two `run --once` on PG, N={n}, changes cycle, parse workers per process "
                f"{workers}: one alone {one.seconds:.2f}s, two together {both:.2f}s = "
                f"{both / one.seconds:.2f}x (one alone kept {busy:.2f} cores busy, "
                f"{one.cores:.2f} newsbot + {busy - one.cores:.2f} PostgreSQL, so two on "
                f"{os.cpu_count()} cores take at least "
                f"{max(0.5, busy / (os.cpu_count() or 1)):.2f}x); feeds served "
                f"{stats['served']} of {n}, more than "
                f"once {stats['twice']} ({'each exactly once' if once else 'NOT exactly once'});"
                f" exit {[r.status for r in two]}")
            print(lines[-1], flush=True)
        return "\n".join(lines)
    finally:
        drop_database("pg", f"pair{n}")


def big(server: Server, n: int, args: argparse.Namespace, base: Path) -> str:
    urls = [f"{server.base}/feed/{i}" for i in range(n)]
    config = write_config(base / f"big{n}", urls, args.big)
    db = new_database("sqlite", base, f"big{n}")
    env = newsbot_env(db, config, args.concurrency)
    server.control(gen=20, reset=1)
    first = run_once(env)[0]
    server.control(gen=21, reset=1)
    changes = run_once(env)[0]
    return (f"{args.big:,} companies, N={n} (SQLite): first {first.seconds:.2f}s "
            f"{first.rss_mb:.0f} MB, changes {changes.seconds:.2f}s peak RSS "
            f"{changes.rss_mb:.0f} MB | {changes.line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", default="1000,3000")
    parser.add_argument("--db", default="sqlite,pg")
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--companies", type=int, default=1000)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--no-pair", action="store_true")
    parser.add_argument("--no-big", action="store_true")
    parser.add_argument("--no-cold", action="store_true",
                        help="skip the run --once lines (first, changes, 304 as a new process)")
    parser.add_argument("--warm-rounds", type=int, default=5)
    parser.add_argument("--profile", help="cProfile one more warm 304 cycle into this file")
    args = parser.parse_args()
    sizes = [int(x) for x in args.feeds.split(",")]
    # Bytecode for bot/, as `pip install .` (the Docker image) writes it: an editable install
    # under PYTHONDONTWRITEBYTECODE=1 (this machine's setting) would otherwise compile ~100
    # modules at every `run --once` (~0.4 s of a 1 s all-304 run).
    compileall.compile_dir(ROOT / "bot", quiet=1)
    server = Server(args.items, args.companies)
    base = Path(tempfile.mkdtemp(prefix="bench_cycle_"))
    rows: list[Row] = []
    notes: list[str] = []
    try:
        for n in sizes:
            for kind in args.db.split(","):
                if not args.no_cold:
                    rows += measure(server, kind, n, args, base)
                if args.warm_rounds:
                    rows.append(warm(server, kind, n, args, base))
        if not args.no_pair and "pg" in args.db:
            notes.append(pair(server, max(sizes), args, base))
            print(notes[-1], flush=True)
        if not args.no_big:
            notes.append(big(server, max(sizes), args, base))
            print(notes[-1], flush=True)
    finally:
        server.close()
        shutil.rmtree(base, ignore_errors=True)
    print("\n| db | feeds | cycle | newsbot s | floor s (fetch + parse) | newsbot ÷ floor "
          "| peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        fl = (f"{r.floor:.3f} ({r.fetch:.3f} fetch)" if r.cycle.startswith("304")
              else f"{r.floor:.2f} ({r.fetch:.2f} + {r.parse:.2f})")
        ratio = f"{r.newsbot / r.floor:.1f}×"
        if r.process_fetch:
            fl += f"; as a new process {r.process_fetch:.3f}"
            ratio += f" (÷ new-process fetch {r.newsbot / r.process_fetch:.1f}×)"
        label = {"304": "304, run --once (new process: start-up + cycle)",
                 "304 warm": "304, warm worker (cycle N+1 in one open App)"}.get(r.cycle, r.cycle)
        print(f"| {r.db} | {r.feeds} | {label} | {r.newsbot:.3f} | {fl} | "
              f"{ratio} | {f'{r.rss:.0f}' if r.rss else '-'} |")
    for note in notes:
        print(f"\n{note}")


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)
    main()
