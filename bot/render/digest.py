"""A digest (``Alert.is_digest``) -> one Slack or Discord message, inside the platform's limits;
and the one opt-in mention of a channel. Pure.

Stories are grouped by company, one line each (linked title, source). Lines are added while the
message stays inside its budgets (Slack: 50 blocks, 3,000 per section, 12,000 in all; Discord:
4,096 description, 6,000 per embed); what does not fit is counted in a last "+N more" line.
Feed text is escaped as in single alerts, so nothing in it can mention anyone; the only mention is
the channel's own (``mention``), allowed explicitly and alone.
"""

from __future__ import annotations

from typing import Any

from bot.domain.alert import Alert, digest_groups
from bot.render.escape import clean_text, discord_escape, fit, safe_link, size, slack_escape

SLACK_SECTION_MAX = 3000
SLACK_BLOCKS_MAX = 50
SLACK_BUDGET = 11_000  # of Slack's advised 12,000 for a whole message, with room for the rest
DISCORD_DESCRIPTION_MAX = 4096
DISCORD_EMBED_MAX = 6000
LINE_TITLE_MAX = 200
MORE_HINT = "see /news list, or /news why URL for one story"


def mention_markup(alert: Alert) -> str:
    """``<!subteam^ID>`` (Slack) or ``<@&ID>`` (Discord) for the alert's opt-in mention."""
    kind, _, ident = (alert.mention or "").partition(":")
    if kind == "subteam" and ident.isalnum():
        return f"<!subteam^{ident}>"
    if kind == "role" and ident.isdigit():
        return f"<@&{ident}>"
    return ""


def allowed_mentions(alert: Alert) -> dict[str, Any]:
    """Discord's ``allowed_mentions``: nothing, or exactly the channel's one role."""
    kind, _, ident = (alert.mention or "").partition(":")
    if kind == "role" and ident.isdigit():
        return {"parse": [], "roles": [ident]}
    return {"parse": []}


def _title(item: Alert, escape: Any) -> str:
    return fit(clean_text(item.title, single_line=True), LINE_TITLE_MAX, escape) or "(untitled)"


def _slack_line(item: Alert) -> str:
    title, url = _title(item, slack_escape), safe_link(item.url)
    feed = fit(clean_text(item.feed, single_line=True), 80, slack_escape)
    linked = f"<{url}|{title}>" if url else title
    return f"• {linked}" + (f" · {feed}" if feed else "")


def _discord_line(item: Alert) -> str:
    title, url = _title(item, discord_escape), safe_link(item.url)
    feed = fit(clean_text(item.feed, single_line=True), 80, discord_escape)
    linked = f"[{title}]({url.replace(')', '%29')})" if url else title
    return f"• {linked}" + (f" · {feed}" if feed else "")


def _more(n: int) -> str:
    return f"+{n} more {'story' if n == 1 else 'stories'} ({MORE_HINT})"


def render_slack_digest(alert: Alert) -> dict[str, Any]:
    header = fit(clean_text(alert.title, single_line=True), 150, lambda s: s)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {
        "type": "plain_text", "text": header, "emoji": True}}]
    if mark := mention_markup(alert):
        blocks.append(_section(mark))
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": fit(alert.summary, 300, slack_escape), "verbatim": True}]})
    used = sum(size(str(b)) for b in blocks)
    shown, total = 0, len(alert.items) + alert.more
    for name, items in digest_groups(alert.items):
        text, added = f"*{fit(name, 150, slack_escape)}*", 0
        for item in items:
            line = _slack_line(item)
            if (size(text) + size(line) + 1 > SLACK_SECTION_MAX
                    or used + size(text) + size(line) + 1 > SLACK_BUDGET):
                break
            text, added = f"{text}\n{line}", added + 1
        if added and len(blocks) < SLACK_BLOCKS_MAX - 1:
            blocks.append(_section(text))
            used, shown = used + size(text), shown + added
        if added < len(items) or len(blocks) >= SLACK_BLOCKS_MAX - 1:
            break
    if shown < total:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": _more(total - shown), "verbatim": True}]})
    names = ", ".join(n for n, _ in digest_groups(alert.items))
    fallback = fit(f"{alert.title} ({names})" if names else alert.title, 1000, slack_escape)
    return {"text": fallback, "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def render_discord_digest(alert: Alert) -> dict[str, Any]:
    title = fit(clean_text(alert.title, single_line=True), 256, discord_escape)
    footer = fit(clean_text(alert.summary, single_line=True), 300, discord_escape)
    budget = min(DISCORD_DESCRIPTION_MAX,
                 DISCORD_EMBED_MAX - size(title) - size(footer)) - 120  # the "+N more" line
    lines: list[str] = []
    used, shown, total = 0, 0, len(alert.items) + alert.more
    for name, items in digest_groups(alert.items):
        head = f"**{fit(name, 150, discord_escape)}**"
        for k, item in enumerate(items):
            line = _discord_line(item)
            extra = size(line) + 1 + (size(head) + 1 if k == 0 else 0)
            if used + extra > budget:
                break
            lines += [head, line] if k == 0 else [line]
            used += extra
            shown += 1
        else:
            continue
        break
    if shown < total:
        lines.append(_more(total - shown))
    mark = mention_markup(alert)
    return {
        "content": f"{mark} {title}".strip() if mark else title,
        "embeds": [{"title": title, "description": "\n".join(lines), "color": 0x5865F2,
                    "footer": {"text": footer or "newsbot digest"}}],
        "allowed_mentions": allowed_mentions(alert),
    }
