"""The README's "Your first alerts" steps stay true: the sample config plus the one
channels.yaml entry it shows, a fresh database and `newsbot run` put the sample alerts in the
channel (the Slack Web API is the fake on loopback; the command is the real one, in a
subprocess, from a copy of the checkout's config/ and seeds/)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from pathlib import Path

from fakes.fake_slack import fake_slack

from bot.config.operator import load_config

REPO = Path(__file__).resolve().parents[1]


def first_alerts_yaml() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Your first alerts in Slack or Discord", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^( *)```yaml\n(.*?)^\1```", section, re.S | re.M)
    # a block inside a numbered step is indented with its fence
    return [re.sub(rf"^{indent}", "", block, flags=re.M) for indent, block in blocks]


def checkout_copy(tmp_path: Path, entry: str) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "seeds", tmp_path / "seeds")
    channels = tmp_path / "config" / "channels.yaml"
    channels.write_text(channels.read_text(encoding="utf-8") + entry, encoding="utf-8")
    return tmp_path / "config"


def test_every_destination_the_readme_shows_loads_into_the_sample_config(tmp_path,
                                                                         monkeypatch) -> None:
    blocks = first_alerts_yaml()
    assert [b.split("to: ", 1)[1].split(":", 1)[0] for b in blocks] == [
        "slack", "discord-webhook", "discord"]
    for i, block in enumerate(blocks):
        config = checkout_copy(tmp_path / str(i), block)
        env = {"DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/abc"}
        loaded = load_config(config, env=env)
        assert loaded.destinations[-1].subscriptions, block


async def test_the_slack_steps_bring_the_sample_alerts_to_the_channel(tmp_path) -> None:
    (slack_entry, *_) = first_alerts_yaml()
    config = checkout_copy(tmp_path, slack_entry)
    channel = re.search(r"slack:(\w+)", slack_entry).group(1)  # type: ignore[union-attr]
    async with fake_slack() as fake:
        env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-readme", "NEWSBOT_SLACK_API_URL":
               fake.api_url, "NEWSBOT_CONFIG_DIR": str(config), "NEWSBOT_HTTP_PORT": "0"}
        env.pop("NEWSBOT_DATABASE_URL", None)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "--once", "--no-chat-adapters", cwd=tmp_path,
            env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 180)
        assert proc.returncode == 0, err.decode()[-2000:]
        posted = fake.posted(channel)
    assert len(posted) == 9  # three sample feeds, backfill: 3 each
    assert (tmp_path / "data" / "newsbot.db").is_file()  # the database the README names
    assert "0 retrying, 0 waiting for a token" in out.decode() + err.decode()
