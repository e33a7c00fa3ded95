"""The database engine: SQLite (development, demo) or PostgreSQL (production).

Piccolo resolves every table's engine through ``piccolo_conf.DB``, which is built here
from ``DATABASE_URL``. SQLite gets WAL mode and a busy timeout; PostgreSQL a connection
pool that the application opens at startup and closes at shutdown.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

# How long a SQLite writer waits for the lock before giving up (seconds).
SQLITE_BUSY_TIMEOUT = 15.0
POSTGRES_POOL_SIZE = 10


def engine_from_url(url: str) -> Engine:
    """Build the Piccolo engine for a ``sqlite:///path`` or ``postgresql://`` URL."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=str(path), timeout=SQLITE_BUSY_TIMEOUT)
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    return PostgresEngine(config={"dsn": url})


def get_engine() -> Engine:
    """The engine every table uses (``piccolo_conf.DB``)."""
    from piccolo.engine import engine_finder

    engine = engine_finder()
    if engine is None:  # pragma: no cover - piccolo_conf always defines DB
        raise RuntimeError("piccolo_conf.DB is not configured")
    return engine


def is_sqlite(engine: Engine | None = None) -> bool:
    return isinstance(engine or get_engine(), SQLiteEngine)


def prepare_sqlite(engine: SQLiteEngine) -> None:
    """Switch the file to WAL so readers never block the single writer (persistent)."""
    with sqlite3.connect(engine.path, timeout=SQLITE_BUSY_TIMEOUT) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


async def open_database() -> None:
    """At startup: WAL for SQLite, the connection pool for PostgreSQL."""
    engine = get_engine()
    if isinstance(engine, SQLiteEngine):
        prepare_sqlite(engine)
    elif isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(max_size=POSTGRES_POOL_SIZE)


async def close_database() -> None:
    """At shutdown: close the PostgreSQL pool."""
    engine = get_engine()
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        await engine.close_connection_pool()


def write_transaction() -> Any:
    """A transaction for writes that read first.

    On SQLite it is ``BEGIN IMMEDIATE``: the write lock is taken at the start, so two
    read-then-write transactions never deadlock on lock upgrade (they queue on the busy
    timeout instead). PostgreSQL uses its ordinary transaction.
    """
    engine = get_engine()
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


async def ping() -> None:
    """Raise if the database cannot answer a trivial query."""
    await get_engine().run_ddl("SELECT 1")


async def pending_migrations() -> list[str]:
    """Migration ids (app:id) that have not run on this database yet."""
    from piccolo.apps.migrations.commands.base import BaseMigrationManager
    from piccolo.apps.migrations.tables import Migration
    from piccolo.conf.apps import Finder

    await Migration.create_table(if_not_exists=True).run()
    manager = BaseMigrationManager()
    pending = []
    for app_config in Finder().get_app_registry().app_configs.values():
        modules = manager.get_migration_modules(app_config.resolved_migrations_folder_path)
        ran = set(await Migration.get_migrations_which_ran(app_name=app_config.app_name))
        pending += [
            f"{app_config.app_name}:{mid}"
            for mid in manager.get_migration_ids(modules)
            if mid not in ran
        ]
    return pending


async def migrate() -> list[str]:
    """Run every pending migration; return the ids that ran. Raise on failure."""
    import io

    from piccolo.apps.migrations.commands.forwards import run_forwards

    pending = await pending_migrations()
    if not pending:
        return []
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        result = await run_forwards("all")
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}\n{output.getvalue()}")
    return pending


@contextlib.contextmanager
def unique_or(error: Exception) -> Iterator[None]:
    """Turn a unique-constraint refusal inside the block into ``error``.

    A check in Python before a write can race with another writer; the constraint
    decides, and the loser gets the same clear error as the check would give.
    """
    try:
        yield
    except Exception as exc:
        if is_unique_violation(exc):
            raise error from exc
        raise


def is_unique_violation(exc: BaseException) -> bool:
    """Did a unique constraint refuse the write (a race lost to another writer)?"""
    import asyncpg

    if isinstance(exc, asyncpg.exceptions.UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)
