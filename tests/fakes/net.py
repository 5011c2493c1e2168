"""Loopback addresses for network faults: a port where nothing listens (connection refused)."""

from __future__ import annotations

import socket


def closed_port() -> int:
    """A loopback port that was free a moment ago and is closed again: connects are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_url(path: str = "/") -> str:
    return f"http://127.0.0.1:{closed_port()}{path}"
