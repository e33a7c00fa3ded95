"""Test set-up: a fresh database per run (SQLite or PostgreSQL), real services, app clients.

The suite runs once per database: ``pytest --db sqlite`` and ``pytest --db postgres``
(``make test`` runs both). The database is created before any portal module is
imported — Piccolo binds its engine from ``DATABASE_URL`` — and dropped at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import os
import secrets
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests import services

_STATE: dict = {"cleanup": [], "skip_reason": None}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgres"],
        default=os.environ.get("PORTAL_TEST_DB", "sqlite"),
        help="database engine for this run (default: sqlite)",
    )


# Tests of one engine only, deselected (not skipped) in the other engine's pass: those
# that need PostgreSQL and Redis whatever --db says (several server processes sharing one
# database, a PostgreSQL outage), and SQLite's own faults (a locked or full file).
ENGINE_MARKERS = {
    "postgres_only": (
        "postgres_only: needs PostgreSQL (and Redis) whatever --db says; deselected in the "
        "SQLite pass"
    ),
    "sqlite_only": "sqlite_only: a fault of SQLite itself; deselected in the PostgreSQL pass",
}


# Fixtures through which a test uses a database of this run's engine: the suite's own
# (``schema``, and ``db`` through it) or databases it makes itself (``db_engine``: the
# CLI's, real deployments', the browser tests' server's). A test that uses none gives the
# same answer on either engine: it runs in the SQLite pass only.
DATABASE_FIXTURES = {"schema", "db_engine"}
BROWSER_TESTS = "tests/e2e/"
# The browser test that goes through every page (axe-core) runs in the PostgreSQL pass,
# against a server on PostgreSQL; the flows in the SQLite pass. One pass drives each
# (Chromium's CPU would be spent twice on the same pages), and the two passes, run at
# once, take about as long as each other.
BROWSER_TESTS_ON_POSTGRES = ("tests/e2e/test_accessibility.py",)
NO_DATABASE = (
    "tests that use no database (no db, schema or db_engine fixture), run in the SQLite pass"
)


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = [f"portal test database: {config.getoption('--db')} ({_STATE.get('db_origin', '')})"]
    other = "postgres_only" if config.getoption("--db") == "sqlite" else "sqlite_only"
    lines.append(f"deselected in this pass: tests marked {ENGINE_MARKERS[other]}")
    if config.getoption("--db") == "postgres":
        lines.append(f"deselected in this pass: {NO_DATABASE}")
        lines.append(
            "deselected in this pass: the browser tests but "
            f"{', '.join(BROWSER_TESTS_ON_POSTGRES)} (those run in the SQLite pass)"
        )
    else:
        lines.append(f"deselected in this pass: {', '.join(BROWSER_TESTS_ON_POSTGRES)}")
    return lines


def uses_database(item: pytest.Item) -> bool:
    """Whether the test's fixture closure reaches a database of this run's engine."""
    return not DATABASE_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))


def pytest_configure(config: pytest.Config) -> None:
    for line in ENGINE_MARKERS.values():
        config.addinivalue_line("markers", line)
    if hasattr(config, "workerinput"):  # pragma: no cover - no xdist here
        return
    tmp = Path(tempfile.mkdtemp(prefix="portal-test-"))
    _STATE["cleanup"].append(lambda: shutil.rmtree(tmp, ignore_errors=True))
    os.environ["PORTAL_VAR_DIR"] = str(tmp / "var")
    os.environ["PORTAL_ENV"] = "test"
    os.environ["PORTAL_SECRET_KEY"] = secrets.token_urlsafe(48)
    os.environ.pop("PORTAL_CAPTCHA_TEST_ANSWER", None)
    os.environ.pop("PORTAL_TRUSTED_PROXIES", None)
    if config.getoption("--db") == "sqlite":
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'test.sqlite3'}"
        os.environ["PORTAL_E2E_DATABASE_URL"] = f"sqlite:///{tmp / 'e2e.sqlite3'}"
        _STATE["db_origin"] = str(tmp)
        return
    service = services.find_postgres()
    _STATE["cleanup"].append(service.stop)
    if service.url is None:
        if services.in_ci():
            raise pytest.UsageError(f"CI=true and PostgreSQL is unavailable: {service.reason}")
        _STATE["skip_reason"] = f"PostgreSQL unavailable: {service.reason}"
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp / 'unused.sqlite3'}"
        return
    names = [f"portal_test_{uuid.uuid4().hex[:12]}", f"portal_e2e_{uuid.uuid4().hex[:12]}"]
    services.admin_sql(service.url, *(f'CREATE DATABASE "{name}"' for name in names))
    _STATE["cleanup"].append(
        lambda: services.admin_sql(
            service.url, *(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names)
        )
    )
    _STATE["postgres"] = service.url
    os.environ["DATABASE_URL"] = services.with_database(service.url, names[0])
    os.environ["PORTAL_E2E_DATABASE_URL"] = services.with_database(service.url, names[1])
    _STATE["db_origin"] = service.origin


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Browser tests last: Playwright's sync API runs its own event loop while a browser
    # is open, which must not overlap the async tests' loop.
    items.sort(key=lambda item: BROWSER_TESTS in str(item.path))
    # Deselected, not skipped: in the other engine's pass they cannot run, and a test that
    # uses no database runs once (see the header).
    postgres = config.getoption("--db") == "postgres"
    other = "sqlite_only" if postgres else "postgres_only"

    def deselect(item: pytest.Item) -> bool:
        if item.get_closest_marker(other):
            return True
        if BROWSER_TESTS in str(item.path):
            return postgres != str(item.path).endswith(BROWSER_TESTS_ON_POSTGRES)
        return postgres and not item.get_closest_marker("postgres_only") and not uses_database(item)

    deselected = [item for item in items if deselect(item)]
    if deselected:
        items[:] = [item for item in items if not deselect(item)]
        config.hook.pytest_deselected(items=deselected)
    if _STATE["skip_reason"]:
        marker = pytest.mark.skip(reason=_STATE["skip_reason"])
        for item in items:
            item.add_marker(marker)


def pytest_unconfigure(config: pytest.Config) -> None:
    for fn in reversed(_STATE["cleanup"]):
        try:
            fn()
        except Exception as exc:  # report, but let the other clean-ups run
            print(f"cleanup failed: {exc!r}")


# --- database ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def schema() -> None:
    """Migrate the run's database once, as `portal migrate` would."""
    if _STATE["skip_reason"]:
        return
    # As in every process that serves or runs a command: the plugins register their
    # phase guards and entry steps when the application is imported.
    import portal.app  # noqa: F401
    from portal.db import migrate

    await migrate()


