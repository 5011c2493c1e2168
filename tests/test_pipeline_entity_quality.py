"""Precision/recall of config/examples/ambiguous-companies.yaml with the shipped weights, on the
shared labelled sentences, on our own untouched test split, and leave-one-name-out."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from bot.config.watchlist import load_watchlist

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "tests" / "bench"
WATCHLIST = ROOT / "config" / "examples" / "ambiguous-companies.yaml"


def _load(name: str) -> ModuleType:  # tests/bench is not a package: load the scripts by path
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


quality = _load("entity_quality")
fitting = _load("fit_entity_weights")


def test_example_watchlist_is_valid() -> None:
    watchlist = load_watchlist(WATCHLIST)
    assert len(watchlist.companies) == 31


def test_the_own_dev_set_covers_every_name_and_keeps_a_test_split() -> None:
    rows = fitting.load_jsonl(fitting.DEV)
    assert len(rows) >= 300
    names = {r["name"] for r in rows}
    assert len(names) == 31
    for name in names:  # every name has both senses in the untouched split
        labels = {r["label"] for r in rows if r["name"] == name and r["split"] == "test"}
        assert labels == {"company", "not_company"}, name


def test_precision_and_recall_on_the_untouched_test_split() -> None:
    rows = [r for r in fitting.load_jsonl(fitting.DEV) if r["split"] == "test"]
    report = quality.evaluate(load_watchlist(WATCHLIST), rows)
    assert report.precision >= 0.95, report.line("test split")
    assert report.recall >= 0.85, report.line("test split")
    baseline = quality.evaluate(quality.keyword_baseline(rows), rows)
    assert baseline.precision < 0.5  # the scoring is what makes the difference


@pytest.mark.skipif(not quality.CORPUS.exists(), reason=f"entity corpus not at {quality.CORPUS}")
def test_precision_and_recall_on_the_shared_sentences() -> None:
    rows = quality.load_rows(quality.CORPUS)
    report = quality.evaluate(load_watchlist(WATCHLIST), rows)
    assert report.recall >= 0.85, report.line("example watchlist")
    assert report.precision >= 0.95, report.line("example watchlist")


@pytest.mark.skipif(not quality.CORPUS.exists(), reason=f"entity corpus not at {quality.CORPUS}")
def test_leave_one_name_out_generalises_to_names_never_fitted() -> None:
    rows = fitting.training_rows()
    report = quality.leave_one_name_out(rows)
    assert report.precision >= 0.95, report.line("leave-one-name-out")
    assert report.recall >= 0.85, report.line("leave-one-name-out")
