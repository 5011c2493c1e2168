"""The Discord adapter: a discord.py client that syncs and serves /news (client) and the command
groups that turn options into command text and answer through the command layer (groups)."""
