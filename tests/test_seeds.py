"""The sample feeds in seeds/ and the operator's config/: what the demo and a new operator rely on.

Each seed feed parses cleanly in its own format, every item has a stable unique id, an https link
on an invented host and a date in November 2026; the three languages are there; the config files
load with the documented keys; and seeds/expected.yaml (the golden matches, traps included) agrees
with the feeds, the watchlist and, once it honours context and exclusions, the matcher.
"""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest
import yaml

from bot.config.operator import load_config
from bot.config.watchlist import load_watchlist
from bot.domain.article import ParsedFeed
from bot.domain.watchlist import Company, Watchlist
from bot.pipeline.match import compile_watchlist
from bot.pipeline.parse import parse_feed

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
CONFIG = REPO / "config"
SHARED_SEEDS = REPO / ".." / "shared" / "seeds"

# file -> (feedparser's name for the format, language prefix)
FEEDS = {
    "techwire.rss": ("rss20", "en"),
    "depeches-eco.atom": ("atom10", "fr"),
    "wirtschaft.json": ("https://jsonfeed.org/version/1.1", "de"),
}
INVENTED_HOSTS = (".example.com", ".example.org", ".example.net")
TOPICS = {"Funding", "Partnership", "Acquisition", "Layoffs", "Regulation"}
COMPANY_KEYS = {"name", "aliases", "case_sensitive", "context", "exclude"}
FEED_KEYS = {"url", "path", "title", "interval_minutes", "backfill"}
NUMBER = re.compile(r"\d")


def parsed(name: str) -> ParsedFeed:
    path = SEEDS / name
    return parse_feed(path.read_bytes(), url=path.resolve().as_uri())


def expected() -> dict[str, dict[str, dict[str, Any]]]:
    return yaml.safe_load((SEEDS / "expected.yaml").read_text(encoding="utf-8"))


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


# --- the feeds themselves -------------------------------------------------------------------------
@pytest.mark.parametrize("name", FEEDS)
def test_seed_parses_cleanly_in_its_own_format(name: str) -> None:
    body = (SEEDS / name).read_bytes()
    fmt, _ = FEEDS[name]
    if name.endswith(".json"):
        assert json.loads(body)["version"] == fmt
    else:
        raw = feedparser.parse(io.BytesIO(body))  # a stream: feedparser never open()s it
        assert not raw.bozo, raw.get("bozo_exception")
        assert raw.version == fmt
    feed = parsed(name)
    assert feed.bozo is None
    assert feed.title
    assert len(feed.entries) >= 8


@pytest.mark.parametrize("name", FEEDS)
def test_every_item_has_a_unique_id_and_an_https_link_on_an_invented_host(name: str) -> None:
    entries = parsed(name).entries
    ids = [e.guid for e in entries]
    assert all(ids) and len(set(ids)) == len(ids)
    for entry in entries:
        parts = urlsplit(entry.url or "")
        assert parts.scheme == "https", entry.url
        assert parts.hostname and parts.hostname.endswith(INVENTED_HOSTS), entry.url
    links = [e.url or "" for e in entries]
    assert len(set(links)) == len(links)
    assert any("utm_source" in parse_qs(urlsplit(u).query) for u in links), "no tracking link"


@pytest.mark.parametrize("name", FEEDS)
def test_items_are_short_newsy_prose_with_figures_and_dates_before_the_demo_day(name: str) -> None:
    for entry in parsed(name).entries:
        assert entry.title and "<" not in entry.text
        assert 3 <= len(sentences(entry.text)) <= 8, entry.title
        assert NUMBER.search(entry.text), f"no figure in {entry.title!r}"
        assert entry.published is not None and entry.published.tzinfo is not None
        assert datetime(2026, 10, 15, tzinfo=UTC) <= entry.published <= datetime(
            2026, 11, 29, tzinfo=UTC), entry.title


def test_the_three_languages_are_present() -> None:
    for name, (_, lang) in FEEDS.items():
        feed = parsed(name)
        assert (feed.lang or "").lower().startswith(lang), name
        assert all((e.lang or feed.lang or "").lower().startswith(lang) for e in feed.entries)


def test_rss_seed_has_full_content_for_one_item_and_html_descriptions() -> None:
    raw = feedparser.parse(io.BytesIO((SEEDS / "techwire.rss").read_bytes()))
    with_content = [e for e in raw.entries if e.get("content")]
    assert len(with_content) == 1
    assert all("<" in e.summary or "&lt;" in e.summary for e in raw.entries)
    # the parser prefers the fuller text: the content:encoded item reads as several paragraphs
    entry = next(e for e in parsed("techwire.rss").entries if e.guid == with_content[0].id)
    assert entry.text.count("\n\n") >= 3


def test_readme_states_the_licence_and_names_every_trap() -> None:
    readme = (SEEDS / "README.md").read_text(encoding="utf-8")
    assert "CC0" in readme and "invented" in readme.lower()
    for name in FEEDS:
        assert f"`{name}`" in readme


