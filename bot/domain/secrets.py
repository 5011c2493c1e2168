"""One masking function for every message that may carry a secret URL or token.

``mask_secrets`` is used wherever text leaves the process: config errors, every ``NewsbotError``
message, log records (``protect_logs``), audit entries and stored alerts (``display_address``).
It masks, case-insensitively and in percent-encoded form too:

- Discord webhook URLs (``…/api/webhooks/ID/TOKEN``, any host, any API version): the token;
- Slack incoming webhooks, workflow triggers and ``response_url`` (``hooks.slack.com/…``): the path;
- Slack tokens (``xoxb-``, ``xoxp-``, ``xapp-`` …);
- ``token=``, ``secret=``, ``key=``, ``signature=``, ``password=``-style query parameters;
- passwords in ``scheme://user:password@host`` URLs.

What it cannot see (a bare secret with no recognisable shape) stays the caller's job: show the
text as the operator wrote it (``${NAME}``), not its expansion.
"""

from __future__ import annotations

import logging
import re
import traceback

MASK = "***"
_SEP = r"(?:/|%2f)"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), replacement) for pattern, replacement in (
        # …/webhooks/ID/TOKEN (Discord, any host: API gateways, test doubles)
        (rf"({_SEP}webhooks{_SEP}[\w.-]+{_SEP})[\w.-]+", rf"\g<1>{MASK}"),
        # hooks.slack.com/services/…, /workflows/…, /triggers/…, /commands/… (response_url)
        (rf"(hooks\.slack(?:-gov)?\.com{_SEP}[a-z]+{_SEP})[\w.%/-]+", rf"\g<1>{MASK}"),
        # Slack tokens
        (r"\b(xox[a-z]|xapp)-[\w-]+", rf"\g<1>-{MASK}"),
        # token=…, api_key=…, client_secret=…, signature=…, password=… (query or form fields)
        (r"((?:^|[?&;#\s])[\w.-]{0,40}(?:token|secret|key|sig|signature|password|passwd|auth)"
         r"[\w.-]{0,40}(?:=|%3d))[^&;#\s\"'<>]+", rf"\g<1>{MASK}"),
        # scheme://user:password@host
        (r"(\b[a-z][a-z0-9+.-]{0,30}://[^/\s:@]{1,200}:)[^/\s@]{1,200}@", rf"\g<1>{MASK}@"),
    ))


def mask_secrets(text: str) -> str:
    """``text`` with every recognisable secret replaced by ``***`` (see the module docstring)."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class SecretMaskingFilter(logging.Filter):
    """A handler filter: the formatted message and any traceback text go through mask_secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format string: keep what logging would show
            message = str(record.msg)
        record.msg, record.args = mask_secrets(message), None
        if record.exc_info and not record.exc_text:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = mask_secrets(text)
        if record.stack_info:
            record.stack_info = mask_secrets(record.stack_info)
        return True


# slack_sdk logs request bodies (with response_url) and slack_bolt payloads at DEBUG
CHATTY_LOGGERS = ("slack_sdk", "slack_bolt")


def quiet_chatty_loggers() -> None:
    """Keep the Slack libraries at WARNING or above, even with ``-v``: at DEBUG they log request
    bodies (``response_url``) and headers (the bot token)."""
    for name in CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))


def protect_logs(*handlers: logging.Handler) -> None:
    """Mask secrets in every record ``handlers`` (default: the root logger's) emit, and quiet the
    Slack libraries. Call once after logging is set up."""
    quiet_chatty_loggers()
    for handler in handlers or tuple(logging.getLogger().handlers):
        if not any(isinstance(f, SecretMaskingFilter) for f in handler.filters):
            handler.addFilter(SecretMaskingFilter())
