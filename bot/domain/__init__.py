"""Pure values every layer speaks (no I/O, no clock, no third-party clients): the watchlist and
its one name rule, articles, alerts, deliveries, addresses, the exception tree, secret masking."""

from bot.domain.address import Address
from bot.domain.alert import (
    Alert,
    Destination,
    Match,
    MatchResult,
    Subscription,
    Summary,
    display_address,
)
from bot.domain.article import Article, Entry, FeedSource, FetchResult, ParsedFeed
from bot.domain.delivery import Delivery, SendResult
from bot.domain.errors import NewsbotError
from bot.domain.secrets import mask_secrets
from bot.domain.watchlist import Company, Topic, Watchlist, name_key

__all__ = ["Address", "Alert", "Article", "Company", "Delivery", "Destination", "display_address",
           "Entry", "FeedSource", "FetchResult", "mask_secrets", "Match", "MatchResult",
           "name_key", "NewsbotError", "ParsedFeed", "SendResult", "Subscription", "Summary",
           "Topic", "Watchlist"]