@pytest.fixture(scope="session")
def db_engine(request: pytest.FixtureRequest) -> str:
    """This run's engine, ``"sqlite"`` or ``"postgres"``, for tests that make databases of
    their own on it (asking for it keeps a test in the PostgreSQL pass)."""
    return request.config.getoption("--db")


@pytest.fixture(scope="session", autouse=True)
def fast_password_hashing() -> None:
    """Hash test passwords with few rounds: the suite creates many accounts.

    Production strength is asserted in tests/portal/test_accounts.py; the browser
    tests run the real server with the full 600,000 rounds.
    """
    from portal.tables import Staff

    Staff._pbkdf2_iteration_count = 1_000


@pytest.fixture
async def db(schema: None) -> AsyncIterator[None]:
    """An empty database (schema in place) for one test."""
    await empty_database()
    yield


async def empty_database() -> None:
    """Delete every row of the run's database."""
    from piccolo.conf.apps import Finder
    from piccolo.table import sort_table_classes

    from portal.db import get_engine

    # One transaction, so one connection: on PostgreSQL without a pool each statement
    # would open its own (0.2 s a test instead of 0.015 s).
    async with get_engine().transaction():
        for table in reversed(sort_table_classes(Finder().get_table_classes())):
            await table.delete(force=True).run()


# --- the demo, loaded once per run -----------------------------------------------------


