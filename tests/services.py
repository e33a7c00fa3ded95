"""Real backing services for the tests: Redis and PostgreSQL.

Each is found in this order: the URL given in the environment (``REDIS_URL``,
``TEST_DATABASE_URL``), the local service on its default port, or a throwaway server
started here from the local binaries. When none can be had, tests that need it are
skipped with the reason — except with ``CI=true``, where that fails the run.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip the test needing this service, or fail the run under CI."""
    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def _wait(predicate, seconds: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@dataclass
class Service:
    url: str | None
    origin: str
    reason: str = ""
    _stop: list = field(default_factory=list)
    process: subprocess.Popen | None = None
    # A private server's own stop and start (the fault tests take it down and back).
    _halt: Callable[[], None] | None = None
    _resume: Callable[[], None] | None = None

    def stop(self) -> None:
        for fn in reversed(self._stop):
            with contextlib.suppress(Exception):
                fn()

    def halt(self) -> None:
        """Stop a private server, keeping its port and data for ``resume``."""
        assert self._halt is not None, f"{self.origin} is not ours to stop"
        self._halt()

    def resume(self) -> None:
        """Start a halted private server again on the same port; return once it answers."""
        assert self._resume is not None, f"{self.origin} is not ours to start"
        self._resume()


# --- Redis -----------------------------------------------------------------------------


def _redis_answers(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.ping()
        client.close()
        return True
    except Exception:
        return False


def find_redis() -> Service:
    url = os.environ.get("REDIS_URL")
    if url:
        if _redis_answers(url):
            return Service(url, "REDIS_URL")
        return Service(None, "REDIS_URL", f"REDIS_URL={url} does not answer")
    if _redis_answers("redis://127.0.0.1:6379/0"):
        return Service("redis://127.0.0.1:6379/15", "local service on 6379")
    return start_redis()


def start_redis() -> Service:
    """A throwaway redis-server of our own on a free port (nothing kept on disk);
    ``Service.stop()`` kills it."""
    binary = shutil.which("redis-server")
    if not binary:
        return Service(None, "none", "no Redis on 127.0.0.1:6379 and no redis-server binary")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="portal-redis-")
    command = [binary, "--port", str(port), "--bind", "127.0.0.1"]
    command += ["--save", "", "--appendonly", "no", "--dir", workdir]
    url = f"redis://127.0.0.1:{port}/0"
    service = Service(url, f"throwaway redis-server on {port}")

    def launch() -> None:
        service.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def kill() -> None:
        if service.process is not None:
            service.process.kill()
            service.process.wait()

    def resume() -> None:
        launch()
        if not _wait(lambda: _redis_answers(url)):
            raise RuntimeError("redis-server did not start again")

    launch()
    service._halt, service._resume = kill, resume
    service._stop += [lambda: shutil.rmtree(workdir, ignore_errors=True), kill]
    if not _wait(lambda: _redis_answers(url)):
        service.stop()
        return Service(None, "none", "redis-server did not start")
    return service


# --- PostgreSQL ------------------------------------------------------------------------


def _pg_answers(url: str) -> bool:
    import asyncio

    import asyncpg

    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(url, timeout=2)
        except Exception:
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


def _pg_binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def find_postgres() -> Service:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        if _pg_answers(url):
            return Service(url, "TEST_DATABASE_URL")
        return Service(None, "TEST_DATABASE_URL", f"TEST_DATABASE_URL={url} does not answer")
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    if port_open("127.0.0.1", 5432) and _pg_answers(local):
        return Service(local, "local service on 5432")
    bindir = _pg_binaries()
    if bindir is None:
        return Service(None, "none", "no PostgreSQL on 127.0.0.1:5432 and no initdb binary")
    return _start_postgres(bindir)


def start_postgres() -> Service:
    """A throwaway PostgreSQL of our own from the local binaries (one that may be
    halted and resumed); ``Service.stop()`` removes it."""
    bindir = _pg_binaries()
    if bindir is None:
        return Service(None, "none", "no initdb binary")
    return _start_postgres(bindir)


def _start_postgres(bindir: Path) -> Service:
    """initdb + pg_ctl in a temporary folder; as root, run them as the postgres user."""
    workdir = Path(tempfile.mkdtemp(prefix="portal-pg-"))
    datadir, sockdir = workdir / "data", workdir / "run"
    sockdir.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            return Service(None, "none", "running as root and no 'postgres' user to run initdb")
        for path in (workdir, sockdir):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    run = lambda *args: subprocess.run(  # noqa: E731
        [*prefix, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    options = f"-p {port} -k {sockdir} -c listen_addresses=127.0.0.1 -c fsync=off"
    ctl = [str(bindir / "pg_ctl"), "-D", str(datadir), "-w", "-t", "120"]
    start = lambda: run(*ctl, "-l", str(workdir / "log"), "-o", options, "start")  # noqa: E731
    try:
        run(
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        )
        start()
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        return Service(None, "none", f"throwaway PostgreSQL failed: {exc.stderr.decode()[-300:]}")
    service = Service(f"postgresql://postgres@127.0.0.1:{port}/postgres", f"throwaway on {port}")
    service._stop += [
        lambda: shutil.rmtree(workdir, ignore_errors=True),
        lambda: run(*ctl, "-m", "immediate", "stop"),
    ]
    service._halt = lambda: run(*ctl, "-m", "fast", "stop")
    service._resume = start
    return service


def with_database(server_url: str, name: str) -> str:
    """The URL of database ``name`` on the server of ``server_url``."""
    base, _, _ = server_url.rpartition("/")
    return f"{base}/{name}"


def admin_sql(server_url: str, *statements: str) -> None:
    import asyncio

    import asyncpg

    async def execute() -> None:
        conn = await asyncpg.connect(server_url, timeout=5)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(execute())
