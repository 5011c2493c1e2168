"""`newsbot tenant delete TENANT`: delete everything stored for one workspace or server, audited.

For a Slack workspace (``slack:T…``) that removed the app, or one whose admin asks for its data
to go: its watchlist, follows, channels with their subscriptions and pending alerts, audit
entries and its installation (tokens). Feeds and articles are shared by every tenant and stay.
One audit entry records the deletion (who, when, how many rows) under the tenant's id.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.config.settings import Settings
from bot.domain.errors import NewsbotError

if TYPE_CHECKING:  # the parser imports this module: storage only when the command runs
    from bot.storage import Storage

PLATFORMS = ("slack:", "discord:")


def add_tenant_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tenant = sub.add_parser("tenant", help="one workspace's or server's data")
    tenant_sub = tenant.add_subparsers(dest="tenant_command", required=True)
    delete = tenant_sub.add_parser(
        "delete", help="delete everything stored for a tenant (slack:T…, discord:…), audited")
    delete.add_argument("tenant", help="e.g. slack:T0123ABCD or discord:123456789")
    delete.add_argument("--db", help="database URL")


async def cmd_tenant(args: argparse.Namespace, settings: Settings) -> int:
    from bot.cli.tools import open_existing_storage
    from bot.config.operator import LOCAL_TENANT
    from bot.storage.sql.db import upgrade

    tenant = args.tenant.strip()
    if tenant == LOCAL_TENANT or not tenant.startswith(PLATFORMS) or tenant in PLATFORMS:
        raise NewsbotError(f"{tenant!r} is not a workspace or server: give slack:TEAM_ID or "
                           "discord:SERVER_ID (the operator's own tenant is config/)")
    storage = await open_existing_storage(settings.database_url)
    try:
        await upgrade(storage.engine)  # a database from before the installations table
        return await delete_tenant(storage, tenant, actor=f"cli:{_user()}")
    finally:
        await storage.dispose()


async def delete_tenant(storage: Storage, tenant: str, *, actor: str) -> int:
    from bot.storage.sql.installations import DELETED

    counts = await storage.delete_tenant(tenant)
    if not any(counts.values()):
        print(f"newsbot: nothing is stored for {tenant}", file=sys.stderr)
        return 1
    await storage.audit(tenant, actor, DELETED, tenant, before=counts, after=None,
                        now=datetime.now(UTC))
    shown = ", ".join(f"{n} {what}" for what, n in counts.items() if n and what != "tenant")
    print(f"deleted the data of {tenant}: {shown or 'the tenant record'}", file=sys.stderr)
    print(json.dumps({"tenant": tenant, "deleted": counts}), file=sys.stdout)
    return 0


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a container: the uid then
        return "unknown"
