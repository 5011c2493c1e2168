"""The grammar of the channel controls (``digest``, ``quiet``, ``timezone``, ``mute``,
``unmute``, ``cap``, ``max_age``, ``exclude``, ``unexclude``, ``prominent_only``, ``mention``,
``followups``, ``admin-channel``, ``status``). Pure: every value is parsed and checked here, so
a mistake is refused before anything is written."""

from __future__ import annotations

from collections.abc import Callable

from bot.chat.grammar import (
    Token,
    _short,
    check_term,
    check_text,
    join_value,
    parse,
    split_sections,
    tokenize,
)
from bot.chat.parsed import (
    AdminChannel,
    Command,
    ExcludeCmd,
    MuteCmd,
    SetControl,
    Status,
    Subscribe,
)
from bot.domain.controls import (
    MAX_CAP,
    QuietHours,
    Schedule,
    check_zone,
    mention_token,
    parse_duration,
)
from bot.domain.errors import CommandError
from bot.domain.story import FOLLOWUPS

USAGE = {
    "digest": "digest daily HH:MM [TIME_ZONE] | digest weekly DAY HH:MM [TIME_ZONE] | digest off",
    "quiet": "quiet HH:MM-HH:MM [TIME_ZONE] | quiet off",
    "timezone": "timezone TIME_ZONE (an IANA name, e.g. Europe/Paris)",
    "mute": "mute COMPANY_OR_TOPIC [DURATION, e.g. 7d, 12h; default 7d]",
    "unmute": "unmute COMPANY_OR_TOPIC",
    "cap": "cap N (alerts per hour; the rest go in the next digest) | cap off",
    "max_age": "max_age DURATION (e.g. 3d: older entries do not alert here)",
    "exclude": "exclude WORD_OR_PHRASE (articles containing it do not alert here)",
    "unexclude": "unexclude WORD_OR_PHRASE",
    "prominent_only": "prominent_only on|off (alert only when the company is in the title or "
                      "first paragraph)",
    "mention": "mention ROLE_OR_GROUP|off [company NAME] [topic TOPIC] (admins; with a "
               "subscription of this channel: for that one only)",
    "followups": "followups thread|edit|off (admins: a later report of a story alerted here is "
                 "a reply in the alert's thread, an edit adding its outlet to the alert, or "
                 "nothing)",
    "admin-channel": "admin-channel | admin-channel off (admins: notices go to this channel)",
    "status": "status (admins: the admin channel and the latest notices)",
}
ALIASES = {"max-age": "max_age", "maxage": "max_age", "prominent-only": "prominent_only",
           "prominent": "prominent_only", "tz": "timezone", "snooze": "mute",
           "admin_channel": "admin-channel", "adminchannel": "admin-channel",
           "quiet-hours": "quiet", "quiet_hours": "quiet", "mentions": "mention",
           "follow-ups": "followups", "follow_ups": "followups", "followup": "followups"}
ON, OFF = ("on", "yes", "true"), ("off", "no", "false", "none")
DEFAULT_MUTE = "7d"


def _usage(sub: str, problem: str = "") -> CommandError:
    lead = f"{problem} " if problem else ""
    return CommandError(f"{lead}Usage: /news {USAGE[sub]}")


