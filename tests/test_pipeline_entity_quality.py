"""Precision/recall of config/examples/ambiguous-companies.yaml on the labelled ambiguous names."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from bot.config.watchlist import load_watchlist

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / ".." / "shared" / "corpora" / "entities" / "ambiguous_company_mentions.jsonl"


def _quality_module():  # tests/bench is not a package: load the script by path
    spec = importlib.util.spec_from_file_location("entity_quality",
                                                  ROOT / "tests" / "bench" / "entity_quality.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("entity_quality", module)
    spec.loader.exec_module(module)
    return module


def test_example_watchlist_is_valid() -> None:
    watchlist = load_watchlist(ROOT / "config" / "examples" / "ambiguous-companies.yaml")
    assert len(watchlist.companies) == 31


@pytest.mark.skipif(not CORPUS.exists(), reason=f"entity corpus not found at {CORPUS}")
def test_precision_and_recall_on_ambiguous_names() -> None:
    quality = _quality_module()
    rows = quality.load_rows(CORPUS)
    watchlist = load_watchlist(ROOT / "config" / "examples" / "ambiguous-companies.yaml")
    report = quality.evaluate(watchlist, rows)
    assert report.recall >= 0.85, report.line("example watchlist")
    assert report.precision >= 0.95, report.line("example watchlist")
    baseline = quality.evaluate(quality.keyword_baseline(rows), rows)
    assert baseline.precision < 0.5  # the rules are what makes the difference
