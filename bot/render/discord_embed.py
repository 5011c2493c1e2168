"""Alert -> Discord message body (content, one embed, no mentions), inside every limit. Pure.

Limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits): title
256, description 4,096, ≤ 25 fields with name 256 and value 1,024, footer 2,048, author 256, and
all of those together ≤ 6,000; message content ≤ 2,000. Lengths are counted in UTF-16 units, which
is never less than Discord's character count, so a payload that fits here fits there.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

from bot.domain.alert import Alert
from bot.render.digest import allowed_mentions, mention_markup, render_discord_digest
from bot.render.escape import (
    clean_text,
    discord_escape,
    discord_mentions_inert,
    fit,
    hit_parts,
    join_names,
    render_hit,
    safe_link,
    size,
)

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
URL_MAX = 2048  # Discord rejects longer embed URLs as not well formed

# our own budgets, inside Discord's: a short notification line, a readable description
CONTENT_BUDGET = 300
SUMMARY_BUDGET = 3000
WHY_BUDGET = 1000
FOOTER_BUDGET = 300
NAMES_BUDGET = 400  # per field; 256 + 4,011 + 3 x (400 + 9) + 300 < 6,000 with room to spare

DEFAULT_COLOUR = 0x5865F2  # Discord blurple, when an alert has no topic
PALETTE = (
    0x1ABC9C, 0x2ECC71, 0x3498DB, 0x9B59B6, 0xE91E63,
    0xF1C40F, 0xE67E22, 0xE74C3C, 0x11806A, 0x206694,
)  # fmt: skip


def render_discord(alert: Alert) -> dict[str, Any]:
    """The message body for ``alert``: ``{"content", "embeds": [embed], "allowed_mentions"}``.

    ``allowed_mentions`` is ``{"parse": []}``: nothing in the message can ping anyone, whatever the
    feed wrote; mentions are also broken visually and markdown is escaped. The channel's opt-in
    mention (one role) leads the content and is the one mention allowed. A digest is rendered by
    bot/render/digest.py.
    """
    if alert.is_digest:
        return render_discord_digest(alert)
    embed: dict[str, Any] = {
        "title": fit(clean_text(alert.title, single_line=True), TITLE_MAX, discord_escape)
        or "(untitled)",
        "description": _description(alert),
        "color": topic_colour(alert.topics),
        "fields": _fields(alert),
        "footer": {"text": _footer(alert)},
    }
    url = safe_link(alert.url)
    if url is not None and len(url) <= URL_MAX:
        embed["url"] = url
    if alert.published is not None:
        embed["timestamp"] = _utc(alert.published).isoformat()
    if not embed["fields"]:
        del embed["fields"]
    over = embed_length(embed) - EMBED_TOTAL_MAX
    if over > 0:  # cannot happen with the budgets above; kept so a budget change stays safe
        embed["description"] = _fit_escaped(embed["description"], size(embed["description"]) - over)
    mention = mention_markup(alert)
    return {
        "content": f"{mention} {_content(alert)}".strip() if mention else _content(alert),
        "embeds": [embed],
        "allowed_mentions": allowed_mentions(alert),
    }


def embed_length(embed: dict[str, Any]) -> int:
    """What Discord counts toward the 6,000 total: title, description, field names and values,
    footer text and author name (in UTF-16 units, conservatively)."""
    total = size(embed.get("title") or "") + size(embed.get("description") or "")
    for field in embed.get("fields") or ():
        total += size(field.get("name") or "") + size(field.get("value") or "")
    total += size((embed.get("footer") or {}).get("text") or "")
    total += size((embed.get("author") or {}).get("name") or "")
    return total


def topic_colour(topics: tuple[str, ...]) -> int:
    """A stable colour per first topic (CRC32 of its folded name, the same in every process)."""
    if not topics:
        return DEFAULT_COLOUR
    key = clean_text(topics[0], single_line=True).casefold().encode("utf-8")
    return PALETTE[zlib.crc32(key) % len(PALETTE)]


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _description(alert: Alert) -> str:
    summary = fit(clean_text(alert.summary), SUMMARY_BUDGET, discord_escape)
    hit = hit_parts(alert)
    why = "**Why:** " + render_hit(hit, WHY_BUDGET, discord_escape, "**") if hit else ""
    text = "\n\n".join(p for p in (summary, why) if p)
    return text or "*(no summary)*"


def _fit_escaped(text: str, limit: int) -> str:
    """Cut already-escaped text at a space, so no escape sequence is split."""
    while size(text) > limit:
        cut = text.rfind(" ", 0, max(len(text) - 1, 0))
        text = text[:cut] + "…" if cut > 0 else ""
    return text


def _fields(alert: Alert) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    for name, values in (("Companies", alert.companies), ("Topics", alert.topics),
                         ("Matched", alert.reasons)):
        value = join_names(tuple(values), min(NAMES_BUDGET, FIELD_VALUE_MAX), discord_escape)
        if value:
            fields.append({"name": name, "value": value, "inline": True})
    return fields[:FIELDS_MAX]


def _footer(alert: Alert) -> str:
    """The source feed; footers show plain text, so only mentions are broken, nothing escaped."""
    feed = fit(clean_text(alert.feed, single_line=True), FOOTER_BUDGET, discord_mentions_inert)
    return feed or "newsbot"


def _content(alert: Alert) -> str:
    """A short line above the embed, e.g. ``**Nvidia** · Funding``."""
    half = CONTENT_BUDGET // 2
    companies = join_names(alert.companies, half, discord_escape, wrap="**")
    topics = join_names(alert.topics, half, discord_escape)
    return " · ".join(p for p in (companies, topics) if p)
