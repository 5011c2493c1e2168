"""Command text (everything after ``/news``) -> a structured command. Pure; no storage, no clock.

The grammar, for people (``help`` shows the same):

* Words are separated by spaces. Double quotes (straight or curly) keep a name together, and are
  only needed when a name contains one of the keywords below or a comma:
  ``subscribe company Mistral AI topic Funding`` and ``subscribe company "Mistral AI"`` both work.
* Keywords (``company``, ``topic``, ``aliases``, ``context``, ``senses``, ``people``,
  ``exclude``, ``keywords``,
  ``case-sensitive``, ``every``) are recognised in any case, anywhere after the subcommand, unless
  quoted. Each starts a section that runs to the next keyword.
* Lists (aliases, context, senses, people, exclude, keywords) are comma-separated:
  ``aliases Mistral, Le Chat``.
  Quote an item that contains a comma: ``aliases "Alphabet, Inc.", Google``.
* Slack's link markup ``<https://x|label>`` around a URL is unwrapped.

Every mistake raises ``CommandError`` with a short message naming the problem; nothing here acts.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.chat.parsed import (
    Command,
    FeedAdd,
    FeedImport,
    FeedList,
    FeedRemove,
    Help,
    ListSubs,
    Preview,
    Resume,
    Subscribe,
    WatchAdd,
    WatchList,
    WatchRemove,
    Why,
)
from bot.domain.errors import CommandError

MAX_TEXT_CHARS = 20_000  # the whole command; names and lists have their own, smaller limits
MAX_TERM_CHARS = 200
MAX_LIST_ITEMS = 50


_QUOTES = {'"': '"', "\u201c": "\u201d", "\u201e": "\u201c", "\u00ab": "\u00bb"}
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_SLACK_LINK = re.compile(r"^<((?:https?|ftp|file)[^|>]*)(?:\|[^>]*)?>$", re.IGNORECASE)
_EVERY = re.compile(r"^(\d{1,6})\s*(m|min|mins|minute|minutes)?$", re.IGNORECASE)

_LIST_KEYS = {"aliases": "aliases", "alias": "aliases", "context": "context",
              "senses": "senses", "sense": "senses", "people": "people", "person": "people",
              "exclude": "exclude", "excludes": "exclude", "keywords": "keywords",
              "keyword": "keywords"}
_FLAG_KEYS = {"case-sensitive": "case_sensitive", "case_sensitive": "case_sensitive",
              "casesensitive": "case_sensitive"}


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    quoted: bool = False


# --- the structured commands ----------------------------------------------------------------------


USAGE = {
    "subscribe": "subscribe company NAME [topic TOPIC] | subscribe topic TOPIC",
    "unsubscribe": "unsubscribe company NAME [topic TOPIC] | unsubscribe topic TOPIC",
    "preview": "preview TEXT_OR_URL | preview company NAME",
    "why": "why URL",
    "watch": ("watch add company NAME [aliases A, B] [context C, D] [senses S1, S2]"
              " [people P1, P2] [exclude E] [case-sensitive]"
              " | watch add topic NAME keywords K1, K2 | watch remove company|topic NAME"
              " | watch list"),
    "feeds": ("feeds add URL [every N min] [backfill N] | feeds remove URL | feeds list"
              " | feeds import (with an OPML file: a Discord attachment, or a Slack file's link)"),
    "resume": "resume (admins: post this channel's held alerts, oldest first, once fixed)",
}
SUBCOMMANDS = ("help", "list", "subscribe", "unsubscribe", "preview", "why", "watch", "feeds",
               "resume")  # (the channel controls are listed by /news help)
MAX_CHAT_BACKFILL = 50  # entries a chat-added feed may alert on at its first poll


def usage_error(sub: str, problem: str = "") -> CommandError:
    lead = f"{problem} " if problem else ""
    return CommandError(f"{lead}Usage: /news {USAGE[sub]}")


# --- tokens ---------------------------------------------------------------------------------------
def check_text(text: str) -> str:
    """Refuse oversized text and control/bidi characters; turn tabs and newlines into spaces."""
    if len(text) > MAX_TEXT_CHARS:
        raise CommandError(f"That command is {len(text):,} characters long; the limit is "
                           f"{MAX_TEXT_CHARS:,}.")
    out = []
    for i, ch in enumerate(text):
        if ch in "\t\n\r\u00a0":
            out.append(" ")
        elif ch in _BIDI or unicodedata.category(ch) in ("Cc", "Cs", "Co"):
            raise CommandError(f"The command contains a control character (U+{ord(ch):04X} at "
                               f"position {i + 1}); please retype it as plain text.")
        else:
            out.append(ch)
    return "".join(out)


def tokenize(text: str) -> list[Token]:
    """Split on spaces; a quoted run is one token (an unclosed quote runs to the end)."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == " ":
            i += 1
            continue
        if ch in _QUOTES:
            close = text.find(_QUOTES[ch], i + 1)
            if close < 0:
                close = n
            tokens.append(Token(text[i + 1:close].strip(), quoted=True))
            i = close + 1
            continue
        j = i
        while j < n and text[j] != " " and text[j] not in _QUOTES:
            j += 1
        tokens.append(Token(text[i:j]))
        i = j
    return tokens