@dataclasses.dataclass
class DemoTemplate:
    """The demo as `portal demo` loads it, kept after one load (10–15 s) to be copied:
    a SQLite file, or a PostgreSQL database to create copies from, and its files."""

    database: str
    var_dir: Path
    # When the load ended: the demo's votes run up to this moment, not to a test's now.
    loaded_at: dt.datetime

    @contextlib.asynccontextmanager
    async def copy(self, var_dir: Path) -> AsyncIterator[None]:
        """For the block, the run's database holds a copy of the demo and ``var_dir``
        a copy of its files."""
        from portal.db import get_engine, is_sqlite

        shutil.copytree(self.var_dir, var_dir, dirs_exist_ok=True)
        engine: Any = get_engine()
        if is_sqlite(engine):
            _sqlite_backup(self.database, engine.path)
            yield
            return
        # PostgreSQL copies a database only into a new one, which the engine uses for the
        # block (so no pool may be open on the other meanwhile).
        assert engine.pool is None, "a pool is open on the run's database"
        server, name = _STATE["postgres"], f"{self.database}_{uuid.uuid4().hex[:8]}"
        services.admin_sql(
            server,
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            f'CREATE DATABASE "{name}" TEMPLATE "{self.database}"',
        )
        own = engine.config["dsn"]
        engine.config["dsn"] = services.with_database(server, name)
        try:
            yield
        finally:
            engine.config["dsn"] = own
            services.admin_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sqlite_backup(source: str, target: str) -> None:
    """Replace the SQLite database ``target`` with a copy of ``source`` (a consistent
    copy, whatever the write-ahead log holds)."""
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


@pytest.fixture(scope="session")
async def demo_template(
    schema: None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DemoTemplate]:
    """The demo loaded once, into the run's database, then kept aside."""
    from portal.cli import demo_steps
    from portal.db import get_engine, is_sqlite
    from portal.demo import load_demo

    folder = tmp_path_factory.mktemp("demo")
    await empty_database()
    await load_demo(folder / "var", demo_steps())
    loaded_at = dt.datetime.now(dt.UTC)
    engine: Any = get_engine()
    if is_sqlite(engine):
        template = DemoTemplate(str(folder / "demo.sqlite3"), folder / "var", loaded_at)
        _sqlite_backup(engine.path, template.database)
        await empty_database()
        yield template
        return
    own = engine.config["dsn"].rpartition("/")[2]
    template = DemoTemplate(f"{own}_demo", folder / "var", loaded_at)
    services.admin_sql(
        _STATE["postgres"], f'CREATE DATABASE "{template.database}" TEMPLATE "{own}"'
    )
    await empty_database()
    try:
        yield template
    finally:
        services.admin_sql(
            _STATE["postgres"], f'DROP DATABASE IF EXISTS "{template.database}" WITH (FORCE)'
        )


@pytest.fixture
async def demo_loaded(db: None, demo_template: DemoTemplate, tmp_path: Path) -> AsyncIterator[Path]:
    """The database holds the demo as `portal demo` loads it (a copy of the run's one
    load); the demo's files are in the var folder this returns (``tmp_path``)."""
    async with demo_template.copy(tmp_path):
        yield tmp_path


# --- app and services ------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_service() -> AsyncIterator[services.Service]:
    service = services.find_redis()
    yield service
    service.stop()


