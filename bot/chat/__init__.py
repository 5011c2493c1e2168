"""The slash-command layer, platform-free: grammar and parsed (text -> command), the service, one
module per command family, messages shared by both adapters, answer (the one command wrapper)."""

from bot.chat.service import CommandService
from bot.chat.types import Commands, Invocation, Reply

__all__ = ["Commands", "CommandService", "Invocation", "Reply"]
