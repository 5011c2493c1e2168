"""A command's ``Reply`` as a Slack response: escaped text sections within Block Kit limits, and
alert previews rendered exactly as they would be posted."""


from __future__ import annotations

from typing import Any

from bot.chat.types import Reply
from bot.render.escape import fit, slack_escape
from bot.render.slack_blocks import MAX_BLOCKS, PAYLOAD_BUDGET, payload_size, render_slack

SECTION_MAX = 3000


MAX_TEXT_SECTIONS = 8


def render_reply(reply: Reply) -> dict[str, Any]:
    """``Reply`` -> ack/respond arguments: escaped text sections, then alert previews.

    Previews are rendered exactly as alerts are posted (``render_slack``); as many as fit in
    Slack's 50 blocks and our payload budget, then a "+N more" line.
    """
    text = reply.text.strip() or ("Done." if reply.ok else "That did not work.")
    blocks: list[dict[str, Any]] = [_section(chunk) for chunk in _chunks(text)]
    shown = 0
    for i, alert in enumerate(reply.alerts):
        preview = [{"type": "divider"}, *_unique_ids(render_slack(alert)["blocks"], i)]
        trial = {"text": text, "blocks": blocks + preview}
        if len(trial["blocks"]) > MAX_BLOCKS - 1 or payload_size(trial) > PAYLOAD_BUDGET:
            break
        blocks += preview
        shown += 1
    if shown < len(reply.alerts):
        blocks.append(_section(f"_+{len(reply.alerts) - shown} more preview(s) not shown_",
                               escape=False))
    return {"text": fit(text, SECTION_MAX, slack_escape), "blocks": blocks,
            "response_type": "ephemeral" if reply.ephemeral else "in_channel",
            "unfurl_links": False, "unfurl_media": False}


def _section(text: str, *, escape: bool = True) -> dict[str, Any]:
    body = fit(text, SECTION_MAX, slack_escape) if escape else text
    return {"type": "section", "text": {"type": "mrkdwn", "text": body, "verbatim": True}}


def _chunks(text: str) -> list[str]:
    """Split long replies (feed lists) at line breaks into section-sized pieces."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if len(slack_escape(candidate)) > SECTION_MAX and current:
            chunks.append(current)
            candidate = line
        current = candidate
    chunks.append(current)
    chunks = [chunk for chunk in chunks if chunk.strip()]  # Block Kit refuses an empty section
    if len(chunks) > MAX_TEXT_SECTIONS:
        chunks = chunks[:MAX_TEXT_SECTIONS - 1] + [f"… ({len(chunks) - MAX_TEXT_SECTIONS + 1} "
                                                   "more part(s) cut)"]
    return chunks


def _unique_ids(blocks: list[dict[str, Any]], i: int) -> list[dict[str, Any]]:
    """Block ids must be unique within a message: suffix the preview's index."""
    out = []
    for block in blocks:
        block = dict(block)
        if "block_id" in block:
            block["block_id"] = f"{block['block_id']}-{i}"
        out.append(block)
    return out
