"""Outbound: the Sink protocol (sinks) and one sink per destination kind (console and jsonl, Slack,
Discord), with what they share: one pacer, transport errors translated, "did it land" scans."""

from bot.delivery.pacer import Pacer
from bot.delivery.sinks import Sink

__all__ = ["Pacer", "Sink"]
