"""The database engines: SQLite in WAL with IMMEDIATE writes, PostgreSQL with a pool."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from portal import campaigns
from portal.audit import Actor
from portal.db import get_engine, pending_migrations
from portal.tables import Campaign
from tests.conftest import running

ACTOR = Actor.command_line()


def _input(slug: str) -> campaigns.CampaignInput:
    return campaigns.parse_campaign(
        {"slug": slug, "title": "测试活动", "year": "2024", "notice_days": "7"}
    )


async def test_migrations_are_all_applied(db: None) -> None:
    assert await pending_migrations() == []


async def test_engine_is_prepared_at_startup_and_released_at_shutdown(app) -> None:  # type: ignore[no-untyped-def]
    engine = get_engine()
    async with running(app):
        if isinstance(engine, SQLiteEngine):
            with sqlite3.connect(engine.path) as conn:
                assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        else:
            assert isinstance(engine, PostgresEngine)
            assert engine.pool is not None
    if isinstance(engine, PostgresEngine):
        assert engine.pool is None


async def test_concurrent_read_then_write_transactions_do_not_deadlock(db: None) -> None:
    # Both read "is the slug free?" then insert: IMMEDIATE (SQLite) serialises them,
    # the unique index backs the rule, and the loser gets a clear validation error.
    results = await asyncio.gather(
        *(campaigns.create_campaign(ACTOR, _input("same-slug")) for _ in range(5)),
        return_exceptions=True,
    )
    created = [r for r in results if isinstance(r, Campaign)]
    refused = [r for r in results if isinstance(r, campaigns.ValidationFailed)]
    assert len(created) == 1
    assert len(refused) == 4, results
    assert all(r.errors == {"slug": "该网址标识已被使用。"} for r in refused)
    assert await Campaign.count().where(Campaign.slug == "same-slug").run() == 1


async def test_slug_is_unique_in_the_database(db: None) -> None:
    await Campaign.insert(Campaign(slug="dup", title="a", year=2024)).run()
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        await Campaign.insert(Campaign(slug="dup", title="b", year=2024)).run()
