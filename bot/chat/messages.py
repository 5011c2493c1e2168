"""User-facing strings the chat layer and both adapters share, in one place to keep them consistent.

Strings used by a single command live with that command (bot/chat/<family>.py).
"""

from __future__ import annotations

FAILURE = "Sorry, that failed on our side; nothing was changed. Please try again later."
NOT_ADMIN = ("Only admins can change the watchlist or the feeds or resume a channel (Slack: "
             "workspace admins or configured users; Discord: Manage Server).")
DISCORD_DM_REFUSAL = "newsbot works in servers: run /news in a channel of your server."
DISCORD_ADMIN_REFUSAL = ("Only members with the Manage Server permission can change the watchlist "
                         "and the feeds.")
