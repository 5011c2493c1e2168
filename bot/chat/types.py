"""What the chat adapters hand to the command layer, and what they get back.

The Slack and Discord adapters translate a slash command into an ``Invocation`` (deciding
``is_admin`` server-side from platform facts), call ``CommandService.handle``, and render the
``Reply`` (ephemeral or in channel; alert previews through their platform renderer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from bot.domain.alert import Alert


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file given with a command (a Discord attachment, a Slack file): where to GET it. The
    command layer downloads it through the address guard, size-capped; ``headers`` (Slack's bot
    token for its own file host) never appear in a repr or a log."""

    name: str
    url: str
    size: int | None = None  # bytes, as the platform declared them
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class Invocation:
    tenant: str  # "slack:T0123" (workspace) or "discord:1234" (guild)
    platform: Literal["slack", "discord", "cli"]
    channel: str  # channel id; the destination address is f"{platform}:{channel}"
    user: str  # user id (audit log "who")
    text: str  # everything after "/news", e.g. 'subscribe company "Mistral AI" topic Funding'
    is_admin: bool = False  # decided by the adapter: Slack admins/owners or configured users;
    #                         Discord Manage Server on interaction.permissions
    user_name: str = ""
    attachment: Attachment | None = None  # `feeds import`: the uploaded OPML file

    @property
    def destination(self) -> str:
        return f"{self.platform}:{self.channel}"


@dataclass(frozen=True, slots=True)
class Reply:
    text: str  # plain text; adapters escape it for their markup
    ephemeral: bool = True  # False only when the channel's subscriptions changed
    alerts: tuple[Alert, ...] = ()  # previews, rendered exactly as they would be posted
    ok: bool = True  # False for refusals and bad input


class Commands(Protocol):
    async def handle(self, invocation: Invocation) -> Reply:
        """Run one command. Never raises for user mistakes: they become ``Reply(ok=False)``."""
        ...

    async def complete(self, tenant: str, kind: Literal["company", "topic"], prefix: str,
                       limit: int = 25) -> list[str]:
        """Watched company or topic names of this tenant starting with / containing ``prefix``."""
        ...