@pytest.fixture
def redis_url(redis_service: services.Service) -> str:
    if redis_service.url is None:
        services.unavailable(f"Redis unavailable: {redis_service.reason}")
    return redis_service.url  # type: ignore[return-value]


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A bare state store, once in-process and once on the real Redis (own namespace)."""
    from portal.stores import MemoryStateStore, RedisStateStore

    if request.param == "memory":
        yield MemoryStateStore(namespace=f"t{uuid.uuid4().hex}")
        return
    url = request.getfixturevalue("redis_url")
    root = RedisStateStore.from_url(url, namespace=f"t{uuid.uuid4().hex}")
    try:
        yield root
    finally:
        await root.delete_all()
        await root.close()


@pytest.fixture
def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    from portal.settings import Settings

    return Settings(
        database_url=os.environ["DATABASE_URL"],
        env="test",
        secret_key=os.environ["PORTAL_SECRET_KEY"],
        var_dir=tmp_path,
        # Tests read live figures right after changing them; tests/portal/test_pagecache.py
        # turns the cache on.
        page_cache_seconds=0,
        # Exact outcomes on a shared, loaded machine: no vote is shed for waiting on the
        # ledger writer (tests/portal/test_shedding.py sets its own bounds).
        ledger_wait=0.0,
        # Each app's lifespan draws its pool at once (in a worker process, ~5 ms of CPU a
        # challenge): a few are plenty for one test; tests that vote set their own size.
        captcha_pool_size=8,
    )


def redis_stores(url: str, prefix: str) -> Any:
    """The stores ``create_stores`` builds for ``REDIS_URL``, under a private prefix."""
    from limits.aio.storage import RedisStorage

    from portal.stores import RedisStateStore, Stores

    return Stores(
        state=RedisStateStore.from_url(url, namespace=prefix),
        limits=RedisStorage(
            "async+" + url,
            implementation="redispy",
            key_prefix=f"{prefix}-limits",
            socket_connect_timeout=2,
            socket_timeout=5,
        ),
    )


async def close_limits(stores: Any) -> None:
    """Close the rate-limit storage's own Redis client (``Stores.close`` leaves it)."""
    client = getattr(getattr(stores.limits, "bridge", None), "storage", None)
    if client is not None:
        with contextlib.suppress(Exception):
            await client.aclose()


# A kept app is filed under its settings with this var folder: each test's settings carry
# its own (``tmp_path``), which the app reads per request from ``app.state.settings``.
_ANY_VAR_DIR = Path("/var-folder-of-the-test")


def _routes(app: Any) -> list[tuple[str, list[str]]]:
    return [(route.path, sorted(getattr(route, "methods", ()))) for route in app.routes]


# The project's packages: objects of their classes are the app's own.
OWN_PACKAGES = {"portal", "nominations", "voting", "results", "stories"}


def _own_objects(app: Any) -> list[Any]:
    """The app's own objects reachable from its state (services, stores, caches and
    theirs): a test may set an attribute on any of them (a clock, a failing stub)."""
    found: dict[int, Any] = {}
    todo = list(app.state.dict().values())
    while todo:
        obj = todo.pop()
        own = type(obj).__module__.split(".")[0] in OWN_PACKAGES
        if id(obj) in found or not own or not hasattr(obj, "__dict__"):
            continue
        found[id(obj)] = obj
        todo.extend(vars(obj).values())
    return list(found.values())


@dataclasses.dataclass
class _Kept:
    app: Any
    routes: list[tuple[str, list[str]]]
    state: dict[str, Any]
    attributes: list[tuple[Any, dict[str, Any]]]
    clean: bool = True


class Apps:
    """The run's apps: one per settings and store, handed from test to test.

    Building the portal (parsing every route handler) takes 0.1–0.3 s, and the suite asks
    for an app with the same settings hundreds of times. An app is kept per settings (bar
    the var folder: ``app.state.settings`` is the test's own settings object) and per
    Redis (under a key prefix of its own), and ``forget`` wipes what a test left in it:
    its store and rate limits (sessions, CAPTCHAs, counters, login throttles), its cached
    rules, pages and vote totals, and any attribute a test set on its services or state.
    An app that could not be wiped, or whose routes a test changed, is built anew.
    """

    def __init__(self) -> None:
        self._kept: dict[tuple[Any, str | None], _Kept] = {}
        self._retired: list[_Kept] = []

    def get(self, settings: Any, redis_url: str | None = None) -> Any:
        """A clean app built with ``settings`` (on Redis at ``redis_url`` if given); one
        still lent to a test is not handed out twice."""
        from portal.app import create_app

        key = (dataclasses.replace(settings, var_dir=_ANY_VAR_DIR), redis_url)
        kept = self._kept.get(key)
        if kept is None or not kept.clean:
            if kept is not None:
                self._retired.append(kept)
            stores = redis_stores(redis_url, f"app{uuid.uuid4().hex}") if redis_url else None
            app = create_app(settings, stores=stores)
            kept = _Kept(
                app,
                _routes(app),
                app.state.dict(),
                [(obj, dict(vars(obj))) for obj in _own_objects(app)],
            )
            self._kept[key] = kept
        kept.clean = False
        kept.app.state.settings = settings
        return kept.app

    async def forget(self, app: Any) -> None:
        """Wipe what the test left in ``app`` (after its lifespan has ended)."""
        kept = next((kept for kept in self._kept.values() if kept.app is app), None)
        if kept is None:  # retired while lent: closed at the end of the run
            return
        for name in set(app.state.dict()) - set(kept.state):
            del app.state[name]
        app.state.update(kept.state)
        await app.state.stores.state.delete_all()
        await app.state.stores.limits.reset()
        for obj, attributes in kept.attributes:
            vars(obj).clear()
            vars(obj).update(attributes)
        app.state.voting.forget()
        app.state.page_cache.clear()
        app.state.vote_totals.clear()
        app.state.identity.clear()
        kept.clean = _routes(app) == kept.routes

    async def close(self) -> None:
        for kept in [*self._kept.values(), *self._retired]:
            stores = kept.app.state.stores
            with contextlib.suppress(Exception):
                await stores.state.delete_all()
                await stores.limits.reset()
            await close_limits(stores)
            await stores.close()


