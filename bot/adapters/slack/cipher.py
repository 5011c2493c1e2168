"""Workspace tokens at rest: Fernet-encrypted when ``NEWSBOT_TOKEN_KEY`` is set, else kept as is.

A stored value says how it was written: ``fernet:...`` or ``plain:...``. With a key set, plain
values still read (an install from before the key was set) and are encrypted when next saved;
an encrypted value without the key (or with a wrong one) is refused with a message naming the
variable. ``NEWSBOT_TOKEN_KEY`` may hold several comma-separated keys: the first encrypts, any
decrypts (key rotation, ``cryptography``'s ``MultiFernet``).
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.domain.errors import ConfigError

ENCRYPTED, PLAIN = "fernet:", "plain:"
KEY_HELP = ("NEWSBOT_TOKEN_KEY must be one or more comma-separated Fernet keys (44 characters "
            "of url-safe base64); make one with: python -c 'from cryptography.fernet import "
            "Fernet; print(Fernet.generate_key().decode())'")


class TokenCipher:
    """Seals tokens before they are stored and opens them after they are read."""

    def __init__(self, keys: str = "") -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        try:
            self._fernet = MultiFernet([Fernet(k) for k in parts]) if parts else None
        except ValueError:
            raise ConfigError(KEY_HELP) from None

    @property
    def encrypting(self) -> bool:
        return self._fernet is not None

    def seal(self, token: str | None) -> str | None:
        if token is None:
            return None
        if self._fernet is None:
            return PLAIN + token
        return ENCRYPTED + self._fernet.encrypt(token.encode()).decode()

    def open(self, stored: str | None) -> str | None:
        if stored is None:
            return None
        if stored.startswith(PLAIN):
            return stored[len(PLAIN):]
        if not stored.startswith(ENCRYPTED):
            raise ConfigError("a stored Slack token has an unknown format")
        if self._fernet is None:
            raise ConfigError("the Slack tokens in the database are encrypted: set "
                              "NEWSBOT_TOKEN_KEY to the key they were written with")
        try:
            return self._fernet.decrypt(stored[len(ENCRYPTED):].encode()).decode()
        except InvalidToken:
            raise ConfigError("NEWSBOT_TOKEN_KEY does not decrypt the stored Slack tokens "
                              "(a different key?)") from None