def _key(token: Token) -> str:
    return "" if token.quoted else token.text.casefold().rstrip(":")


def split_sections(tokens: list[Token], keys: set[str]
                   ) -> tuple[list[Token], dict[str, list[Token]]]:
    """Tokens before the first keyword, and each keyword's tokens (a repeated keyword appends)."""
    head: list[Token] = []
    sections: dict[str, list[Token]] = {}
    current: list[Token] = head
    for token in tokens:
        key = _key(token)
        if key in keys:
            current = sections.setdefault(key, [])
            continue
        current.append(token)
    return head, sections


def join_value(tokens: list[Token]) -> str:
    return " ".join(t.text for t in tokens if t.text).strip()


def split_list(tokens: list[Token]) -> list[str]:
    """Comma-separated items; a quoted token is part of an item, never split."""
    items: list[list[str]] = [[]]
    for token in tokens:
        if token.quoted:
            items[-1].append(token.text)
            continue
        pieces = token.text.split(",")
        for k, piece in enumerate(pieces):
            if k:
                items.append([])
            if piece:
                items[-1].append(piece)
    return [" ".join(parts).strip() for parts in items if " ".join(parts).strip()]


def check_term(term: str, what: str) -> str:
    if len(term) > MAX_TERM_CHARS:
        raise CommandError(f"The {what} {_short(term)} is {len(term):,} characters long; the "
                           f"limit is {MAX_TERM_CHARS}.")
    return term


def check_list(items: list[str], what: str) -> tuple[str, ...]:
    if len(items) > MAX_LIST_ITEMS:
        raise CommandError(f"{len(items):,} {what} is too many; the limit is {MAX_LIST_ITEMS}.")
    for item in items:
        check_term(item, what.rstrip("s") if what != "aliases" else "alias")
    return tuple(dict.fromkeys(items))


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def unwrap_url(text: str) -> str:
    """``<https://x|label>`` (Slack's escaped link) -> ``https://x``; other text unchanged."""
    text = text.strip()
    m = _SLACK_LINK.match(text)
    return m.group(1) if m else text


def looks_like_url(text: str) -> bool:
    word = unwrap_url(text)
    return " " not in word and bool(re.match(r"^[a-z][a-z0-9+.-]*://", word, re.IGNORECASE))


# --- the parser -----------------------------------------------------------------------------------
def parse(text: str) -> Command:
    """The command in ``text`` (after ``/news``); ``CommandError`` with usage when it is wrong."""
    clean = check_text(text).strip()
    tokens = tokenize(clean)
    if not tokens:
        return Help()
    sub = tokens[0].text.casefold()
    rest = tokens[1:]
    if sub in ("help", "?", "h"):
        return Help(join_value(rest).casefold())
    if sub in ("list", "ls", "subscriptions"):
        return ListSubs()
    if sub in ("subscribe", "sub", "unsubscribe", "unsub"):
        return parse_subscribe(rest, remove=sub.startswith("unsub"))
    if sub == "preview":
        return parse_preview(rest, clean[len(tokens[0].text):].strip())
    if sub == "why":
        return parse_why(rest)
    if sub == "watch":
        return parse_watch(rest)
    if sub in ("feeds", "feed"):
        return parse_feeds(rest)
    if sub == "resume":
        if rest:
            raise usage_error("resume", "it takes no arguments; run it in the channel.")
        return Resume()
    raise CommandError(f"Unknown command {_short(tokens[0].text, 30)}. Try: "
                       f"{', '.join(SUBCOMMANDS)} (or /news help).")


def parse_subscribe(tokens: list[Token], *, remove: bool) -> Subscribe:
    sub = "unsubscribe" if remove else "subscribe"
    head, sections = split_sections(tokens, {"company", "topic"})
    company = join_value(sections["company"]) if "company" in sections else None
    topic = join_value(sections["topic"]) if "topic" in sections else None
    bare = join_value(head) or None
    if bare and (company is not None or topic is not None):
        raise usage_error(sub, f"I did not understand {_short(bare)}.")
    if company == "" or topic == "":
        raise usage_error(sub, f"Missing the {'company' if company == '' else 'topic'} name.")
    if company is None and topic is None and bare is None:
        raise usage_error(sub, "Say what to " + sub + " to.")
    for value, what in ((company, "company name"), (topic, "topic name"), (bare, "name")):
        if value is not None:
            check_term(value, what)
    return Subscribe(remove=remove, company=company, topic=topic, name=bare)


