"""The pure steps, in data-flow order: parse, keys (dedup), match (ambiguous names: disambiguate),
summarise, route, alerts (the one alert builder). Data in, data out: no network, db or clock.
``parse_feed`` is imported from bot.pipeline.parse itself: it runs in the parse workers, and the
main process need not load feedparser."""

from bot.pipeline.alerts import alert_for, plan_alerts
from bot.pipeline.keys import to_articles
from bot.pipeline.match import Matcher, compile_watchlist

__all__ = ["alert_for", "compile_watchlist", "Matcher", "plan_alerts", "to_articles"]
