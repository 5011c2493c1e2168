"""An alert made ready for its destination, pure: escaping and fitting to platform limits
(escape), Slack Block Kit (slack_blocks) and Discord embeds (discord_embed)."""

from bot.render.discord_embed import render_discord
from bot.render.slack_blocks import render_slack

__all__ = ["render_discord", "render_slack"]
