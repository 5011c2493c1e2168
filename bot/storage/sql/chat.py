"""The queries the chat command layer needs: one watch entry at a time, a tenant's feed follows and
their health, stored articles by URL or age, and a story's deliveries within one tenant.

Every query is scoped to one tenant: nothing here lets one workspace read another's state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update

from bot.domain.article import Article
from bot.domain.watchlist import name_key
from bot.storage.records import StoredArticle
from bot.storage.sql.base import StoreBase
from bot.storage.sql.tables import (
    articles,
    feeds,
    follows,
    watches,
)
from bot.storage.sql.tenants import make_own_watchlist, watch_reader


class ChatStore(StoreBase):
    # --- watch entries, one at a time -------------------------------------------------------------
    async def put_watch(self, tenant: str, kind: str, spec: dict[str, Any], now: datetime
                        ) -> dict[str, Any] | None:
        """Add or replace the ``kind`` entry named ``spec["name"]``; returns the previous spec."""
        folded = name_key(spec["name"])
        where = (watches.c.tenant_id == tenant, watches.c.kind == kind, watches.c.folded == folded)
        async with self.tx() as conn:
            await make_own_watchlist(conn, tenant)
            old = (await conn.execute(select(watches.c.spec).where(*where))).scalar()
            if old is not None:
                await conn.execute(update(watches).where(*where).values(
                    name=spec["name"], spec=spec, updated_at=now))
                return dict(old)
            position = (await conn.execute(select(func.max(watches.c.position)).where(
                watches.c.tenant_id == tenant))).scalar()
            await conn.execute(watches.insert().values(
                tenant_id=tenant, kind=kind, name=spec["name"], folded=folded, spec=spec,
                position=(position or 0) + 1, updated_at=now))
        return None

    async def remove_watch(self, tenant: str, kind: str, name: str) -> dict[str, Any] | None:
        """Delete the entry; returns its spec, or None when there was none."""
        where = (watches.c.tenant_id == tenant, watches.c.kind == kind,
                 watches.c.folded == name_key(name))
        async with self.tx() as conn:
            await make_own_watchlist(conn, tenant)
            old = (await conn.execute(select(watches.c.spec).where(*where))).scalar()
            if old is not None:
                await conn.execute(delete(watches).where(*where))
        return dict(old) if old is not None else None

    async def count_watches(self, tenant: str) -> int:
        async with self.tx() as conn:
            return int((await conn.execute(select(func.count()).select_from(watches).where(
                watches.c.tenant_id == watch_reader(tenant)))).scalar_one())

    # --- feed follows -----------------------------------------------------------------------------
    async def count_follows(self, tenant: str) -> int:
        async with self.tx() as conn:
            return int((await conn.execute(select(func.count()).select_from(follows).where(
                follows.c.tenant_id == tenant))).scalar_one())

    # --- stored articles --------------------------------------------------------------------------
    def _article_query(self, tenant: str) -> Any:
        title = func.coalesce(func.nullif(follows.c.title, ""), func.nullif(feeds.c.title, ""),
                              feeds.c.url)
        return (select(articles, feeds.c.url.label("feed_url"), title.label("feed_title"))
                .join(feeds, feeds.c.id == articles.c.feed_id)
                .join(follows, (follows.c.feed_id == feeds.c.id)
                      & (follows.c.tenant_id == tenant)))

    async def find_articles(self, tenant: str, urls: list[str], stories: list[str],
                            limit: int = 10) -> list[StoredArticle]:
        """Articles of the tenant's followed feeds whose link or story key is one of these."""
        query = self._article_query(tenant).where(or_(
            articles.c.url.in_(urls), articles.c.story.in_(stories))
        ).order_by(articles.c.seen_at, articles.c.id).limit(limit)
        return await self._stored(query)

    async def recent_articles(self, tenant: str, since: datetime, limit: int, *,
                              older_than: tuple[datetime, int] | None = None
                              ) -> list[StoredArticle]:
        """Articles of followed feeds first seen at or after ``since``, newest first; one page
        of ``limit``, after ``older_than`` (the ``(seen_at, row_id)`` of the previous page's
        last article) if given."""
        query = self._article_query(tenant).where(articles.c.seen_at >= since)
        if older_than is not None:
            seen_at, row_id = older_than
            query = query.where(or_(articles.c.seen_at < seen_at, and_(
                articles.c.seen_at == seen_at, articles.c.id < row_id)))
        query = query.order_by(articles.c.seen_at.desc(), articles.c.id.desc()).limit(limit)
        return await self._stored(query)

    async def _stored(self, query: Any) -> list[StoredArticle]:
        async with self.tx() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [StoredArticle(
            Article(key=r["key"], story=r["story"], feed_url=r["feed_url"], url=r["url"],
                    title=r["title"] or "", text=r["text"] or "", published=r["published_at"]),
            feed_id=r["feed_id"], feed_title=r["feed_title"], seen_at=r["seen_at"], row_id=r["id"])
            for r in rows]

    # --- deliveries and subscriptions -------------------------------------------------------------
