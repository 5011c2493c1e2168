"""An alert made ready for its destination, pure: escaping and fitting to platform limits
(escape), Slack Block Kit (slack_blocks) and Discord embeds (discord_embed).

Import the module you need: importing this package loads neither renderer (slack_blocks needs
slack_sdk, which a bot without Slack destinations never loads)."""
