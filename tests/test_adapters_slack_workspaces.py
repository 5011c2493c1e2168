"""Slack for several workspaces, end to end: the OAuth v2 install of two workspaces against the
fake Slack Web API (``oauth.v2.access``, ``auth.test``), then signed slash commands from each
into the real bolt app over HTTP, alerts from a loopback feed, an uninstall and a reinstall.

Everything a workspace gets — command replies' admin checks, alerts, the did-it-land check —
must go out with that workspace's own token, and neither tenant may see the other's data.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import itertools
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from apphelpers import open_app
from cryptography.fernet import Fernet
from fakes.fake_slack import FakeSlack
from feedserver import FeedServer, Item, rss

from bot.adapters.slack.app import WORKING, SlackRuntime, start_slack
from bot.app import App
from bot.config.operator import DestinationSpec
from bot.domain.article import FeedSource
from bot.domain.watchlist import Company, Watchlist

SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
WATCHLIST = Watchlist(companies=(Company("Nvidia", aliases=("NVDA",)),))
_TRIGGERS = itertools.count(1)
_EVENTS = itertools.count(1)


def items(n: int) -> list[Item]:
    from datetime import UTC, datetime

    t0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # within the 3-day freshness gate of the clock
    return [Item(guid=f"g{i}", title=f"Nvidia news number {i}",
                 text=f"Nvidia said on day {i} that it would build a new plant.",
                 published=t0 + timedelta(days=i)) for i in range(n)]


def signed(body: str, content_type: str) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}",
            "content-type": content_type}


class Workspace:
    """One Slack workspace talking to the newsbot HTTP endpoint, as Slack would."""

    def __init__(self, team: str, channel: str, admin: str, http: aiohttp.ClientSession,
                 base: str, slack: FakeSlack) -> None:
        self.team, self.channel, self.admin = team, channel, admin
        self.http, self.base, self.slack = http, base, slack

    @property
    def tenant(self) -> str:
        return f"slack:{self.team}"

    def tokens(self) -> set[str]:
        return {t for t, team in self.slack.tokens.items() if team == self.team}

    async def install(self, code: str, *, expires_in: int | None = None) -> str:
        """The browser's side: open the install link, go to Slack, come back with the code."""
        async with self.http.get(f"{self.base}/slack/install") as resp:
            assert resp.status == 200
            page = await resp.text()
            cookie = resp.headers["Set-Cookie"].split(";")[0]
        link = html.unescape(re.search(r'href="(https://slack.com/oauth/v2/authorize[^"]+)"',
                                       page).group(1))
        query = parse_qs(urlsplit(link).query)
        assert query["client_id"] == [self.slack.client_id]
        assert set(query["scope"][0].split(",")) >= {"chat:write", "commands", "users:read"}
        state = query["state"][0]
        self.slack.install_code(code, self.team, installer=self.admin, expires_in=expires_in)
        async with self.http.get(f"{self.base}/slack/oauth_redirect",
                                 params={"code": code, "state": state},
                                 headers={"Cookie": cookie}) as resp:
            assert resp.status == 200, await resp.text()
        return state

    async def news(self, text: str, user: str | None = None) -> str:
        """``/news TEXT`` in this workspace's channel; the text of the answer."""
        name = f"r{next(_TRIGGERS)}"
        body = urlencode({
            "token": "legacy", "team_id": self.team, "team_domain": self.team.lower(),
            "channel_id": self.channel, "channel_name": "news", "user_id": user or self.admin,
            "user_name": "someone", "command": "/news", "text": text, "api_app_id": "A0NEWSBOT",
            "response_url": self.slack.response_url(name), "trigger_id": f"1.2.{name}"})
        headers = signed(body, "application/x-www-form-urlencoded")
        async with self.http.post(f"{self.base}/slack/events", data=body,
                                  headers=headers) as resp:
            assert resp.status == 200
            answer = json.loads(await resp.text() or "{}")
        if answer.get("text") == WORKING:
            await self.slack.wait_for(lambda: any(r["url"].endswith(name)
                                                 for r in self.slack.responses))
            answer = next(r for r in self.slack.responses if r["url"].endswith(name))
        return "\n".join(b["text"]["text"] for b in answer.get("blocks", ())
                         if b["type"] == "section") or str(answer.get("text", ""))

    async def event(self, kind: str, **fields: Any) -> int:
        body = json.dumps({"token": "legacy", "team_id": self.team, "api_app_id": "A0NEWSBOT",
                           "type": "event_callback", "event_id": f"Ev{next(_EVENTS)}",
                           "event_time": int(time.time()), "event": {"type": kind, **fields}})
        async with self.http.post(f"{self.base}/slack/events", data=body,
                                  headers=signed(body, "application/json")) as resp:
            return resp.status


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, slack: FakeSlack) -> str:
    key = Fernet.generate_key().decode()
    for name, value in {"SLACK_CLIENT_ID": slack.client_id,
                        "SLACK_CLIENT_SECRET": slack.client_secret,
                        "SLACK_SIGNING_SECRET": SECRET, "NEWSBOT_SLACK_MODE": "http",
                        "NEWSBOT_SLACK_PORT": "0", "NEWSBOT_SLACK_API_URL": slack.api_url,
                        "NEWSBOT_TOKEN_KEY": key}.items():
        monkeypatch.setenv(name, value)
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return key


