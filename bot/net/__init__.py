"""Network I/O: the feed fetcher (fetcher), the SSRF guard for untrusted URLs (netguard) and the
one reader of Retry-After answers (retry_after)."""

from bot.net.fetcher import Fetcher
from bot.net.netguard import NetGuard, vet_url

__all__ = ["Fetcher", "NetGuard", "vet_url"]
