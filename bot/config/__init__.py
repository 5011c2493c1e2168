"""Configuration: settings from the environment (settings), the operator's YAML files (operator,
yaml_files, watchlist) and applying them to the local tenant (apply)."""

from bot.config.operator import OperatorConfig, load_config
from bot.config.settings import Settings
from bot.config.watchlist import load_watchlist

__all__ = ["load_config", "load_watchlist", "OperatorConfig", "Settings"]