@pytest.fixture
async def newsbot(env: str, db_url, tmp_path: Path, clock, feed_server: FeedServer
                  ) -> AsyncIterator[App]:  # type: ignore[no-untyped-def]
    url = feed_server.set("/feed.xml", rss(items(2)))
    app = await open_app(db_url, tmp_path, clock, feeds=[FeedSource(url, "Test News")],
                         watchlist=WATCHLIST, sinks={},
                         destinations=[DestinationSpec("console", ())],
                         fetch_allow_networks="127.0.0.0/8")
    try:
        yield app
    finally:
        await app.close()


@pytest.fixture
async def server(newsbot: App) -> AsyncIterator[SlackRuntime]:
    runtime = await start_slack(newsbot.settings, newsbot.commands, host="127.0.0.1",
                                workspaces=newsbot.slack_workspaces)
    assert runtime is not None and runtime.mode == "http"
    try:
        yield runtime
    finally:
        await runtime.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def workspaces(slack: FakeSlack, server: SlackRuntime, http: aiohttp.ClientSession
               ) -> tuple[Workspace, Workspace]:
    base = f"http://127.0.0.1:{server.port}"
    slack.add_user("UA1", team="TA0001", is_admin=True)
    slack.add_user("UA2", team="TA0001")
    slack.add_user("UB1", team="TB0002", is_owner=True)
    return (Workspace("TA0001", "CA1", "UA1", http, base, slack),
            Workspace("TB0002", "CB1", "UB1", http, base, slack))


def tokens_used(slack: FakeSlack, method: str, **match: str) -> set[str | None]:
    return {c.token for c in slack.calls_to(method)
            if all(c.args.get(k) == v for k, v in match.items())}


async def follow_feed(newsbot: App, ws: Workspace, url: str, clock) -> None:  # type: ignore[no-untyped-def]
    """The workspace follows the test's feed (set up in storage: `/news feeds add` rightly
    refuses a loopback URL)."""
    feed_id = await newsbot.storage.ensure_feed(FeedSource(url), clock())
    await newsbot.storage.follow(ws.tenant, feed_id, title="", backfill=0, source="opml",
                                 now=clock())


async def removed(newsbot: App, team: str) -> None:
    """Wait until the event (handled after its ack, as bolt does) marked the workspace removed;
    the deadline only bounds a hang."""
    async with asyncio.timeout(10):
        while True:
            install = await newsbot.storage.find_installation(team)
            if install is not None and install.removed_at is not None:
                return
            await asyncio.sleep(0.02)


