"""`newsbot preview --digest`: the ONE digest message of all matched articles, one JSON object."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cli_preview import run

from bot.render.discord_embed import embed_length
from bot.render.slack_blocks import payload_size


@pytest.mark.parametrize("platform", ["slack", "discord"])
def test_one_digest_payload_of_the_matched_articles(tmp_path: Path, platform: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, payloads = run(tmp_path, platform, capsys, ["--digest"])
    assert code == 0 and len(payloads) == 1
    (payload,) = payloads
    text = json.dumps(payload, ensure_ascii=False)
    assert "News digest: 2 stories" in text  # the apple pie is no alert
    assert "Nvidia to invest in a lab" in text and "Start-up lands a funding round" in text
    assert "<!channel>" not in text and "<@U123>" not in text
    if platform == "slack":
        assert payload_size(payload) <= 12_000 and len(payload["blocks"]) <= 50
    else:
        assert payload["allowed_mentions"] == {"parse": []}
        assert embed_length(payload["embeds"][0]) <= 6000


def test_many_articles_make_one_payload_with_more(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    lines = [json.dumps({"id": f"n{i}", "title": f"Nvidia story {i} " + "y" * 150,
                         "url": f"https://news.example.com/n{i}", "text": "Nvidia did it."})
             for i in range(300)]
    code, payloads = run(tmp_path, "discord", capsys, ["--digest"], lines)
    assert code == 0 and len(payloads) == 1
    description = payloads[0]["embeds"][0]["description"]
    shown = description.count("• ")
    assert len(description) <= 4096 and f"+{300 - shown} more stories" in description
