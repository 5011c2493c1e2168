r"""HTML and feed boilerplate -> plain text with paragraph breaks. Pure.

``html_to_text`` uses the standard library's ``html.parser`` (tolerant of broken markup, no new
dependency): block elements become paragraph breaks ("\n\n"), ``<br>`` a line break, inline tags
vanish without gluing or splitting words, entities are unescaped, and the content of ``script``,
``style`` and similar elements is dropped. Plain text (no ``<``) takes a fast path.

``strip_boilerplate`` removes what feeds wrap around the story: "Continue reading…", "The post …
appeared first on …", "Read more", share/subscribe/follow lines, bylines, image credits and
captions, and datelines such as "(CNN) --" or "LONDON (Reuters) -" at the start of the text.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from bot.text.truncate import strip_controls

__all__ = ["html_to_text", "strip_boilerplate"]


def _words(text: str) -> list[str]:
    return text.split()

_BLOCK_TAGS = frozenset(_words(
    """p div section article header footer aside main nav h1 h2 h3 h4 h5 h6 ul ol li dl dt dd
    blockquote pre table thead tbody tfoot tr figure figcaption hr form fieldset address details
    summary"""))
_CELL_TAGS = frozenset({"td", "th"})
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "head", "svg", "iframe",
                        "object", "canvas", "select", "button"})
_VOID_TAGS = frozenset({"br", "hr", "img", "input", "meta", "link", "wbr", "source", "area"})
_PARA = "\x00P\x00"  # paragraph marker, never present in parsed text (NULs are dropped)
_LINE = "\x00L\x00"
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
# zero-width space, BOM and soft hyphen go; ZWJ/ZWNJ (U+200D/U+200C) stay: emoji sequences and
# Persian/Indic scripts need them
_ZERO_WIDTH = re.compile(r"[\u200b\ufeff\u00ad]")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            if tag not in _VOID_TAGS:
                self.skip_depth += 1
        elif tag == "br":
            self.parts.append(_LINE)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARA)
        elif tag in _CELL_TAGS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append(_LINE)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARA)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARA)
        elif tag in _CELL_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.parts.append(data.replace("\x00", ""))


def html_to_text(markup: str) -> str:
    r"""Markup (or plain text) -> text with paragraphs joined by "\n\n". Never raises."""
    if not markup:
        return ""
    if "<" not in markup:
        return _normalise(html.unescape(markup) if "&" in markup else markup)
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # a broken entry must never stop a feed; degrade to tag-strip
        return _normalise(html.unescape(re.sub(r"<[^>]*>?", " ", markup)))
    raw = "".join(parser.parts)
    return _normalise(raw.replace(_LINE, "\n").replace(_PARA, "\n\n"))


def _normalise(text: str) -> str:
    """Collapse spaces within lines, keep single line breaks, one blank line between paragraphs;
    NUL and other control characters out."""
    text = strip_controls(_ZERO_WIDTH.sub("", text))
    paragraphs: list[str] = []
    for block in re.split(r"\n[ \t\r\f\v\u00a0]*\n", text):
        lines = [_SPACES.sub(" ", line).strip() for line in block.split("\n")]
        para = "\n".join(line for line in lines if line)
        if para:
            paragraphs.append(para)
    return "\n\n".join(paragraphs)


# --- boilerplate ----------------------------------------------------------------------------------
_DROP_LINE = re.compile(
    r"""(?ix)^\W*(?:
        continue\ reading | read\ (?:the\ )?(?:more|full|rest|original|article|story)
      | click\ here | (?:share|tweet|email|e-mail)\ (?:this|on|via|the\ story|article)
      | share\ (?:on|via) | subscribe | sign\ up | follow\ us | follow\ @ | like\ us\ on
      | (?:photo|image|picture|video|graphic)s?\ ?(?:credit|courtesy|copyright|by|source)?\s*:
      | (?:image|photo|picture)\ (?:copyright|caption)\b | credit\s*: | source\s*: | getty\ images
      | advertisement$ | related\s*: | (?:see|watch)\ also | more\ (?:on|from)\ \w+\s*:
      | (?:published|updated|last\ updated|posted)\s*: | this\ (?:article|story)\ (?:was|is)\
        (?:originally\ )?(?:published|first) | all\ rights\ reserved | ©
    )""",
)
_NAME = r"[A-Z\u00c0-\u00de][\w.'’-]*"
# "By Jane Doe", "By Jane Doe and John Roe | Reuters", "Par Jean Dupont, à Lyon": two or more
# capitalised words after "by", an optional short tail, and no full stop at the end
_BYLINE = re.compile(
    rf"^(?:[Bb]y|[Vv]on|[Pp]ar|[Pp]or|[Dd]i)\s+{_NAME}(?:\s+(?:{_NAME}|and|und|et|y|e|de|van|von"
    rf"|der|da|di|&|,))*\s+{_NAME}\s*(?:[|,–—-][^.!?]{{0,60}})?$"
)
_TRAILERS = re.compile(
    r"""(?isx)\s*(?:
        the\ post\ .{1,300}?\ appeared\ first\ on\ .{1,200}?(?:\.|$)
      | (?:continue\ reading|read\ more|read\ the\ full\ (?:story|article)|weiterlesen
        |lire\ la\ suite|leer\ más|seguir\ leyendo|continua\ a\ leggere|mehr\ lesen)\b[^\n]{0,80}
      | \[(?:…|\.\.\.|&hellip;)\]
    )\s*$"""
)
_TRAILER_WINDOW = 800
# a source credit in brackets, "(CNN)", "(AFP/Getty)", "(The Hollywood Reporter)", optionally
# after a place: "New Delhi, India (CNN)"; only at the very start of the text
_AGENCY = r"(?:[A-Z][\w&./-]*(?:\ [A-Z][\w&./-]*){0,3})"
# calls to action that sites glue into the running text, without a full stop of their own
_INLINE = re.compile(
    r"(?i)[ \t]*\b(?:scroll\ down\ for\ (?:the\ )?(?:videos?|more)|"
    r"click\ here\ to\ (?:watch|see|read|view)\ (?:the\ )?(?:video|gallery|more))\b[.:]?[ \t]*"
)
_DATELINE = re.compile(
    rf"""^(?:
        (?:[A-Z][\w'’.-]*(?:[ ,]{{1,2}}[A-Z][\w'’.-]*){{0,4}}\ )?\({_AGENCY}\)
        \s*(?:[-–—]{{1,2}}\s*)?
      | [A-Z][A-Z .,'/-]{{1,40}}(?:,\s*[A-Z][\w .]{{1,30}})?\s*\([A-Z][\w&.]{{1,20}}\)
        \s*[-–—:]{{1,2}}\s*
      | [A-Z][A-Z .'/-]{{2,30}}(?:,\s*[A-Z][\w .]{{1,30}})?\s*(?:—|–|--)\s+
    )""",
    re.X,
)


def strip_boilerplate(text: str) -> str:
    r"""Drop feed boilerplate from plain text (paragraphs joined by "\n\n"). Pure, never raises."""
    if not text:
        return ""
    if "croll" in text or "lick" in text:
        text = _INLINE.sub("\n\n", text)
    out = "\n\n".join(_drop_boilerplate_lines(text))
    # trailers sit in the last few hundred characters; looking only there keeps this linear
    split = max(0, len(out) - _TRAILER_WINDOW)
    head, tail = out[:split], out[split:]
    previous = None
    while previous != tail:  # trailers can stack: "Read more … The post … appeared first on …"
        previous = tail
        tail = _TRAILERS.sub("", tail).rstrip()
    return _DATELINE.sub("", (head + tail).lstrip(), count=1)


def _drop_boilerplate_lines(text: str) -> list[str]:
    """The paragraphs of ``text`` without boilerplate lines. Where a line is dropped from inside
    a paragraph, the paragraph is split there: the lines around a caption are not one sentence
    ("Nvidia cut 500 jobs / Photo: Getty Images / at its Paris office." is two pieces, never the
    invented "Nvidia cut 500 jobs at its Paris office.")."""
    kept: list[str] = []
    for para in text.split("\n\n"):
        run: list[str] = []
        for line in para.split("\n"):
            if not _is_boilerplate(line.strip()):
                run.append(line)
            elif run:
                kept.append("\n".join(run))
                run = []
        if run:
            kept.append("\n".join(run))
    return kept


def _is_boilerplate(line: str) -> bool:
    if not line:
        return True
    if len(line) > 160:
        return False
    return bool(_DROP_LINE.match(line) or _BYLINE.match(line))
