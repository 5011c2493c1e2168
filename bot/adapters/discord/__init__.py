"""The Discord adapter: a discord.py client with the /news command groups, answering through
the command layer (client)."""
