"""`feeds import` from chat: an admin's uploaded OPML file, downloaded through the address guard
(size-capped, no redirects), every feed URL vetted like `feeds add`; through the real Slack app
(a file link resolved with files.info on the fake Web API) and the real Discord app command
(an attachment option), on real storage."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from aiohttp import web
from commands_helpers import DEFAULTS, fake_vetter
from fakes.fake_slack import TEAM, FakeSlack, fake_slack
from slack_sdk.web.async_client import AsyncWebClient
from test_adapters_discord import (  # noqa: F401 - fixtures
    ADMIN,
    MEMBER,
    TENANT,
    bot,
    fake,
    last_reply,
    payload,
)
from test_adapters_slack_app import SECRET, command_body, dispatch, sign

from bot.adapters.slack.app import build_slack_app
from bot.adapters.slack.files import file_id, slack_host
from bot.chat.base import Limits
from bot.chat.opml import MAX_OPML_BYTES
from bot.chat.service import CommandService
from bot.chat.types import Attachment, Invocation
from bot.config.settings import Settings
from bot.net.download import GuardedDownload
from bot.net.netguard import NetGuard

LOOPBACK = NetGuard(allow_networks=(ipaddress.ip_network("127.0.0.0/8"),))

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>From another reader</title></head><body>
  <outline text="Tech">
    <outline type="rss" text="Example News" xmlUrl="https://news.example.org/rss"/>
    <outline type="rss" text="Example Net" xmlUrl="https://feeds.example.net/atom.xml"/>
  </outline>
  <outline type="rss" text="Again" xmlUrl="https://news.example.org/rss"/>
  <outline type="rss" text="Inside" xmlUrl="https://intranet.example.org/rss"/>
  <outline type="rss" text="Local file" xmlUrl="file:///etc/passwd"/>
</body></opml>"""


def service(storage: Any, clock: Any, guard: NetGuard = LOOPBACK, **kw: Any) -> CommandService:
    return CommandService(storage, defaults=DEFAULTS, clock=clock, url_vetter=fake_vetter,
                          download=GuardedDownload(guard), **kw)


