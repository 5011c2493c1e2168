"""Slack installations (one per workspace), the OAuth ``state`` values of installs in progress,
deleting a tenant's data, and the small ``app_state`` key-value table.

Tokens are stored as the caller gives them (the Slack adapter encrypts them first when a key is
set) and never logged. Removing an installation (``app_uninstalled``, ``tokens_revoked``) drops
its tokens and makes the workspace's destinations wait, their alerts kept; saving it again (a
reinstall) clears the wait, so held alerts go out on the next delivery round.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from bot.domain.installation import SlackInstallation
from bot.storage.sql.base import StoreBase
from bot.storage.sql.tables import (
    app_state,
    audit_log,
    deliveries,
    destinations,
    follows,
    slack_installations,
    slack_oauth_states,
    subscriptions,
    tenants,
    watches,
)
from bot.storage.sql.tenants import make_own_watchlist

DELETED = "tenant.deleted"  # the audit action that records a deletion: kept by the next one
_COLUMNS = {  # record field -> column
    "team_id": "team_id", "tenant": "tenant_id", "bot_token": "bot_token", "bot_id": "bot_id",
    "bot_user_id": "bot_user_id", "bot_scopes": "bot_scopes", "team_name": "team_name",
    "enterprise_id": "enterprise_id", "app_id": "app_id",
    "bot_refresh_token": "bot_refresh_token", "bot_token_expires_at": "bot_token_expires_at",
    "installer_user_id": "installer_user_id", "installed_at": "installed_at",
    "removed_at": "removed_at",
}


class InstallationStore(StoreBase):
    # --- installations ----------------------------------------------------------------------------
    async def save_installation(self, install: SlackInstallation, now: datetime) -> str:
        """Insert or update the workspace's installation; ``"new"``, ``"reinstalled"`` (it had
        been removed: its destinations stop waiting) or ``"updated"`` (e.g. a rotated token)."""
        values = {col: getattr(install, field) for field, col in _COLUMNS.items()}
        values.update(updated_at=now, removed_at=None)
        async with self.tx() as conn:
            before = (await conn.execute(
                select(slack_installations.c.removed_at, slack_installations.c.installed_at)
                .where(slack_installations.c.team_id == install.team_id))).first()
            if before is None:
                values["installed_at"] = install.installed_at or now
                await conn.execute(slack_installations.insert().values(**values))
                return "new"
            if before.removed_at is not None:
                values["installed_at"] = now
            else:
                values.pop("installed_at")
            await conn.execute(update(slack_installations).where(
                slack_installations.c.team_id == install.team_id).values(**values))
            if before.removed_at is None:
                return "updated"
            await conn.execute(update(destinations).where(
                destinations.c.tenant_id == install.tenant).values(waiting_reason=None,
                                                                    paused_until=None))
            return "reinstalled"

    async def find_installation(self, team_id: str) -> SlackInstallation | None:
        """The workspace's installation, removed or not; None if it never installed the app."""
        async with self.tx() as conn:
            row = (await conn.execute(select(slack_installations).where(
                slack_installations.c.team_id == team_id))).mappings().first()
        if row is None:
            return None
        return SlackInstallation(**{field: row[col] for field, col in _COLUMNS.items()})

    async def remove_installation(self, team_id: str, now: datetime, reason: str) -> bool:
        """The app was uninstalled or its tokens revoked: forget the tokens, mark the
        installation removed and make the workspace's destinations wait (``reason``), their
        alerts kept. True if it was installed until now."""
        async with self.tx() as conn:
            tenant = (await conn.execute(
                update(slack_installations).where(slack_installations.c.team_id == team_id,
                                                  slack_installations.c.removed_at.is_(None))
                .values(removed_at=now, updated_at=now, bot_token=None, bot_refresh_token=None,
                        bot_token_expires_at=None)
                .returning(slack_installations.c.tenant_id))).scalar()
            if tenant is None:
                return False
            await conn.execute(update(destinations).where(destinations.c.tenant_id == tenant)
                               .values(waiting_reason=reason))
        return True

    # --- OAuth state (one use, expiring) ---------------------------------------------------------
    async def issue_oauth_state(self, state: str, expires_at: datetime, now: datetime) -> None:
        async with self.tx() as conn:
            await conn.execute(delete(slack_oauth_states).where(
                slack_oauth_states.c.expires_at <= now))
            await conn.execute(slack_oauth_states.insert().values(state=state,
                                                                  expires_at=expires_at))

    async def consume_oauth_state(self, state: str, now: datetime) -> bool:
        """True once for a state issued here and not expired; every later call is False."""
        async with self.tx() as conn:
            result = await conn.execute(delete(slack_oauth_states).where(
                slack_oauth_states.c.state == state, slack_oauth_states.c.expires_at > now))
        return result.rowcount == 1

    # --- small state the adapters keep ------------------------------------------------------------
    async def get_state(self, key: str) -> str | None:
        async with self.tx() as conn:
            return (await conn.execute(select(app_state.c.value).where(
                app_state.c.key == key))).scalar()

    async def set_state(self, key: str, value: str, now: datetime) -> None:
        async with self.tx() as conn:
            changed = (await conn.execute(update(app_state).where(app_state.c.key == key)
                                          .values(value=value, updated_at=now))).rowcount
            if not changed:
                await conn.execute(self.insert_ignore(app_state, "key").values(
                    key=key, value=value, updated_at=now))

    # --- a tenant's data, gone -------------------------------------------------------------------
    async def delete_tenant(self, tenant: str) -> dict[str, int]:
        """Delete everything stored for ``tenant``: watchlist, follows, destinations with their
        subscriptions and alerts, audit entries (but the records of earlier deletions,
        ``DELETED``) and its Slack installation. Feeds and articles are shared and stay.
        Returns how many rows of each kind were deleted (all zero: nothing was stored)."""
        dest_ids = select(destinations.c.id).where(destinations.c.tenant_id == tenant)
        steps: list[tuple[str, Any]] = [
            ("alerts", delete(deliveries).where(deliveries.c.destination_id.in_(dest_ids))),
            ("subscriptions",
             delete(subscriptions).where(subscriptions.c.destination_id.in_(dest_ids))),
            ("destinations", delete(destinations).where(destinations.c.tenant_id == tenant)),
            ("watches", delete(watches).where(watches.c.tenant_id == tenant)),
            ("follows", delete(follows).where(follows.c.tenant_id == tenant)),
            ("audit entries", delete(audit_log).where(audit_log.c.tenant_id == tenant,
                                                      audit_log.c.action != DELETED)),
            ("installations", delete(slack_installations).where(
                slack_installations.c.tenant_id == tenant)),
        ]
        counts: dict[str, int] = {}
        async with self.tx() as conn:
            # tenants that still read this one's watchlist get their own copy first
            for (child,) in (await conn.execute(select(tenants.c.id).where(
                    tenants.c.watch_parent == tenant))).all():
                await make_own_watchlist(conn, child)
            for name, statement in steps:
                counts[name] = (await conn.execute(statement)).rowcount
            counts["tenant"] = (await conn.execute(
                delete(tenants).where(tenants.c.id == tenant))).rowcount
        return counts

