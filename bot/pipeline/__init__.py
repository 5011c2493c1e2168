"""The pure steps, in data-flow order: parse, keys (dedup), match (ambiguous names: disambiguate),
summarise, route, alerts (the one alert builder). Data in, data out: no network, db or clock."""

from bot.pipeline.alerts import alert_for, plan_alerts
from bot.pipeline.keys import to_articles
from bot.pipeline.match import Matcher, compile_watchlist
from bot.pipeline.parse import parse_feed

__all__ = ["alert_for", "compile_watchlist", "Matcher", "parse_feed", "plan_alerts",
           "to_articles"]
