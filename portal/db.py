"""The database engine: SQLite (development, demo) or PostgreSQL (production).

Piccolo resolves every table's engine through ``piccolo_conf.DB``, which is built here
from ``DATABASE_URL``. SQLite gets WAL mode and a busy timeout; PostgreSQL a connection
pool that the application opens at startup and closes at shutdown.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory

# How long a SQLite writer waits for the lock before giving up (seconds).
SQLITE_BUSY_TIMEOUT = 15.0
# While the application runs, statements outside a transaction reuse up to this many idle
# SQLite connections instead of opening one (and its thread) per statement.
SQLITE_IDLE_CONNECTIONS = 4
POSTGRES_POOL_SIZE = 10
# Connections the pool opens at startup; it grows to POSTGRES_POOL_SIZE under load
# (asyncpg's default would open all ten in every process at once).
POSTGRES_POOL_MIN = 2


class _ClosingTransaction(SQLiteTransaction):
    """Piccolo's SQLite transaction, closing its connection whatever fails, and taking
    its connection from the engine's idle ones (and handing it back) while the app runs.

    Piccolo leaves the connection (and its aiosqlite thread, which keeps the process
    from exiting) open when ``BEGIN`` fails — the database locked past the busy timeout,
    a full disk — or when the commit or rollback at the end fails; then it also leaves
    the task marked as inside the transaction, so the task's next one would reuse the
    dead connection (the ledger writer would fail every batch after one fault).
    """

    engine: PortalSQLiteEngine

    async def get_connection(self):  # type: ignore[no-untyped-def]
        return await self.engine.borrow()

    async def __aenter__(self) -> SQLiteTransaction:
        try:
            return await super().__aenter__()
        except BaseException:
            connection = getattr(self, "connection", None)
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.close()
            raise

    async def __aexit__(self, exception_type, exception, traceback) -> bool:  # type: ignore[no-untyped-def]
        if self._parent is not None:
            return exception is None
        try:
            # As Piccolo ends it, unless the block already did.
            if exception is not None:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        except BaseException:
            with contextlib.suppress(Exception):
                await self.connection.close()  # rolls back what was not committed
            with contextlib.suppress(ValueError, LookupError):
                self.engine.current_transaction.reset(self.context)
            raise
        self.engine.current_transaction.reset(self.context)
        await self.engine.give_back(self.connection)
        return exception is None


class PortalSQLiteEngine(SQLiteEngine):
    """SQLite with connections that are closed on every failure (see ``_ClosingTransaction``),
    and idle connections kept while the application runs.

    Piccolo opens a new aiosqlite connection — a thread, a file open, a pragma — for
    every statement outside a transaction and for every transaction, which made opening
    connections the largest cost of a simple page. Between ``open_database`` and
    ``close_database`` a statement or a transaction borrows an idle connection instead
    (opening one only when none is idle) and hands it back when it succeeded and left no
    transaction open; a connection on which anything failed is closed, never reused.
    Each statement outside a transaction is still committed on its own, as before.
    Outside that window (commands, scripts) nothing is kept.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._idle: list[Any] | None = None

    def keep_connections(self) -> None:
        """From now on, keep idle connections for statements outside a transaction."""
        if self._idle is None:
            self._idle = []

    async def release_connections(self) -> None:
        """Close the idle connections and keep none from now on."""
        idle, self._idle = self._idle or [], None
        for connection in idle:
            with contextlib.suppress(Exception):
                await connection.close()

    async def borrow(self):  # type: ignore[no-untyped-def]
        """An idle connection if one is kept, else a new one."""
        if self._idle:
            return self._idle.pop()
        return await self.get_connection()

    async def give_back(self, connection) -> None:  # type: ignore[no-untyped-def]
        """Keep a connection that is done (no transaction open) for the next statement,
        while the application runs and fewer than ``SQLITE_IDLE_CONNECTIONS`` are idle;
        close it otherwise."""
        idle = self._idle
        if (
            idle is not None
            and len(idle) < SQLITE_IDLE_CONNECTIONS
            and not connection.in_transaction
        ):
            idle.append(connection)
        else:
            await connection.close()

    async def _run_in_new_connection(  # type: ignore[no-untyped-def]
        self, query: str, args: list[Any] | None = None, query_type: str = "generic", table=None
    ):
        if self._idle is None:
            return await super()._run_in_new_connection(query, args, query_type, table)
        connection = await self.borrow()
        try:
            # As Piccolo does it: execute, commit, then read (INSERT … RETURNING).
            async with connection.execute(query, args or []) as cursor:
                await connection.commit()
                rows = await cursor.fetchall()
        except BaseException:
            with contextlib.suppress(Exception):
                await connection.close()
            raise
        await self.give_back(connection)
        return rows

    async def get_connection(self):  # type: ignore[no-untyped-def]
        import aiosqlite

        connection = await aiosqlite.connect(**self.connection_kwargs)
        try:
            connection.row_factory = dict_factory  # type: ignore[assignment]
            await connection.execute("PRAGMA foreign_keys = 1")
        except BaseException:
            await connection.close()
            raise
        return connection

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return _ClosingTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )


def engine_from_url(url: str) -> Engine:
    """Build the Piccolo engine for a ``sqlite:///path`` or ``postgresql://`` URL."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return PortalSQLiteEngine(path=str(path), timeout=SQLITE_BUSY_TIMEOUT)
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


class _OutageWithoutTrace(logging.Filter):
    """asyncpg's pool logs every failed reconnection with a full traceback. While the
    server is down that is expected, not a bug: keep the line and the error, drop the trace.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        from portal.errors import is_unavailable

        error = record.exc_info[1] if record.exc_info else None
        if error is not None and is_unavailable(error):
            record.msg, record.args = f"{record.getMessage()}: {error!r}", None
            record.exc_info = record.exc_text = None
        return True


async def open_database() -> None:
    """At startup: WAL for SQLite (and its idle connections), the pool for PostgreSQL."""
    engine = get_engine()
    if isinstance(engine, SQLiteEngine):
        prepare_sqlite(engine)
        if isinstance(engine, PortalSQLiteEngine):
            engine.keep_connections()
    elif isinstance(engine, PostgresEngine):
        pool_log = logging.getLogger("asyncpg.pool")
        if not any(isinstance(f, _OutageWithoutTrace) for f in pool_log.filters):
            pool_log.addFilter(_OutageWithoutTrace())
        await engine.start_connection_pool(min_size=POSTGRES_POOL_MIN, max_size=POSTGRES_POOL_SIZE)


async def close_database() -> None:
    """At shutdown: close SQLite's idle connections, or the PostgreSQL pool."""
    engine = get_engine()
    if isinstance(engine, PortalSQLiteEngine):
        await engine.release_connections()
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


# A campaign's votes (PostgreSQL advisory lock namespace "Vote", keyed by the campaign):
# every ledger batch and every change of the campaign's phase or voting window holds it,
# so a vote is recorded before such a change or is judged by it.
VOTES_LOCK = 0x566F7465


async def advisory_lock(namespace: int, key: int) -> None:
    """Inside a write transaction: hold the lock ``(namespace, key)`` until it ends. SQLite
    needs none: its single ``IMMEDIATE`` writer already runs these one at a time."""
    if not is_sqlite():
        await get_engine().run_ddl(f"SELECT pg_advisory_xact_lock({int(namespace)}, {int(key)})")


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
