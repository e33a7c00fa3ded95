"""What the benchmark runs against: PostgreSQL, Redis and the portal's server processes.

PostgreSQL and Redis are found by the test suite's own probing (``tests/services.py``,
one copy for both): PostgreSQL from ``TEST_DATABASE_URL``, else the local service on
127.0.0.1:5432, else a throwaway server from the local binaries (with ``fsync=off``,
as for the tests); a fresh database is created on it for the run and dropped after.
Redis is a throwaway ``redis-server`` on a free port when the binary exists (nothing
shared is touched), else a database number on the local service that must be empty
at start and is flushed (that number only) at the end.

Every resource registers its own clean-up on a ``contextlib.ExitStack``, so a failed
setup, the end of a run and Ctrl-C all undo the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests import services
from tests.services import free_port, port_open

__all__ = ["free_port", "port_open"]  # re-exported for the bench's other modules

LOCAL_REDIS = "redis://127.0.0.1:6379"
# On a shared Redis, the bench uses this database number only (and only when empty).
SHARED_REDIS_DB = 13


class SetupError(Exception):
    """The benchmark cannot be set up; the message says why."""


def quietly(fn: Callable[..., object], *args: object) -> Callable[[], None]:
    """A clean-up step that reports its failure instead of raising it."""

    def step() -> None:
        try:
            fn(*args)
        except Exception as exc:
            print(f"clean-up step failed: {exc!r}", file=sys.stderr)

    return step


def wait_until(predicate: Callable[[], bool], seconds: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


# --- Redis -----------------------------------------------------------------------------


def _redis_command(url: str, *args: str) -> object:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        return client.execute_command(*args)
    finally:
        client.close()


def start_redis(stack: contextlib.ExitStack, workdir: Path) -> tuple[str, str]:
    """A Redis URL for the run and where it comes from (``workdir`` is unused: the
    throwaway server keeps its own folder)."""
    service = services.start_redis()
    if service.url is not None:
        stack.callback(quietly(service.stop))
        return service.url, service.origin
    url = f"{LOCAL_REDIS}/{SHARED_REDIS_DB}"
    if not services._redis_answers(url):
        raise SetupError(f"{service.reason}, and no Redis on 127.0.0.1:6379")
    if _redis_command(url, "DBSIZE"):
        raise SetupError(f"shared Redis database {SHARED_REDIS_DB} is not empty: not using it")
    stack.callback(quietly(_redis_command, url, "FLUSHDB"))  # this database number only
    return url, f"database {SHARED_REDIS_DB} of the local Redis on 6379"


# --- PostgreSQL ------------------------------------------------------------------------


async def _pg_fetchval(url: str, query: str, *args: object) -> object:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


def postgres_database(stack: contextlib.ExitStack, workdir: Path, name: str) -> tuple[str, str]:
    """A fresh database ``name`` (dropped at the end) and where the server comes from."""
    service = services.find_postgres()
    if service.url is None:
        raise SetupError(f"no PostgreSQL: {service.reason}")
    stack.callback(quietly(service.stop))
    services.admin_sql(service.url, f'CREATE DATABASE "{name}"')
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    stack.callback(quietly(services.admin_sql, service.url, drop))
    return services.with_database(service.url, name), f"PostgreSQL: {service.origin}"


def count_votes(database_url: str, slug: str) -> int:
    """Rows in the ``vote`` table for the campaign ``slug``, read from the database."""
    query = "SELECT count(*) FROM vote WHERE campaign = (SELECT id FROM campaign WHERE slug = $1)"
    if database_url.startswith("sqlite:///"):
        import sqlite3

        path = database_url.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
            return int(conn.execute(query.replace("$1", "?"), (slug,)).fetchone()[0])
    return int(asyncio.run(_pg_fetchval(database_url, query, slug)))  # type: ignore[call-overload]


# --- processes -------------------------------------------------------------------------


def stop_process(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a process started in its own session, then anything left in its group.

    SIGTERM goes to the leader alone, so it shuts its children down in order: a
    ``multiprocessing`` pool whose worker is killed first starts a replacement, which
    would outlive the server. Whatever is still in the group afterwards gets SIGKILL.
    """
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def portal_command(*args: str) -> list[str]:
    """The ``portal`` command of this interpreter's environment."""
    return [sys.executable, "-m", "portal.cli", *args]


def run_portal(env: Mapping[str, str], *args: str) -> None:
    """Run a ``portal`` command to the end; raise ``SetupError`` with its output on failure."""
    done = subprocess.run(  # noqa: S603 - our own arguments, no shell
        portal_command(*args),
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    if done.returncode:
        tail = done.stdout.decode(errors="replace")[-2000:]
        raise SetupError(f"portal {' '.join(args)} failed:\n{tail}")


def _parents() -> dict[int, int]:
    """pid → parent pid of every process (Linux ``/proc``)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _is_resource_tracker(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


@dataclass
class Server:
    """A running ``portal serve``."""

    proc: subprocess.Popen
    host: str
    port: int
    log: Path
    workers: int = 1

    def cpu(self) -> dict[str, float] | None:
        """CPU seconds used so far by the serving processes and by the CAPTCHA drawers.

        With one worker uvicorn serves in its main process; with several, the workers
        are its children. Each serving process has one drawing process as its child.
        ``None`` where ``/proc`` is not available.
        """
        if not Path("/proc/self/stat").exists():
            return None
        parents = _parents()
        depth = {self.proc.pid: 0}
        for _ in range(3):
            for pid, parent in parents.items():
                if parent in depth and pid not in depth:
                    depth[pid] = depth[parent] + 1
        serving = 0 if self.workers == 1 else 1
        totals = {"serving": 0.0, "drawing": 0.0}
        for pid, level in depth.items():
            if level == serving:
                totals["serving"] += _cpu_seconds(pid)
            elif level == serving + 1 and not _is_resource_tracker(pid):
                totals["drawing"] += _cpu_seconds(pid)
        return totals

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        """Status and body of a GET (any status)."""
        url = f"http://{self.host}:{self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def get_json(self, path: str) -> tuple[int, object]:
        status, body = self.get(path)
        return status, json.loads(body)

    def status(self, path: str) -> int:
        """The status of a GET, 0 when the server does not answer."""
        try:
            return self.get(path)[0]
        except OSError:
            return 0

    def ready(self) -> dict:
        """The answer of ``/healthz/ready``."""
        _status, body = self.get_json("/healthz/ready")
        assert isinstance(body, dict)
        return body

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def start_server(
    stack: contextlib.ExitStack, env: Mapping[str, str], workers: int, log: Path
) -> Server:
    """``portal serve`` on a free port, answering ``/healthz``; stopped by ``stack``."""
    port = free_port()
    out = log.open("wb")
    stack.callback(out.close)
    args = ("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers))
    proc = subprocess.Popen(  # noqa: S603 - our own arguments, no shell
        portal_command(*args),
        env=dict(env),
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: workers and drawers stop with it
    )
    stack.callback(stop_process, proc)
    server = Server(proc, "127.0.0.1", port, log, workers)
    if not wait_until(lambda: proc.poll() is not None or server.status("/healthz") == 200, 60):
        raise SetupError(f"the server did not answer /healthz in 60 s:\n{server.log_tail()}")
    if proc.poll() is not None:
        raise SetupError(f"the server exited ({proc.returncode}):\n{server.log_tail()}")
    return server
