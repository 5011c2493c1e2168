"""Config YAML is built straight from libyaml's events when the document is plain (issue 16: a
100,000-company watchlist's node tree was ~90 MB at the start's peak). Whatever path a document
takes, it reads as PyYAML's SafeLoader reads it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.config.yaml_files import _lean, _Unusual, parse_yaml

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted((ROOT / "config").glob("**/*.yaml"))

DOCUMENTS = {
    "scalars": "a: 1\nb: 0x1f\nc: 0o17\nd: 1.5e3\ne: .inf\nf: -.nan_not\ng: yes\nh: off\n"
               "i: ~\nj: null\nk: 2026-11-29\nl: 2026-11-29T12:00:00Z\nm: '123'\nn: \"x\\ty\"\n"
               "o: 1_000\np: +12\nq: ''\nr:\ns: True\n",
    "block text": "a: |\n  line one\n  line two\nb: >\n  folded\n  text\n\nc: plain\n  continued\n",
    "flow": "a: [1, two, {x: 3, y: [4, 5]}]\nb: {}\nc: []\n",
    "nested lists": "companies:\n  - name: Acme\n    aliases: [ACME, Acme Corp]\n"
                    "    context: [chip*, fab*]\n  - name: Beta\n",
    "number keys": "3: one\n2.5: two\ntrue: three\n",
    "unicode": "name: Société Générale\nemoji: \"\\u00e9\"\n",
    "document markers": "---\na: 1\n...\n",
    "empty": "",
    "comments only": "# nothing\n",
    "empty document": "---\n",
    "top-level list": "- 1\n- 2\n",
    "top-level scalar": "hello\n",
    "anchors": "a: &x [1, 2]\nb: *x\n",
    "explicit tags": "a: !!str 12\nb: !!float 1\n",
    "binary": "b: !!binary aGVsbG8=\n",
    "set": "s: !!set {a, b}\n",
}


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_a_document_reads_as_safeloader_reads_it(name: str) -> None:
    text = DOCUMENTS[name]
    assert parse_yaml(text, Path("x.yaml")) == yaml.load(text, Loader=yaml.SafeLoader)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_repositorys_yaml_reads_as_safeloader_reads_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    try:
        expected = yaml.load(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        pytest.skip("not one plain YAML document")
    assert parse_yaml(text, path) == expected


@pytest.mark.parametrize("name", ["anchors", "binary", "set"])
def test_what_the_lean_path_leaves_to_the_full_one(name: str) -> None:
    with pytest.raises(_Unusual):
        _lean(DOCUMENTS[name])


def test_a_merge_key_goes_to_the_full_path() -> None:  # (which does not take merge keys)
    with pytest.raises(_Unusual):
        _lean("base: {x: 1}\nd:\n  <<: {y: 2}\n")


def test_a_key_given_twice_is_still_named() -> None:
    with pytest.raises(Exception, match="the key 'a' is given twice"):
        parse_yaml("a: 1\nb: 2\na: 3\n", Path("x.yaml"))
