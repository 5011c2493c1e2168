"""Slack for several workspaces, piece by piece: tokens sealed at rest, bot token rotation against
the fake Slack, destinations of the operator's config, `newsbot tenant delete`, and the manifest."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet
from fakes.fake_slack import FakeSlack
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.cipher import TokenCipher
from bot.adapters.slack.installations import SqlInstallationStore, WorkspaceTokens
from bot.adapters.slack.oauth import SCOPES
from bot.cli import main
from bot.cli.tenants import delete_tenant
from bot.domain.alert import Subscription
from bot.domain.errors import ConfigError, NotSentError
from bot.domain.watchlist import Watchlist
from bot.storage import Storage, open_storage

KEY = Fernet.generate_key().decode()


def test_tokens_are_sealed_with_the_key_and_refused_without_it() -> None:
    sealed = TokenCipher(KEY).seal("xoxb-secret-1")
    assert sealed is not None and sealed.startswith("fernet:") and "xoxb" not in sealed
    assert TokenCipher(KEY).open(sealed) == "xoxb-secret-1"
    other = Fernet.generate_key().decode()
    assert TokenCipher(f"{other},{KEY}").open(sealed) == "xoxb-secret-1"  # key rotation
    with pytest.raises(ConfigError, match="NEWSBOT_TOKEN_KEY"):
        TokenCipher().open(sealed)
    with pytest.raises(ConfigError, match="NEWSBOT_TOKEN_KEY"):
        TokenCipher(other).open(sealed)
    with pytest.raises(ConfigError, match="NEWSBOT_TOKEN_KEY"):
        TokenCipher("not-a-key")
    # written before a key was set: still read, and sealed when next saved
    assert TokenCipher(KEY).open(TokenCipher().seal("xoxb-old")) == "xoxb-old"


async def test_an_expiring_bot_token_is_rotated_before_an_alert_and_saved(
        storage: Storage, slack: FakeSlack, clock) -> None:  # type: ignore[no-untyped-def]
    slack.tokens["xoxb-TR-old"] = "TR0001"
    slack.refresh["xoxe-TR-old"] = "TR0001"
    store = SqlInstallationStore(storage, TokenCipher(KEY), clock)
    await store.async_save_bot(Bot(
        team_id="TR0001", bot_token="xoxb-TR-old", bot_id="B1", bot_user_id="UBOT",
        bot_refresh_token="xoxe-TR-old", bot_token_expires_at=int(clock().timestamp()) + 60,
        installed_at=clock().timestamp()), installer="U1")
    await storage.ensure_tenant("slack:TR0001", clock())
    dest = await storage.ensure_destination("slack:TR0001", "slack:CR1", clock())
    tokens = WorkspaceTokens(store, client_id=slack.client_id, client_secret=slack.client_secret,
                             client=AsyncWebClient(base_url=slack.api_url))

    token, tenant = await tokens.token_for(dest)
    assert tenant == "slack:TR0001" and token != "xoxb-TR-old"
    assert slack.tokens[token] == "TR0001"
    (refresh,) = slack.calls_to("oauth.v2.access")
    assert refresh.args["grant_type"] == "refresh_token"
    stored = await storage.find_installation("TR0001")
    assert stored is not None and stored.bot_token is not None
    assert token not in stored.bot_token and stored.installer_user_id == "U1"
    assert stored.bot_token_expires_at is not None
    assert stored.bot_token_expires_at > clock() + timedelta(hours=11)
    # the new token lasts: the next alert uses it without another rotation
    assert await tokens.token_for(dest) == (token, tenant)
    assert len(slack.calls_to("oauth.v2.access")) == 1


async def test_config_destinations_use_slack_bot_token_or_wait(
        storage: Storage, slack: FakeSlack, clock) -> None:  # type: ignore[no-untyped-def]
    store = SqlInstallationStore(storage, TokenCipher(), clock)
    await storage.ensure_tenant("local", clock())
    local = await storage.ensure_destination("local", "slack:CLOCAL", clock())
    await storage.ensure_tenant("slack:TNONE", clock())
    never = await storage.ensure_destination("slack:TNONE", "slack:CN1", clock())
    client = AsyncWebClient(base_url=slack.api_url)
    with_token = WorkspaceTokens(store, client_id="1", client_secret="2", client=client,
                                 fallback="xoxb-operator")
    assert await with_token.token_for(local) == ("xoxb-operator", "local")
    without = WorkspaceTokens(store, client_id="1", client_secret="2", client=client)
    with pytest.raises(NotSentError, match="SLACK_BOT_TOKEN"):
        await without.token_for(local)
    with pytest.raises(NotSentError, match="installed in workspace TNONE"):
        await with_token.token_for(never)


async def _workspace_with_data(storage: Storage, team: str, clock) -> int:  # type: ignore[no-untyped-def]
    tenant = f"slack:{team}"
    await SqlInstallationStore(storage, TokenCipher(), clock).async_save_bot(Bot(
        team_id=team, bot_token=f"xoxb-{team}", bot_id="B1", bot_user_id="UBOT",
        installed_at=clock().timestamp()))
    await storage.ensure_tenant(tenant, clock(), defaults=Watchlist())
    await storage.put_watch(tenant, "company", {"name": f"Acme {team}"}, clock())
    dest = await storage.ensure_destination(tenant, f"slack:C{team}", clock())
    await storage.add_subscription(dest, Subscription(company=f"Acme {team}"), clock())
    return dest


async def test_tenant_delete_removes_one_workspace_and_leaves_an_audit_entry(
        storage: Storage, clock, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    await _workspace_with_data(storage, "TDEL1", clock)
    kept = await _workspace_with_data(storage, "TKEEP", clock)
    assert await delete_tenant(storage, "slack:TDEL1", actor="cli:ops") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["deleted"]["destinations"] == 1 and out["deleted"]["installations"] == 1
    assert await delete_tenant(storage, "slack:TDEL1", actor="cli:ops") == 1  # nothing left
    assert "nothing is stored" in capsys.readouterr().err

    assert await storage.find_installation("TDEL1") is None
    assert await storage.destinations("slack:TDEL1", active_only=False) == ()
    assert (await storage.watchlist("slack:TDEL1")).companies == ()
    (entry,) = await storage.audit_entries("slack:TDEL1")
    assert (entry.action, entry.actor) == ("tenant.deleted", "cli:ops")
    # the other workspace is untouched
    assert await storage.find_installation("TKEEP") is not None
    (dest,) = await storage.destinations("slack:TKEEP")
    assert dest.id == kept and dest.subscriptions == (Subscription(company="Acme TKEEP"),)
    assert [c.name for c in (await storage.watchlist("slack:TKEEP")).companies] == ["Acme TKEEP"]


async def test_newsbot_tenant_delete_on_the_command_line(
        tmp_path: Path, clock, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path / 'newsbot.db'}"
    storage = await open_storage(url)
    try:
        await _workspace_with_data(storage, "TDEL1", clock)
    finally:
        await storage.dispose()
    assert await asyncio.to_thread(main, ["tenant", "delete", "slack:TDEL1", "--db", url]) == 0
    assert "deleted the data of slack:TDEL1" in capsys.readouterr().err
    assert await asyncio.to_thread(main, ["tenant", "delete", "local", "--db", url]) == 1
    assert "not a workspace or server" in capsys.readouterr().err


def test_the_manifest_asks_for_exactly_the_install_scopes_and_events() -> None:
    path = Path(__file__).resolve().parents[1] / "config" / "slack-manifest.yaml"
    manifest = yaml.safe_load(path.read_text())
    assert manifest["oauth_config"]["scopes"]["bot"] == list(SCOPES)
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert events == {"app_home_opened", "app_uninstalled", "tokens_revoked"}
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["org_deploy_enabled"] is False


async def test_several_workspaces_need_http_mode_and_say_so(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from bot.adapters.slack.app import start_slack
    from bot.cli.startup_log import slack_status
    from bot.config.settings import Settings

    monkeypatch.setenv("SLACK_CLIENT_ID", "111.222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "s3cret")
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    socket = Settings(slack_mode="socket")
    assert socket.slack_workspaces
    assert "NEWSBOT_SLACK_MODE=http" in slack_status(socket)
    assert await start_slack(socket, _NoCommands()) is None
    assert "NEWSBOT_SLACK_MODE=http" in caplog.text
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing")
    assert slack_status(Settings(slack_mode="http")) == "on (several workspaces, http mode)"
    monkeypatch.delenv("SLACK_CLIENT_SECRET")
    assert not Settings(slack_mode="http").slack_workspaces  # one workspace, as before


class _NoCommands:
    async def handle(self, invocation):  # type: ignore[no-untyped-def]
        raise AssertionError("no command expected")

    async def complete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return []


async def test_tokens_sealed_with_a_key_that_is_gone_make_alerts_wait_not_fail(
        storage: Storage, slack: FakeSlack, clock) -> None:  # type: ignore[no-untyped-def]
    sealed = SqlInstallationStore(storage, TokenCipher(KEY), clock)
    await sealed.async_save_bot(Bot(team_id="TK0001", bot_token="xoxb-TK", bot_id="B1",
                                    bot_user_id="UBOT", installed_at=clock().timestamp()))
    await storage.ensure_tenant("slack:TK0001", clock())
    dest = await storage.ensure_destination("slack:TK0001", "slack:CK1", clock())
    keyless = WorkspaceTokens(SqlInstallationStore(storage, TokenCipher(), clock),
                              client_id="1", client_secret="2",
                              client=AsyncWebClient(base_url=slack.api_url))
    with pytest.raises(NotSentError, match="NEWSBOT_TOKEN_KEY"):  # paused, no attempt counted
        await keyless.token_for(dest)
