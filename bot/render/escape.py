"""Untrusted feed text -> text that is inert on Slack and Discord, within a length limit. Pure.

Feed titles and summaries reach us decoded: ``<!channel>``, ``@everyone``, masked links and
markdown arrive verbatim. Everything a renderer shows passes through ``clean_text`` (control and
bidi-override characters out), then a platform escape, then ``fit`` (which truncates the *raw* text
and re-escapes, so an escape is never cut in half and the escaped result stays inside the limit).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import regex

from bot.domain.alert import Alert, Match
from bot.text.truncate import ELLIPSIS, truncate, utf16_len

# --- cleaning -------------------------------------------------------------------------------------
# C0/C1 controls (tab and newline handled separately), bidi embeddings/overrides/isolates (display
# spoofing), lone surrogates (not encodable as JSON text a platform accepts), BOM, NUL.
_UNSAFE_CHARS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def clean_text(text: str | None, *, single_line: bool = False) -> str:
    """Drop control/bidi-override characters and collapse runs of whitespace.

    With ``single_line`` every newline becomes a space (titles, names, footers); otherwise
    paragraph breaks survive as one blank line.
    """
    if not text:
        return ""
    text = _UNSAFE_CHARS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if single_line:
        return " ".join(text.split())
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


# --- Slack ----------------------------------------------------------------------------------------
def slack_escape(text: str) -> str:
    """Escape for Slack mrkdwn and plain text: ``&``, ``<``, ``>`` only (Slack's rule).

    With ``<`` escaped, ``<!channel>``, ``<!here>``, ``<@U…>``, ``<#C…>``, ``<!subteam^…>`` and
    ``<url|label>`` from a feed render as inert text.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- Discord --------------------------------------------------------------------------------------
_ZWSP = "\u200b"
# bare http(s) links are left alone (escaping inside them would break the link target); they end
# at a bracket, which a URL may not hold raw, so "https://a[x](https://b)" cannot carry a masked
# link past the escaping
_URL = r"(?P<url>https?://[^\s<\[\]]+[^<.,:;\"'\[\]\s])"
_INLINE_MD = r"(?P<md>[\\*_~`|\[\]])"
# at the start of a line: headings (#, ##, ###), subtext (-#), quotes (>, >>>), lists (-, *, +, 1.)
_LINE_MD = r"^(?P<lead>[ \t]*)(?P<block>#{1,3}|-#|>{1,3}|[-+]|\d+(?=[.)]))"
_DISCORD_MD = re.compile(f"{_URL}|{_INLINE_MD}|{_LINE_MD}", re.MULTILINE)
_EVERYONE = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
# <@user>, <@!user>, <@&role>, <#channel>, </cmd:id>, <:emoji:id>, <a:emoji:id>, <t:ts>, <id:...>
_ANGLE = re.compile(r"<(?=[@#:/!&]|[a-z]{1,2}:)", re.IGNORECASE)


def _md_replacement(m: re.Match[str]) -> str:
    if m.group("url"):
        return m.group("url")
    if m.group("md"):
        return "\\" + m.group("md")
    block = m.group("block")
    if block[0].isdigit():  # "1." list: escape the dot that follows (handled by caller's text)
        return m.group("lead") + block + "\\"
    return m.group("lead") + "\\" + block


def discord_mentions_inert(text: str) -> str:
    """Break ``@everyone``, ``@here``, ``<@…>``, ``<@&…>``, ``<#…>`` with a zero-width space.

    For plain-text places (footer, author) where markdown is not rendered. The real guard is
    ``allowed_mentions={"parse": []}`` on every send.
    """
    return _ANGLE.sub("<" + _ZWSP, _EVERYONE.sub("@" + _ZWSP, text))


def discord_escape(text: str) -> str:
    r"""Escape Discord markdown and neutralise mentions.

    Backslash-escapes ``\ * _ ~ ` |`` and the brackets of masked links ``[x](y)`` everywhere, and
    headings, subtext, quotes and list markers at the start of a line; http(s) URLs are kept as is.
    """
    return discord_mentions_inert(_DISCORD_MD.sub(_md_replacement, text))


# --- links ----------------------------------------------------------------------------------------
# characters RFC 3986 allows in a URL (plus % for existing escapes); anything else gets quoted
_URL_SAFE = "!#$%&'()*+,-./:;=?@[]_~"
_HOST = re.compile(r"^[a-z0-9_.-]+$", re.IGNORECASE)


def _valid_host(host: str) -> bool:
    if ":" in host:
        try:
            return ipaddress.ip_address(host).version == 6
        except ValueError:
            return False
    return bool(host) and bool(_HOST.match(host)) and ".." not in host


def safe_link(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) URL with a host, else None.

    Rejects whitespace and control characters anywhere, credentials (``user@host`` spoofing) and
    bad ports; percent-encodes characters a URL may not contain (``<``, ``>``, ``|``, non-ASCII)
    and IDNA-encodes the host, so the result is inert in Slack's ``<url|label>`` syntax too.
    """
    if not url or any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        return None
    if parts.scheme.lower() not in ("http", "https") or not _valid_host(host):
        return None
    if parts.username is not None or parts.password is not None:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    rest = quote(url.split("//", 1)[1][len(parts.netloc) :], safe=_URL_SAFE)
    return f"{parts.scheme.lower()}://{netloc}{rest}"


# --- fitting escaped text into a limit ------------------------------------------------------------
def size(text: str) -> int:
    """Conservative length: UTF-16 code units (never less than the code point count)."""
    return utf16_len(text)


def fit(text: str, limit: int, escape: Callable[[str], str]) -> str:
    """``escape(text)`` cut so its size is at most ``limit``, never splitting a word or grapheme.

    Truncates the raw text (so an escape sequence is never cut) and shrinks the budget until the
    escaped form fits.
    """
    budget = limit
    while budget > 0:
        out = escape(truncate(text, budget, measure="utf16"))
        n = size(out)
        if n <= limit:
            return out
        budget = min(budget - 1, budget * limit // n)
    return ""


def truncate_left(text: str, limit: int) -> str:
    """Keep the end of ``text`` within ``limit`` (UTF-16 units), cut at a grapheme and word edge."""
    if size(text) <= limit:
        return text
    budget = limit - size(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for cluster in reversed(regex.findall(r"\X", text)):
        used += size(cluster)
        if used > budget:
            break
        kept.append(cluster)
    tail = "".join(reversed(kept))
    start = len(text) - len(tail)
    if start > 0 and not text[start - 1].isspace():
        cut = tail.find(" ")
        if 0 <= cut < len(tail) // 2:
            tail = tail[cut:]
    return ELLIPSIS + tail.lstrip() if budget > 0 else ""


def join_names(names: tuple[str, ...] | list[str], limit: int, escape: Callable[[str], str],
               *, sep: str = ", ", wrap: str = "") -> str:
    """Escaped names joined by ``sep`` (each wrapped in ``wrap``), "+N more" to fit ``limit``."""
    parts: list[str] = []
    used = 0
    unique: dict[str, str] = {}  # duplicates out (case-insensitively), first spelling kept
    for name in names:
        cleaned_name = clean_text(name, single_line=True)
        unique.setdefault(cleaned_name.casefold(), cleaned_name)
    cleaned = [c for c in unique.values() if c]
    for i, name in enumerate(cleaned):
        piece = wrap + fit(name, 100, escape) + wrap
        more = f" +{len(cleaned) - i - 1} more" if i < len(cleaned) - 1 else ""
        extra = size(piece) + (size(sep) if parts else 0)
        if used + extra + size(more) > limit:
            return (sep.join(parts) + f" +{len(cleaned) - i} more").strip()
        parts.append(piece)
        used += extra
    return sep.join(parts)


# --- the "why" sentence ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Hit:
    """The hit sentence split around the matched term (all three parts raw, cleaned text)."""

    before: str
    term: str
    after: str


def _fold(text: str) -> tuple[str, list[int]]:
    """Case- and accent-folded text plus, for each folded character, its index in ``text``."""
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        for f in base.casefold():
            out.append(f)
            index.append(i)
    return "".join(out), index


def _locate(sentence: str, term: str) -> tuple[int, int] | None:
    """Where ``term`` occurs in ``sentence`` (whole word preferred), ignoring case and accents."""
    folded, index = _fold(sentence)
    needle, _ = _fold(term.strip())
    if not needle or not index:
        return None
    candidates = [m.start() for m in re.finditer(re.escape(needle), folded)]
    whole = [s for s in candidates
             if (s == 0 or not folded[s - 1].isalnum())
             and (s + len(needle) >= len(folded) or not folded[s + len(needle)].isalnum())]
    if not (whole or candidates):
        return None
    best = (whole or candidates)[0]
    return index[best], index[best + len(needle) - 1] + 1


def _best_match(evidence: tuple[Match, ...]) -> Match | None:
    companies = [m for m in evidence if m.kind == "company"]
    best = companies or list(evidence)
    return best[0] if best else None


def hit_parts(alert: Alert) -> Hit | None:
    """The evidence sentence of ``alert`` split around the term that matched, or None."""
    match = _best_match(alert.evidence)
    if match is None:
        return None
    sentence = clean_text(match.sentence, single_line=True)
    if not sentence:
        return None
    span: tuple[int, int] | None = None
    if sentence == match.sentence and 0 <= match.start < match.end <= len(sentence):
        span = (match.start, match.end)
    span = span or _locate(sentence, match.alias) or _locate(sentence, match.name)
    if span is None:
        return Hit(sentence, "", "")
    return Hit(sentence[: span[0]], sentence[span[0] : span[1]], sentence[span[1] :])


def render_hit(hit: Hit, limit: int, escape: Callable[[str], str], bold: str) -> str:
    """The hit, escaped, term wrapped in ``bold``, a window around the term within ``limit``."""
    if not hit.term:
        return fit(hit.before, limit, escape)
    term = fit(hit.term, max(limit // 4, 1), escape)
    marked = bold + term + bold if term else ""
    room = max(limit - size(marked), 0)
    after = fit(hit.after, room // 2, escape) if hit.after else ""
    before = _fit_left(hit.before, room - size(after), escape)
    return before + marked + after


def _fit_left(text: str, limit: int, escape: Callable[[str], str]) -> str:
    budget = limit
    while budget > 0:
        out = escape(truncate_left(text, budget))
        n = size(out)
        if n <= limit:
            return out
        budget = min(budget - 1, budget * limit // n)
    return ""