@pytest.fixture
async def files() -> AsyncIterator[dict[str, Any]]:
    """A loopback file server: /opml, /big (chunked, over the cap), /moved (a redirect)."""
    served: dict[str, Any] = {"hits": []}

    async def opml(request: web.Request) -> web.StreamResponse:
        served["hits"].append(request.path)
        return web.Response(body=OPML, content_type="text/x-opml")

    async def big(request: web.Request) -> web.StreamResponse:
        served["hits"].append(request.path)
        resp = web.StreamResponse()
        await resp.prepare(request)
        for _ in range(MAX_OPML_BYTES // 65536 + 2):
            await resp.write(b"<!-- padding -->" * 4096)
        return resp

    async def moved(request: web.Request) -> web.StreamResponse:
        served["hits"].append(request.path)
        return web.Response(status=302, headers={"Location": "/opml"})

    app = web.Application()
    app.router.add_get("/opml", opml)
    app.router.add_get("/big", big)
    app.router.add_get("/moved", moved)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    served["base"] = f"http://127.0.0.1:{port}"
    yield served
    await runner.cleanup()


def admin_import(url: str, size: int | None = None) -> Invocation:
    return Invocation(tenant="discord:1", platform="discord", channel="5", user="U9",
                      text="feeds import", is_admin=True,
                      attachment=Attachment(name="feeds.opml", url=url, size=size))


async def test_an_uploaded_file_adds_its_vetted_feeds_and_reports_the_rest(
        storage, clock, files) -> None:  # type: ignore[no-untyped-def]
    reply = await service(storage, clock).handle(admin_import(files["base"] + "/opml"))
    assert reply.ok
    follows = {f.url: f for f in await storage.feed_follows("discord:1")}
    assert set(follows) == {"https://news.example.org/rss", "https://feeds.example.net/atom.xml"}
    assert follows["https://news.example.org/rss"].title == "Example News"
    assert all(f.source == "chat" for f in follows.values())
    assert "now following 2 new feed(s)" in reply.text
    assert "intranet.example.org" in reply.text and "private" in reply.text  # vetted: refused
    assert "duplicate" in reply.text and "file:///etc/passwd" in reply.text
    audit = await storage.audit_entries("discord:1")
    assert sorted(e.target for e in audit if e.action == "feed.import") == sorted(follows)
    again = await service(storage, clock).handle(admin_import(files["base"] + "/opml"))
    assert "now following 0 new feed(s)" in again.text and "already followed" in again.text


async def test_the_tenant_feed_limit_holds(storage, clock, files) -> None:  # type: ignore[no-untyped-def]
    svc = service(storage, clock, limits=Limits(max_feeds=1))
    reply = await svc.handle(admin_import(files["base"] + "/opml"))
    assert len(await storage.feed_follows("discord:1")) == 1
    assert "limit of 1 feeds" in reply.text


async def test_the_download_itself_goes_through_the_address_guard(
        storage, clock, files) -> None:  # type: ignore[no-untyped-def]
    reply = await service(storage, clock, guard=NetGuard()).handle(
        admin_import(files["base"] + "/opml"))
    assert not reply.ok and "loopback" in reply.text
    assert files["hits"] == [] and await storage.feed_follows("discord:1") == []


async def test_too_large_redirected_or_missing_files_are_refused(
        storage, clock, files) -> None:  # type: ignore[no-untyped-def]
    svc = service(storage, clock)
    declared = await svc.handle(admin_import(files["base"] + "/opml", size=MAX_OPML_BYTES + 1))
    assert not declared.ok and "at most 1,048,576" in declared.text and files["hits"] == []
    streamed = await svc.handle(admin_import(files["base"] + "/big"))
    assert not streamed.ok and "larger than 1,048,576 bytes" in streamed.text
    moved = await svc.handle(admin_import(files["base"] + "/moved"))
    assert not moved.ok and "HTTP 302" in moved.text and "/opml" not in files["hits"]
    none = await svc.handle(Invocation(tenant="discord:1", platform="discord", channel="5",
                                       user="U9", text="feeds import", is_admin=True))
    assert not none.ok and "Attach the OPML file" in none.text
    assert await storage.feed_follows("discord:1") == []


async def test_members_cannot_import(storage, clock, files) -> None:  # type: ignore[no-untyped-def]
    inv = admin_import(files["base"] + "/opml")
    reply = await service(storage, clock).handle(Invocation(
        tenant=inv.tenant, platform="discord", channel="5", user="U2", text="feeds import",
        attachment=inv.attachment))
    assert not reply.ok and "admin" in reply.text.lower() and files["hits"] == []


# --- Slack: a file link ---------------------------------------------------------------------------
async def slack_news(storage: Any, clock: Any, slack: FakeSlack, text: str, user: str,
                     monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
    app = build_slack_app(Settings(), service(storage, clock), client=client, fast_reply=30)
    body = command_body(text, user=user)
    resp = await dispatch(app, body, sign(body))
    return "\n".join(b["text"]["text"] for b in json.loads(resp.body)["blocks"]
                     if b["type"] == "section")


async def test_slack_admin_imports_an_uploaded_file_by_its_link(
        storage, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    async with fake_slack() as slack:
        slack.add_user("UADMIN", is_admin=True)
        slack.add_user("UPLAIN")
        await _slack_import(storage, clock, slack, monkeypatch)


async def _slack_import(storage: Any, clock: Any, slack: FakeSlack,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    link = slack.add_file("F0OPML0001", "feeds.opml", OPML)
    shown = await slack_news(storage, clock, slack, f"feeds import <{link}>", "UPLAIN",
                             monkeypatch)
    assert "admin" in shown.lower() and not slack.calls_to("files.info")
    shown = await slack_news(storage, clock, slack, f"feeds import <{link}>", "UADMIN",
                             monkeypatch)
    assert "now following 2 new feed(s)" in shown
    assert len(await storage.feed_follows(f"slack:{TEAM}")) == 2
    unknown = await slack_news(storage, clock, slack, "feeds import F0NOSUCH01", "UADMIN",
                               monkeypatch)
    assert "Could not open" in unknown and "Copy link" in unknown


def test_slack_links_and_where_the_token_may_go() -> None:
    assert file_id("feeds import <https://t.slack.com/files/U1/F07ABC123/x.opml|x.opml>") \
        == "F07ABC123"
    assert file_id("feeds import F07ABC123") == "F07ABC123"
    assert file_id("feeds add https://t.slack.com/files/U1/F07ABC123/x") is None
    api = "https://slack.com/api/"
    assert slack_host("https://files.slack.com/files-pri/T1-F1/download/x.opml", api)
    assert not slack_host("https://files.slack.com.evil.example/x", api)
    assert not slack_host("https://cdn.discordapp.com/x", api)


# --- Discord: an attachment option ----------------------------------------------------------------
def with_attachment(data: dict[str, Any], url: str, size: int) -> dict[str, Any]:
    """Discord sends the option as an id and the file under data.resolved.attachments."""
    data["data"]["options"][0]["options"][0]["options"] = [
        {"type": 11, "name": "file", "value": "7001"}]
    data["data"]["resolved"] = {"attachments": {"7001": {
        "id": "7001", "filename": "feeds.opml", "size": size, "url": url, "proxy_url": url,
        "content_type": "text/x-opml"}}}
    return data


async def test_discord_admin_imports_an_attachment(bot, fake, storage, files,
                                                   monkeypatch) -> None:  # type: ignore[no-untyped-def]
    feeds = bot.tree.get_command("news-admin").get_command("feeds")  # type: ignore[union-attr]
    monkeypatch.setattr(feeds.service, "download", GuardedDownload(LOOPBACK))
    for perms in (MEMBER, ADMIN):
        data = with_attachment(payload("news-admin feeds import", perms=perms), files["base"]
                               + "/opml", len(OPML))
        await bot.tree._call(discord.Interaction(data=data, state=bot._connection))
    assert "now following 2 new feed(s)" in last_reply(fake)["content"]
    assert len(await storage.feed_follows(TENANT)) == 2
    assert files["hits"] == ["/opml"]  # the member's attempt downloaded nothing