async def new_item(newsbot: App, feed_server: FeedServer, clock, n: int) -> None:  # type: ignore[no-untyped-def]
    feed_server.set("/feed.xml", rss(items(n)))
    clock.advance(minutes=20)
    await newsbot.cycle()


async def test_two_workspaces_install_command_and_get_alerts_each_with_its_own_token(
        newsbot: App, workspaces: tuple[Workspace, Workspace], slack: FakeSlack,
        feed_server: FeedServer, clock, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    a, b = workspaces
    await a.install("code-a")
    await b.install("code-b")
    (token_a,), (token_b,) = a.tokens(), b.tokens()
    # oauth.v2.access with the app's credentials, then auth.test with each new token
    assert len(slack.calls_to("oauth.v2.access")) == 2
    assert {token_a, token_b} <= tokens_used(slack, "auth.test")
    # the installer (first admin) of each sees the welcome in the App Home, in their workspace
    assert [(h["team"], h["user"]) for h in slack.homes] == [("TA0001", "UA1"), ("TB0002", "UB1")]
    assert "/news help" in json.dumps(slack.homes[0]["view"])

    # each workspace subscribes its channel (and follows the feed)
    assert "Nvidia" in await a.news("subscribe company Nvidia")
    assert "Nvidia" in await b.news("subscribe company Nvidia")
    for ws in (a, b):
        await follow_feed(newsbot, ws, feed_server.url("/feed.xml"), clock)
    assert "Test News" in await a.news("feeds list")
    # admin checks ran in each workspace with its own token
    assert tokens_used(slack, "users.info", user="UA1") == {token_a}
    assert tokens_used(slack, "users.info", user="UB1") == {token_b}
    # a plain member of A is no admin there
    assert "admin" in (await a.news("watch add company Acme", user="UA2")).lower()

    # neither tenant sees the other's data
    await b.news("watch add company Bravo Industries")
    assert "Bravo Industries" in await b.news("watch list")
    assert "Bravo Industries" not in await a.news("watch list")
    assert "CB1" not in await a.news("list") and "CA1" not in await b.news("list")

    await newsbot.cycle(all_feeds=True)  # first poll of the follows: nothing old is posted
    await new_item(newsbot, feed_server, clock, 3)
    (in_a,), (in_b,) = slack.posted("CA1"), slack.posted("CB1")
    assert in_a["team"] == "TA0001" and in_b["team"] == "TB0002"
    assert tokens_used(slack, "chat.postMessage", channel="CA1") == {token_a}
    assert tokens_used(slack, "chat.postMessage", channel="CB1") == {token_b}

    # tokens: encrypted at rest, never in a log line
    stored = await newsbot.storage.find_installation("TA0001")
    assert stored is not None and stored.bot_token is not None
    assert stored.bot_token.startswith("fernet:") and token_a not in stored.bot_token
    assert token_a not in caplog.text and token_b not in caplog.text


async def test_uninstall_keeps_the_pending_alerts_and_a_reinstall_sends_them(
        newsbot: App, workspaces: tuple[Workspace, Workspace], slack: FakeSlack,
        feed_server: FeedServer, clock) -> None:  # type: ignore[no-untyped-def]
    a, b = workspaces
    await a.install("code-a")
    await b.install("code-b")
    for ws in (a, b):
        await ws.news("subscribe company Nvidia")
        await follow_feed(newsbot, ws, feed_server.url("/feed.xml"), clock)
    await newsbot.cycle(all_feeds=True)

    (old_a,) = a.tokens()
    slack.revoke("TA0001")  # Slack revokes the tokens, then tells the app
    assert await a.event("app_uninstalled") == 200
    await removed(newsbot, "TA0001")
    assert await a.event("app_uninstalled") == 200  # a retried event changes nothing
    await new_item(newsbot, feed_server, clock, 3)
    assert len(slack.posted("CB1")) == 1 and slack.posted("CA1") == []
    pending = await newsbot.storage.delivery_states(tenant=a.tenant, status="pending")
    assert len(pending) == 1  # kept, waiting for the workspace to come back
    assert old_a not in tokens_used(slack, "chat.postMessage")
    status = await newsbot.storage.destination_status(pending[0].destination_id)
    assert status.waiting_reason and "reinstalled" in status.waiting_reason
    audit = [e.action for e in await newsbot.storage.audit_entries(a.tenant)]
    assert "slack.app_uninstalled" in audit

    await a.install("code-a-again")
    (new_a,) = a.tokens() - {old_a}
    clock.advance(minutes=1)
    report = await newsbot.deliver_due()
    assert report.sent == 1
    (alert,) = slack.posted("CA1")
    assert alert["team"] == "TA0001"
    assert tokens_used(slack, "chat.postMessage", channel="CA1") == {new_a}
    assert await newsbot.storage.delivery_states(tenant=a.tenant, status="pending") == []
    # the subscriptions and follows were kept across the reinstall
    assert "Nvidia" in await a.news("list")


async def test_tokens_revoked_for_the_bot_makes_the_workspace_wait(
        newsbot: App, workspaces: tuple[Workspace, Workspace], slack: FakeSlack) -> None:
    a, _ = workspaces
    await a.install("code-a")
    assert await a.event("tokens_revoked", tokens={"oauth": ["UA1"]}) == 200
    assert await a.event("tokens_revoked", tokens={"bot": ["UBOT"]}) == 200
    await removed(newsbot, "TA0001")
    install = await newsbot.storage.find_installation("TA0001")
    assert install is not None and install.bot_token is None
    actions = [e.action for e in await newsbot.storage.audit_entries(a.tenant)]
    assert actions.count("slack.tokens_revoked") == 1  # the user token's event changed nothing


async def test_the_install_state_is_checked_and_used_once(
        workspaces: tuple[Workspace, Workspace], slack: FakeSlack,
        http: aiohttp.ClientSession) -> None:
    a, _ = workspaces
    state = await a.install("code-a")
    slack.install_code("code-x", "TX0003")
    redirect = f"{a.base}/slack/oauth_redirect"
    cookie = {"Cookie": f"slack-app-oauth-state={state}"}
    async with http.get(redirect, params={"code": "code-x", "state": state},
                        headers=cookie) as resp:  # the same state again
        assert resp.status == 401
    async with http.get(redirect, params={"code": "code-x", "state": state}) as resp:
        assert resp.status == 400  # no cookie: not the browser that started the install
    async with http.get(redirect, params={"code": "code-x", "state": "made-up"},
                        headers={"Cookie": "slack-app-oauth-state=made-up"}) as resp:
        assert resp.status == 401
    assert "TX0003" not in slack.tokens.values()


async def test_with_token_rotation_a_command_refreshes_the_expiring_token_first(
        newsbot: App, workspaces: tuple[Workspace, Workspace], slack: FakeSlack) -> None:
    a, _ = workspaces
    await a.install("code-a", expires_in=60)  # expires well within bolt's 2-hour margin
    (first,) = a.tokens()
    assert "subscriptions" in (await a.news("list")).lower()
    (rotated,) = a.tokens() - {first}
    refresh = [c for c in slack.calls_to("oauth.v2.access")
               if c.args.get("grant_type") == "refresh_token"]
    assert len(refresh) == 1
    assert tokens_used(slack, "users.info", user="UA1") == {rotated}  # the admin check
    stored = await newsbot.storage.find_installation("TA0001")
    assert stored is not None and stored.bot_refresh_token is not None
    # the sink reads the rotated token from the database: no second refresh
    await newsbot.storage.ensure_tenant(a.tenant, newsbot.clock())
    dest = await newsbot.storage.ensure_destination(a.tenant, "slack:CA1", newsbot.clock())
    assert newsbot.slack_workspaces is not None
    assert await newsbot.slack_workspaces.tokens.token_for(dest) == (rotated, a.tenant)
    assert len([c for c in slack.calls_to("oauth.v2.access")
                if c.args.get("grant_type") == "refresh_token"]) == 1
