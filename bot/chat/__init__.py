"""The slash-command layer, platform-free: grammar, the service (CommandService), one module per
command family, messages shared by both adapters, and answer (the one command wrapper)."""

from bot.chat.service import CommandService
from bot.chat.types import Commands, Invocation, Reply

__all__ = ["Commands", "CommandService", "Invocation", "Reply"]
