"""What the sinks share: one pacer, one translation of transport errors, one "did it land" cache.

``Pacer`` (per-key send slots and pauses), ``transport_errors`` (aiohttp -> delivery outcomes),
``RecentScan`` (markers seen in a channel's recent messages, read once for many deliveries).
"""
