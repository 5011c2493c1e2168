"""`help`: every command, one line each, and the list grammar."""

from __future__ import annotations

from bot.chat.controls_grammar import ALIASES
from bot.chat.controls_grammar import USAGE as CONTROLS_USAGE
from bot.chat.grammar import USAGE
from bot.chat.types import Reply

GENERAL = """\
/news commands:
• list: this channel's subscriptions
• subscribe company NAME [topic TOPIC] | subscribe topic TOPIC: get alerts here for a watched \
company, a topic, or a company AND a topic ("company *" = any watched company)
• unsubscribe … (same forms)
• preview TEXT_OR_URL: the alert this channel would get for a text or a stored article, and why
• preview company NAME: the alerts the last 7 days of stored articles would have produced
• why URL: was that article seen, matched, routed here and delivered, or why not
This channel's controls (see list; /news help digest, … for each):
• digest daily|weekly DAY HH:MM [ZONE] · quiet 22:00-07:00 [ZONE] · timezone ZONE · cap N/hour
• mute NAME [7d] · unmute NAME · exclude PHRASE · unexclude PHRASE · max_age 3d · \
prominent_only on|off
Admins only:
• mention GROUP_OR_ROLE · followups thread|edit|off (later reports of a story) · \
admin-channel (notices go here) · status
• watch add company NAME [aliases A, B] [context C, D] [senses S1, S2] [people P1, P2] \
[exclude E] [case-sensitive]: context words count for the company, sense words (fruit, river) \
against it, people (Doug Ford) are never the company
• watch add topic NAME keywords K1, K2 (a trailing * matches any ending: acqui*)
• watch remove company|topic NAME · watch list
• feeds add URL [every N min] [backfill N] · feeds remove URL · feeds list
• feeds import: follow the feeds of an OPML file (Discord: attach it; Slack: upload it, then \
feeds import FILE_LINK)
• resume: post this channel's held alerts (oldest first) after it was stopped and the cause fixed
Names may contain spaces: subscribe company Mistral AI topic Funding. Lists are \
comma-separated; quote an item that contains a comma or a keyword: aliases "Alphabet, Inc.", \
Google. `watch add` on a name already watched replaces that entry. /news help watch (or feeds, \
subscribe, …) shows one command's usage."""


def help_reply(topic: str = "") -> Reply:
    key = topic.split()[0] if topic else ""
    key = {"unsub": "unsubscribe", "sub": "subscribe", "feed": "feeds"}.get(key, key)
    if key in USAGE:
        return Reply(f"Usage: /news {USAGE[key]}")
    key = ALIASES.get(key, key)
    if key in CONTROLS_USAGE:
        return Reply(f"Usage: /news {CONTROLS_USAGE[key]}")
    return Reply(GENERAL)
