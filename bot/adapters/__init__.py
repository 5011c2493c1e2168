"""Inbound chat adapters, each started in the background (background): Slack (slack/: app, verify,
reply) and Discord (discord/: client, groups)."""

from bot.adapters.background import BackgroundAdapter

__all__ = ["BackgroundAdapter"]
