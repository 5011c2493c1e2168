"""Pure values every layer speaks: no I/O, no clock, no third-party clients.

``Address``: a destination's ``platform:target`` address, parsed once, safe to display.
"""

from bot.domain.address import Address

__all__ = ["Address"]
