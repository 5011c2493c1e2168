"""A destination address, ``platform:target``, parsed once. Pure.

``console``, ``jsonl:PATH``, ``slack:CHANNEL_ID``, ``discord:CHANNEL_ID``,
``discord-webhook:https://discord.com/api/webhooks/ID/TOKEN``. ``display`` is what logs, errors
and the audit log show: a webhook's token (whatever the case of ``/api/webhooks/``) is masked.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.secrets import mask_secrets


@dataclass(frozen=True, slots=True)
class Address:
    """``platform`` (``slack``, ``jsonl`` ...) and ``target`` (channel id, path, URL; may be "")."""

    platform: str
    target: str = ""

    @classmethod
    def parse(cls, text: str) -> Address:
        """Split at the first ``:``; surrounding spaces are dropped. Never raises: a sink says
        what is wrong with a target it cannot use."""
        platform, _, target = text.strip().partition(":")
        return cls(platform.strip(), target.strip())

    @property
    def display(self) -> str:
        """The address safe for logs and messages: secrets (webhook tokens ...) masked."""
        return mask_secrets(str(self))

    def __str__(self) -> str:
        return f"{self.platform}:{self.target}" if self.target else self.platform