def _value(sub: str, parse: Callable[[str], object], text: str) -> object:
    try:
        return parse(text)
    except ValueError as exc:
        raise _usage(sub, f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None


def _is_off(rest: list[Token]) -> bool:
    return len(rest) == 1 and not rest[0].quoted and rest[0].text.casefold() in OFF


def _timed(sub: str, rest: list[Token], words: int, parse: Callable[[str], object]
           ) -> SetControl:
    """``digest daily 08:00 Europe/Paris``: the value's words, then an optional time zone."""
    if not rest:
        raise _usage(sub)
    if _is_off(rest):
        return SetControl(sub, None)  # type: ignore[arg-type]
    head = " ".join(t.text for t in rest[:words])
    value = _value(sub, parse, head)
    zone = None
    if len(rest) > words:
        zone = str(_value(sub, check_zone, join_value(rest[words:])))
    return SetControl(sub, value, zone)  # type: ignore[arg-type]


def parse_any(text: str) -> Command:
    """``bot.chat.grammar.parse`` and the channel controls: the command in ``text``."""
    tokens = tokenize(check_text(text).strip())
    if tokens and not tokens[0].quoted:
        found = parse_control(tokens[0].text.casefold(), tokens[1:])
        if found is not None:
            return found
    return parse(text)


def parse_control(sub: str, rest: list[Token]) -> Command | None:
    """The control command ``sub`` names, or None when ``sub`` is not one of them."""
    sub = ALIASES.get(sub, sub)
    if sub not in USAGE:
        return None
    text = join_value(rest)
    if sub == "digest":
        words = 3 if rest and rest[0].text.casefold() == "weekly" else 2
        return _timed(sub, rest, words, Schedule.parse)
    if sub == "quiet":
        words = 1 if rest and any(d in rest[0].text.strip("-–—") for d in "-–—") else 3
        return _timed(sub, rest, min(words, len(rest)), QuietHours.parse)
    if sub == "timezone":
        return SetControl("timezone", _value(sub, check_zone, text) if text else
                          _fail(sub, "Give a time zone."))
    if sub in ("mute", "unmute"):
        return _mute(sub, rest)
    if sub == "cap":
        return _cap(rest, text)
    if sub == "max_age":
        return SetControl("max_age", _value(sub, parse_duration, text) if text else
                          _fail(sub, "Give a duration."))
    if sub in ("exclude", "unexclude"):
        if not text:
            raise _usage(sub, "Give a word or phrase.")
        return ExcludeCmd(check_term(text, "phrase"), remove=sub == "unexclude")
    if sub == "prominent_only":
        if text.casefold() not in (*ON, *OFF):
            raise _usage(sub)
        return SetControl("prominent_only", text.casefold() in ON)
    if sub == "mention":
        return _mention(rest)
    if sub == "followups":
        if text.casefold() not in FOLLOWUPS:
            raise _usage(sub, "Say thread, edit or off." if not text else
                         f"Unknown setting {_short(text, 20)}.")
        return SetControl("followups", text.casefold())
    if sub == "admin-channel":
        if rest and not _is_off(rest):
            raise _usage(sub)
        return AdminChannel(off=bool(rest))
    if rest:
        raise _usage(sub, "It takes no arguments.")
    return Status()


def _fail(sub: str, problem: str) -> object:
    raise _usage(sub, problem)


def _mute(sub: str, rest: list[Token]) -> MuteCmd:
    if not rest:
        raise _usage(sub, "Say which company or topic.")
    duration = None
    if sub == "mute" and len(rest) > 1 and not rest[-1].quoted:
        try:
            duration = parse_duration(rest[-1].text)
            rest = rest[:-1]
        except ValueError:
            duration = None
    name = join_value(rest)
    if sub == "mute" and duration is None:
        duration = parse_duration(DEFAULT_MUTE)
    return MuteCmd(check_term(name, "name"), duration, remove=sub == "unmute")


def _mention(rest: list[Token]) -> SetControl:
    head, sections = split_sections(rest, {"company", "topic"})
    target = None
    if sections:
        company, topic = (join_value(sections[k]) if k in sections else None
                          for k in ("company", "topic"))
        if company == "" or topic == "":
            raise _usage("mention", "Missing the subscription's name.")
        target = Subscribe(company=company, topic=topic)
    if not head:
        raise _usage("mention", "Name one role or user group.")
    if _is_off(head):
        return SetControl("mention", None, subscription=target)
    return SetControl("mention", _value("mention", mention_token, join_value(head)),
                      subscription=target)


def _cap(rest: list[Token], text: str) -> SetControl:
    if _is_off(rest):
        return SetControl("cap", None)
    if not text.isdigit() or not 1 <= int(text) <= MAX_CAP:
        raise _usage("cap", f"Give a whole number from 1 to {MAX_CAP} (got {_short(text, 20)}).")
    return SetControl("cap", int(text))
