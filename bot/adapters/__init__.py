"""Inbound chat adapters: Slack (slack/app: bolt app, request verification, replies) and Discord
(discord/client: the client and its command groups), each started in the background."""

from bot.adapters.background import BackgroundAdapter

__all__ = ["BackgroundAdapter"]