@pytest.fixture(scope="session")
async def apps() -> AsyncIterator[Apps]:
    kept = Apps()
    yield kept
    await kept.close()


@pytest.fixture
async def app(db: None, settings, apps: Apps):  # type: ignore[no-untyped-def]
    """The portal built with the test's settings (kept for the next test, wiped)."""
    built = apps.get(settings)
    yield built
    await apps.forget(built)


@contextlib.asynccontextmanager
async def running(app):  # type: ignore[no-untyped-def]
    """Run the app's lifespan in a task of the current event loop.

    Litestar's AsyncTestClient runs the app in a thread with its own loop; the
    PostgreSQL pool must live on the test's loop, and the lifespan must be entered and
    left by one task (anyio cancel scopes), so it gets a task of its own.
    """
    started, stop = asyncio.Event(), asyncio.Event()

    async def lifespan() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(lifespan())
    await asyncio.wait([task, asyncio.create_task(started.wait())], return_when="FIRST_COMPLETED")
    if task.done():
        task.result()  # startup failed: raise it
    try:
        yield app
    finally:
        stop.set()
        await task


@pytest.fixture
async def client(app):  # type: ignore[no-untyped-def]
    """An HTTP client on the running app, in the test's own event loop."""
    import httpx

    async with running(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver.local", follow_redirects=False
        ) as test_client:
            test_client.app = app  # type: ignore[attr-defined]
            yield test_client


# PORTAL_PUBLIC_URL in the tests of absolute URLs, and the Host a forged request names.
PUBLIC_URL = "https://pingxuan.example.gov.cn"
FORGED_HOST = "evil.example"


@pytest.fixture
async def forged_host_client(db: None, settings, apps: Apps):  # type: ignore[no-untyped-def]
    """A client whose requests name ``FORGED_HOST`` as their Host, on an app whose
    public URL is ``PUBLIC_URL`` (outside production, where such requests are served)."""
    import httpx

    app = apps.get(dataclasses.replace(settings, public_url=PUBLIC_URL))
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://{FORGED_HOST}", follow_redirects=False
        ) as forged:
            yield forged
    await apps.forget(app)


@pytest.fixture
async def bureaus(db: None) -> None:
    from portal.demo import ensure_bureaus

    await ensure_bureaus()


@pytest.fixture
async def staff(bureaus: None) -> dict[str, str]:
    """One account per role; returns role → username (all share ``PASSWORD``)."""
    from tests import factories

    accounts = {
        "city_admin": ("admin", "定西市司法局"),
        "county_clerk": ("clerk", "安定区"),
        "reviewer": ("reviewer", "通渭县"),
        "auditor": ("auditor", None),
    }
    await factories.accounts(*((name, role, bureau) for role, (name, bureau) in accounts.items()))
    return {role: username for role, (username, _) in accounts.items()}