def test_seed_text_is_not_copied_from_the_source_article() -> None:
    if not SHARED_SEEDS.is_dir():
        pytest.skip(f"{SHARED_SEEDS} is not present (../shared/seeds beside the checkout)")
    words = re.compile(r"\w+")

    def shingles(text: str, n: int = 7) -> set[tuple[str, ...]]:
        tokens = words.findall(text.lower())
        return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}

    source = set().union(*(shingles(p.read_text(encoding="utf-8", errors="replace"))
                           for p in SHARED_SEEDS.iterdir() if p.is_file()))
    for name in FEEDS:
        ours = set().union(*(shingles(f"{e.title}. {e.text}") for e in parsed(name).entries))
        assert not ours & source, f"{name} shares a 7-word run with ../shared/seeds"


# --- config/ --------------------------------------------------------------------------------------
def test_config_loads_and_every_feed_path_exists() -> None:
    raw = yaml.safe_load((CONFIG / "feeds.yaml").read_text(encoding="utf-8"))
    assert set(raw["defaults"]) <= FEED_KEYS
    for feed in raw["feeds"]:
        assert set(feed) <= FEED_KEYS and ("url" in feed) != ("path" in feed)
        if "path" in feed:
            assert (CONFIG / feed["path"]).resolve().is_file(), feed["path"]
    config = load_config(CONFIG)
    local = {Path(urlsplit(f.url).path).name for f in config.feeds}
    assert set(FEEDS) <= local
    techwire = next(f for f in config.feeds if f.url.endswith("techwire.rss"))
    assert (techwire.interval_minutes, techwire.backfill) == (10, 3)


def test_watchlist_uses_only_documented_keys_and_covers_the_seed_companies() -> None:
    raw = yaml.safe_load((CONFIG / "watchlist.yaml").read_text(encoding="utf-8"))
    assert set(raw) == {"companies", "topics"}
    for company in raw["companies"]:
        assert set(company) <= COMPANY_KEYS, company["name"]
    watchlist = load_watchlist(CONFIG / "watchlist.yaml")
    assert {t.name for t in watchlist.topics} == TOPICS
    named = {c for items in expected().values() for item in items.values()
             for c in item["companies"] + item.get("trap", [])}
    assert named <= {c.name for c in watchlist.companies}


def test_ambiguous_names_have_context_and_exclusions() -> None:
    watchlist = load_watchlist(CONFIG / "watchlist.yaml")
    for name in ("Apple", "Amazon", "Shell", "Orange", "Mistral AI"):
        company = watchlist.company(name)
        assert company is not None and company.context and company.exclude, name
    assert watchlist.company("Shell").case_sensitive  # type: ignore[union-attr]
    assert watchlist.company("SAP").case_sensitive  # type: ignore[union-attr]


def test_channels_name_only_watched_companies_and_topics() -> None:
    raw = yaml.safe_load((CONFIG / "channels.yaml").read_text(encoding="utf-8"))
    watchlist = load_watchlist(CONFIG / "watchlist.yaml")
    companies = {c.name for c in watchlist.companies} | {"*"}
    topics = {t.name for t in watchlist.topics}
    for dest in raw["destinations"]:
        assert set(dest) <= {"to", "companies", "topics", "company_and_topic"}
        assert set(dest.get("companies") or ()) <= companies
        assert set(dest.get("topics") or ()) <= topics
        for pair in dest.get("company_and_topic") or ():
            assert pair["company"] in companies and pair["topic"] in topics
    console = next(d for d in raw["destinations"] if d["to"] == "console")
    assert console["companies"] == ["*"]
    assert {d.address for d in load_config(CONFIG).destinations} >= {"console",
                                                                     "jsonl:data/alerts.jsonl"}


# --- golden matches -------------------------------------------------------------------------------
def test_expected_lists_exactly_the_items_of_each_feed() -> None:
    golden = expected()
    assert set(golden) == set(FEEDS)
    for name in FEEDS:
        assert set(golden[name]) == {e.guid for e in parsed(name).entries}, name
    traps = [(n, i) for n, items in golden.items() for i, v in items.items() if v.get("trap")]
    assert len(traps) >= 6
    for name in FEEDS:  # every feed has at least one trap and one real company alert
        assert any(v.get("trap") for v in golden[name].values()), name
        assert any(v["companies"] for v in golden[name].values()), name


def _matcher_honours_context_and_exclusions() -> bool:
    probe = Watchlist(companies=(
        Company("Apple", exclude=("apple pie",)),
        Company("Amazon", context=("AWS",)),
    ))
    result = compile_watchlist(probe).match("An apple pie from the Amazon", "")
    return not result.companies


def _golden_cases() -> list[tuple[str, str]]:
    return [(name, item) for name, items in expected().items() for item in items]


@pytest.mark.parametrize(("name", "item"), _golden_cases())
def test_the_matcher_reports_the_expected_companies_and_topics(name: str, item: str) -> None:
    want = expected()[name][item]
    entry = next(e for e in parsed(name).entries if e.guid == item)
    result = compile_watchlist(load_watchlist(CONFIG / "watchlist.yaml")).match(
        entry.title, entry.text)
    assert set(want["companies"]) <= set(result.companies)
    assert set(want["topics"]) <= set(result.topics)
    assert not set(want.get("not_topics", [])) & set(result.topics)
    if not _matcher_honours_context_and_exclusions():
        pytest.skip("bot.pipeline.match ignores context/exclude (issue 6 stub): traps unchecked")
    assert set(result.companies) == set(want["companies"])
    assert not set(want.get("trap", [])) & set(result.companies)
