"""The command line: argument parsing (parser), `newsbot run` and the tools (commands),
the demo and preview; `main` is the `newsbot` entry point."""

from bot.cli.parser import main

__all__ = ["main"]
