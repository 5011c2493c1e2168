"""A story signature is stored with its article and compared with signatures made by other
processes (the poller after a restart, `newsbot cluster`): the same article must give the same
signature whatever the process's hash seed and whatever articles were read before it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import story_articles as arts

from bot.pipeline.story_features import story_features

SCRIPT = """
import json, sys
from bot.pipeline.story_features import story_features
for title, text in json.load(sys.stdin):
    print(json.dumps(story_features(title, text).to_json(), sort_keys=True))
"""


def _signatures(articles: list[tuple[str, str]], seed: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", SCRIPT], input=json.dumps(articles),
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": seed})
    return out.stdout.splitlines()


def test_the_same_article_has_the_same_signature_in_every_process() -> None:
    articles = [(a["title"], a["text"]) for a in (arts.MISTRAL_EN, arts.MISTRAL_FR, arts.G42)]
    first = _signatures(articles, "1")
    assert first == _signatures(articles, "2")
    # read after other articles (words already seen), in this process: still the same
    others = [(f"Acme{i} and Globex{i} agree a deal", f"Acme{i} buys {i} shops. " * 5)
              for i in range(200)]
    here = [story_features(t, x) for t, x in [*others, *articles]][-len(articles):]
    assert [json.dumps(f.to_json(), sort_keys=True) for f in here] == first
