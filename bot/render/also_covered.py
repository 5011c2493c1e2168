"""The "Also covered by" line an edited alert carries (issue 12): the other outlets of its story,
escaped for the platform and kept within its limits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bot.render.escape import clean_text, discord_escape, fit, slack_escape

LINE_MAX = 1000  # characters of the line (a Slack context element holds 2,000, a field 1,024)
MAX_OUTLETS = 12  # named; the rest are counted


def _line(outlets: Sequence[str], escape: Callable[[str], str]) -> str:
    names = list(dict.fromkeys(clean_text(o, single_line=True) for o in outlets if o.strip()))
    shown = ", ".join(names[:MAX_OUTLETS]) + (
        f" and {len(names) - MAX_OUTLETS} more" if len(names) > MAX_OUTLETS else "")
    return fit(shown, LINE_MAX, escape)


def slack_with_also_covered(payload: dict[str, Any], outlets: Sequence[str]) -> dict[str, Any]:
    """A rendered Slack alert (``render_slack``) with the line as a last context block."""
    line = _line(outlets, slack_escape)
    if not line:
        return payload
    block = {"type": "context", "elements": [{"type": "mrkdwn",
                                               "text": f"*Also covered by:* {line}"}]}
    return {**payload, "blocks": [*payload["blocks"][:49], block]}


def discord_with_also_covered(body: dict[str, Any], outlets: Sequence[str]) -> dict[str, Any]:
    """A rendered Discord alert (``render_discord``) with the line as a last embed field."""
    line = _line(outlets, discord_escape)
    if not line or not body.get("embeds"):
        return body
    embed = dict(body["embeds"][0])
    embed["fields"] = [*embed.get("fields", [])[:24], {"name": "Also covered by", "value": line}]
    return {**body, "embeds": [embed, *body["embeds"][1:]]}
