"""Alert -> ``chat.postMessage`` arguments: Block Kit built and checked by slack_sdk's models. Pure.

Layout: header (title), section (summary), context (source and time; companies and topics; why it
matched), actions (a button to the article, only for a safe http(s) link). Every piece of feed text
is cleaned, escaped for mrkdwn (``&``, ``<``, ``>``) and fitted to its limit before it is placed;
mrkdwn objects are ``verbatim`` so Slack does not auto-link channel names or bare mentions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.domain.alert import Alert
from bot.domain.errors import DeliveryError
from bot.render.digest import mention_markup, render_slack_digest
from bot.render.escape import (
    clean_text,
    fit,
    hit_parts,
    join_names,
    render_hit,
    safe_link,
    size,
    slack_escape,
)

HEADER_MAX = 150
SECTION_MAX = 3000
TEXT_MAX = 3000  # fallback text; also the text-object maximum
BUTTON_URL_MAX = 3000
MAX_BLOCKS = 50
PAYLOAD_BUDGET = 12_000  # Slack's advice for a whole message; we stay well under it

# budgets for the context elements (well under the 3,000 per text object)
SOURCE_MAX = 300
NAMES_MAX = 600
WHY_MAX = 1000
FALLBACK_MAX = 1000  # what a notification shows; keeps the payload small


def render_slack(alert: Alert) -> dict[str, Any]:
    """The ``chat.postMessage`` keyword arguments for ``alert`` (minus ``channel``).

    Returns ``{"text", "blocks", "unfurl_links", "unfurl_media"}``; ``blocks`` passed slack_sdk's
    validation. Raises ``DeliveryError`` only if that validation fails (a bug here, not bad input).
    A digest is rendered by bot/render/digest.py; the channel's opt-in mention, if any, is the
    first section.
    """
    if alert.is_digest:
        return render_slack_digest(alert)
    mention = mention_markup(alert)
    blocks: list[Block] = [
        *([SectionBlock(text=_mrkdwn(mention))] if mention else []),
        HeaderBlock(text=PlainTextObject(text=_title(alert), emoji=True)),
        SectionBlock(text=_mrkdwn(_summary(alert))),
        ContextBlock(elements=[_mrkdwn(part) for part in _context_parts(alert)]),
    ]
    button = _button(alert)
    if button is not None:
        blocks.append(ActionsBlock(block_id="article", elements=[button]))
    try:
        for block in blocks:
            block.validate_json()
        rendered = [block.to_dict() for block in blocks[:MAX_BLOCKS]]
    except SlackObjectFormationError as exc:  # pragma: no cover - guarded by the budgets above
        where = alert.url or alert.title
        raise DeliveryError(f"Slack blocks for {where!r} are invalid: {exc}") from exc
    return {
        "text": _fallback(alert),
        "blocks": rendered,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _mrkdwn(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=text, verbatim=True)


def _title(alert: Alert) -> str:
    return fit(clean_text(alert.title, single_line=True), HEADER_MAX, slack_escape) or "(untitled)"


def _summary(alert: Alert) -> str:
    summary = clean_text(alert.summary)
    return fit(summary, SECTION_MAX, slack_escape) or "_(no summary)_"


def _context_parts(alert: Alert) -> list[str]:
    parts = [_source_line(alert)]
    names = _names_line(alert)
    if names:
        parts.append(names)
    hit = hit_parts(alert)
    if hit is not None:
        parts.append("why: " + render_hit(hit, WHY_MAX, slack_escape, "*"))
    return parts


def _source_line(alert: Alert) -> str:
    feed = fit(clean_text(alert.feed, single_line=True), SOURCE_MAX - 120, slack_escape)
    when = _slack_date(alert.published)
    line = " · ".join(p for p in (feed, when) if p)
    return line or "newsbot"


def _slack_date(published: datetime | None) -> str:
    """Slack's date token: each reader sees their own time zone; the fallback is UTC."""
    if published is None:
        return ""
    utc = published.replace(tzinfo=UTC) if published.tzinfo is None else published.astimezone(UTC)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _names_line(alert: Alert) -> str:
    pieces: list[str] = []
    half = NAMES_MAX // 2 - 20
    if alert.companies:
        pieces.append("*Companies:* " + join_names(alert.companies, half, slack_escape))
    if alert.topics:
        pieces.append("*Topics:* " + join_names(alert.topics, half, slack_escape))
    return "  ·  ".join(pieces)


def _button(alert: Alert) -> ButtonElement | None:
    url = safe_link(alert.url)
    if url is None or len(url) > BUTTON_URL_MAX:
        return None
    label = PlainTextObject(text="Read article")
    return ButtonElement(text=label, action_id="open_article", url=url)


def _fallback(alert: Alert) -> str:
    """Notification text: plain, escaped; title, then who/what matched."""
    title = fit(clean_text(alert.title, single_line=True), FALLBACK_MAX - 310, slack_escape)
    names = join_names((*alert.companies, *alert.topics), 300, slack_escape)
    title = title or "(untitled)"
    return f"{title} ({names})" if names else title


def payload_size(payload: dict[str, Any]) -> int:
    """Characters Slack counts for the message: fallback text plus every text in the blocks."""
    total = size(payload.get("text", ""))
    stack: list[Any] = list(payload.get("blocks", []))
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            total += size(item)
    return total
