"""The one command wrapper both adapters call: build the invocation, run it, and turn any
unexpected failure into a logged error and the same polite reply (``messages.FAILURE``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.chat.messages import FAILURE
from bot.chat.types import Commands, Invocation, Reply

log = logging.getLogger(__name__)


async def answer(commands: Commands,
                 invocation: Invocation | Callable[[], Awaitable[Invocation]]) -> Reply:
    """``commands.handle`` of ``invocation`` (or of what ``invocation()`` builds, e.g. after an
    admin check that calls the platform). Never raises: one command's bug must not take the
    adapter down, and the user always gets an answer."""
    built = invocation if isinstance(invocation, Invocation) else None
    try:
        if built is None:
            built = await invocation()  # type: ignore[operator]
        return await commands.handle(built)
    except Exception:  # logged with its context; the user gets the short answer
        if built is None:
            log.exception("a command could not be read")
        else:
            log.exception("%s command %r in %s (channel %s) by %s failed", built.platform,
                          built.text[:80], built.tenant, built.channel, built.user,
                          extra={"tenant": built.tenant})
        return Reply(FAILURE, ok=False)
