"""`/news feeds import LINK`: a slash command carries no file, so the admin uploads the OPML file
to Slack and gives its link; this turns the link into an ``Attachment`` (``files.info``, scope
``files:read``). The bot token goes with the download only when the file's host is Slack's own
(the API's host or a subdomain of it, e.g. files.slack.com); the command layer downloads it
through the address guard, size-capped, without following redirects."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.grammar import unwrap_url
from bot.chat.types import Attachment

log = logging.getLogger(__name__)

_IMPORT = re.compile(r"^\s*feeds?\s+import\s+(\S+)\s*$", re.IGNORECASE)
_FILE_ID = re.compile(r"(?:^|/)(F[A-Z0-9]{6,})(?:/|$|\?)")


def file_id(text: str) -> str | None:
    """The Slack file id in ``feeds import LINK`` (a file's permalink, or the bare id)."""
    m = _IMPORT.match(text)
    if not m:
        return None
    found = _FILE_ID.search(unwrap_url(m.group(1)))
    return found.group(1) if found else None


def slack_host(url: str, api_url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    api = (urlsplit(api_url).hostname or "").lower()
    return bool(host) and bool(api) and (host == api or host.endswith("." + api))


async def slack_file(client: AsyncWebClient, text: str) -> Attachment | None:
    """The file a `feeds import LINK` command names, or None (not that command, unknown file)."""
    fid = file_id(text)
    if fid is None:
        return None
    try:
        info = (await client.files_info(file=fid)).get("file") or {}
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("files.info for %s failed (%s)", fid, exc.__class__.__name__)
        return None
    url = str(info.get("url_private_download") or info.get("url_private") or "")
    if not url:
        return None
    size = info.get("size")
    token = client.token or ""
    headers = ((("Authorization", f"Bearer {token}"),)
               if token and slack_host(url, client.base_url) else ())
    return Attachment(name=str(info.get("name") or fid), url=url,
                      size=size if isinstance(size, int) else None, headers=headers)