def parse_preview(tokens: list[Token], raw: str) -> Preview:
    if not tokens:
        raise usage_error("preview", "Give a text, a URL or a company.")
    if _key(tokens[0]) == "company":
        name = join_value(tokens[1:])
        if not name:
            raise usage_error("preview", "Missing the company name.")
        return Preview(company=check_term(name, "company name"))
    if len(tokens) == 1 and looks_like_url(tokens[0].text):
        return Preview(url=unwrap_url(tokens[0].text))
    return Preview(text=raw)


def parse_why(tokens: list[Token]) -> Why:
    if len(tokens) != 1 or not looks_like_url(tokens[0].text):
        raise usage_error("why", "Give one article URL.")
    return Why(unwrap_url(tokens[0].text))


def parse_watch(tokens: list[Token]) -> Command:
    action = tokens[0].text.casefold() if tokens else ""
    if action in ("list", "ls", "show"):
        return WatchList()
    if action not in ("add", "remove", "rm", "delete", "del"):
        raise usage_error("watch", f"Unknown watch action {_short(action, 20)}." if action else "")
    kind = tokens[1].text.casefold() if len(tokens) > 1 else ""
    if kind in ("companies", "topics"):
        kind = kind[:-1] if kind == "topics" else "company"
    if kind not in ("company", "topic"):
        raise usage_error("watch", "Say 'company' or 'topic'.")
    if action != "add":
        name = join_value(tokens[2:])
        if not name:
            raise usage_error("watch", f"Missing the {kind} name.")
        return WatchRemove("company" if kind == "company" else "topic",
                           check_term(name, f"{kind} name"))
    return _watch_add_company(tokens[2:]) if kind == "company" else _watch_add_topic(tokens[2:])


def _watch_add_company(tokens: list[Token]) -> WatchAdd:
    keys = {*(k for k, v in _LIST_KEYS.items() if v != "keywords"), *_FLAG_KEYS}
    head, sections = split_sections(tokens, keys)
    name = check_term(join_value(head), "company name")
    if not name:
        raise usage_error("watch", "Missing the company name.")
    if "keywords" in {_key(t) for t in tokens} or "keyword" in {_key(t) for t in tokens}:
        raise usage_error("watch", "Companies have aliases, not keywords.")
    lists: dict[str, list[str]] = {}
    flag = False
    for key, section in sections.items():
        if key in _FLAG_KEYS:
            flag = True
            if section:
                raise usage_error("watch", f"'{key}' takes no value; put it last.")
            continue
        lists.setdefault(_LIST_KEYS[key], []).extend(split_list(section))
        if not section:
            raise usage_error("watch", f"'{key}' needs a comma-separated list.")
    return WatchAdd("company", name,
                    aliases=check_list(lists.get("aliases", []), "aliases"),
                    context=check_list(lists.get("context", []), "context words"),
                    senses=check_list(lists.get("senses", []), "sense words"),
                    people=check_list(lists.get("people", []), "people"),
                    exclude=check_list(lists.get("exclude", []), "exclusions"),
                    case_sensitive=flag)


def _watch_add_topic(tokens: list[Token]) -> WatchAdd:
    head, sections = split_sections(tokens, {"keywords", "keyword"})
    name = check_term(join_value(head), "topic name")
    if not name:
        raise usage_error("watch", "Missing the topic name.")
    items = [*split_list(sections.get("keywords", [])), *split_list(sections.get("keyword", []))]
    if not items:
        raise usage_error("watch", "A topic needs keywords: watch add topic NAME keywords K1, K2.")
    return WatchAdd("topic", name, keywords=check_list(items, "keywords"))


def parse_feeds(tokens: list[Token]) -> Command:
    action = tokens[0].text.casefold() if tokens else ""
    if action in ("list", "ls", "show"):
        return FeedList()
    if action == "import":
        if len(tokens) > 2:
            raise usage_error("feeds", "Give at most one file link.")
        return FeedImport(unwrap_url(tokens[1].text) if len(tokens) == 2 else "")
    if action not in ("add", "remove", "rm", "delete", "del"):
        raise usage_error("feeds", f"Unknown feeds action {_short(action, 20)}." if action else "")
    head, sections = split_sections(tokens[1:], {"every", "backfill"})
    if len(head) != 1:
        raise usage_error("feeds", "Give one feed URL." if not head else
                          "Give one feed URL (no spaces).")
    url = unwrap_url(head[0].text)
    if action != "add":
        if sections:
            raise usage_error("feeds", "'every' and 'backfill' only go with 'feeds add'.")
        return FeedRemove(url)
    interval = None
    if "every" in sections:
        m = _EVERY.match(join_value(sections["every"]))
        if not m:
            raise usage_error("feeds", "Write the interval as 'every N min'.")
        interval = int(m.group(1))
    backfill = 0
    if "backfill" in sections:
        count = join_value(sections["backfill"])
        if not count.isdigit() or int(count) > MAX_CHAT_BACKFILL:
            raise usage_error("feeds", f"Write the backfill as a number from 0 to "
                              f"{MAX_CHAT_BACKFILL}.")
        backfill = int(count)
    return FeedAdd(url, interval, backfill)
