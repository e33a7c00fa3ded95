"""Server orchestration for the benchmark, the fault runs and the tests alike.

- **Services.** PostgreSQL and Redis are found in this order: the URL in the environment
  (``TEST_DATABASE_URL``, ``REDIS_URL``), the local service on its default port, or a
  throwaway server started here from the local binaries (``redis-server`` with nothing
  kept on disk; ``initdb`` and ``pg_ctl`` with ``fsync=off``, run as the ``postgres``
  user when we are root). A private server can be halted and resumed (the faults).
- **Databases.** Fresh PostgreSQL databases, created and dropped on such a server.
- **Deployments.** A migrated database with campaigns open for voting
  (bench/campaign.py), the environment to run `portal` on it, and its ledger read
  straight from the database.
- **Servers.** `portal serve` on a free port in a process group of its own, waited for
  until ready, stopped (SIGTERM, then SIGKILL to the whole group) or killed.

What a missing service means for a test (skipped, or a failed run with ``CI=true``) is
tests/services.py's; nothing here imports the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import pwd
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOCAL_REDIS = "redis://127.0.0.1:6379"
# On a shared Redis, a benchmark uses this database number only (and only when empty).
SHARED_REDIS_DB = 13


class SetupError(Exception):
    """Something to run on cannot be set up; the message says why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def wait_until(predicate: Callable[[], bool], seconds: float = 20.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def quietly(fn: Callable[..., object], *args: object) -> Callable[[], None]:
    """A clean-up step that reports its failure instead of raising it."""

    def step() -> None:
        try:
            fn(*args)
        except Exception as exc:
            print(f"clean-up step failed: {exc!r}", file=sys.stderr)

    return step


def _run_apart(make: Callable[..., Coroutine[Any, Any, Any]], *args: object) -> Any:
    """Run a coroutine to the end on an event loop of its own in a thread of its own:
    callable from plain code and from inside a running loop alike (the tests' loop
    stays untouched)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make(*args))).result()


@dataclass
class Service:
    url: str | None
    origin: str
    reason: str = ""
    _stop: list = field(default_factory=list)
    process: subprocess.Popen | None = None
    # A private server's own stop and start (the faults take it down and back).
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


def _given(variable: str, answers: Callable[[str], bool]) -> Service | None:
    """The service named by the environment variable ``variable``, if it is set."""
    url = os.environ.get(variable)
    if not url:
        return None
    if answers(url):
        return Service(url, variable)
    return Service(None, variable, f"{variable}={url} does not answer")


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


def _redis_command(url: str, *args: str) -> object:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        return client.execute_command(*args)
    finally:
        client.close()


def flush_redis(url: str) -> None:
    """Empty the Redis database of ``url`` (a benchmark's own: see
    ``private_or_shared_redis``)."""
    _redis_command(url, "FLUSHDB")


def find_redis() -> Service:
    given = _given("REDIS_URL", _redis_answers)
    if given is not None:
        return given
    if _redis_answers(f"{LOCAL_REDIS}/0"):
        return Service(f"{LOCAL_REDIS}/15", "local service on 6379")
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
        service.process = subprocess.Popen(  # noqa: S603 - our own arguments, no shell
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def kill() -> None:
        if service.process is not None:
            service.process.kill()
            service.process.wait()

    def resume() -> None:
        launch()
        if not wait_until(lambda: _redis_answers(url)):
            raise RuntimeError("redis-server did not start again")

    launch()
    service._halt, service._resume = kill, resume
    service._stop += [lambda: shutil.rmtree(workdir, ignore_errors=True), kill]
    if not wait_until(lambda: _redis_answers(url)):
        service.stop()
        return Service(None, "none", "redis-server did not start")
    return service


def private_or_shared_redis(stack: contextlib.ExitStack) -> tuple[str, str]:
    """A Redis URL for a benchmark run and where it comes from: a throwaway server
    (stopped by ``stack``), else a database number of the local Redis that must be
    empty at start and is flushed (that number only) by ``stack``."""
    service = start_redis()
    if service.url is not None:
        stack.callback(quietly(service.stop))
        return service.url, service.origin
    url = f"{LOCAL_REDIS}/{SHARED_REDIS_DB}"
    if not _redis_answers(url):
        raise SetupError(f"{service.reason}, and no Redis on 127.0.0.1:6379")
    if _redis_command(url, "DBSIZE"):
        raise SetupError(f"shared Redis database {SHARED_REDIS_DB} is not empty: not using it")
    stack.callback(quietly(_redis_command, url, "FLUSHDB"))  # this database number only
    return url, f"database {SHARED_REDIS_DB} of the local Redis on 6379"


# --- PostgreSQL ------------------------------------------------------------------------


async def _pg_probe(url: str) -> bool:
    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=2)
    except Exception:
        return False
    await conn.close()
    return True


def _pg_answers(url: str) -> bool:
    return _run_apart(_pg_probe, url)


def _pg_binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def find_postgres() -> Service:
    given = _given("TEST_DATABASE_URL", _pg_answers)
    if given is not None:
        return given
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
    run = lambda *args: subprocess.run(  # noqa: E731, S603 - our own arguments, no shell
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


async def _execute(server_url: str, statements: Iterable[str]) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url, timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def admin_sql(server_url: str, *statements: str) -> None:
    _run_apart(_execute, server_url, statements)


def create_database(server_url: str, prefix: str) -> tuple[str, str]:
    """A new, empty database ``prefix_<random>`` on the server of ``server_url``: its
    name and its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin_sql(server_url, f'CREATE DATABASE "{name}"')
    return name, with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop database ``name``, whoever is still connected to it."""
    admin_sql(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_database(server_url: str, prefix: str) -> Iterator[str]:
    """The URL of a new, empty database on the server of ``server_url``, dropped after."""
    name, url = create_database(server_url, prefix)
    try:
        yield url
    finally:
        drop_database(server_url, name)


def fresh_postgres_database(stack: contextlib.ExitStack, prefix: str) -> tuple[str, str]:
    """A fresh database for a benchmark run (dropped by ``stack``, and a throwaway
    server with it) and where the server comes from."""
    service = find_postgres()
    if service.url is None:
        raise SetupError(f"no PostgreSQL: {service.reason}")
    stack.callback(quietly(service.stop))
    name, url = create_database(service.url, prefix)
    stack.callback(quietly(drop_database, service.url, name))
    return url, f"PostgreSQL: {service.origin}"


# --- deployments -------------------------------------------------------------------------


def portal_env(
    var_dir: Path,
    database_url: str,
    *,
    test_answer: str,
    pool_size: int | None = None,
    redis_url: str | None = None,
) -> dict[str, str]:
    """The environment of a portal on ``database_url`` (in-process store without
    ``redis_url``): the caller's, without any portal setting of its own; requests from
    127.0.0.1 may name the client (``X-Forwarded-For``), ``test_answer`` answers any
    live CAPTCHA, and ``pool_size`` challenges are drawn ahead (default: the portal's)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "REDIS_URL") and not key.startswith("PORTAL_")
    }
    env.update(
        DATABASE_URL=database_url,
        PORTAL_VAR_DIR=str(var_dir),
        PORTAL_ENV="development",  # production refuses the test answer
        PORTAL_SECRET_KEY=secrets.token_urlsafe(48),
        PORTAL_CAPTCHA_TEST_ANSWER=test_answer,
        PORTAL_TRUSTED_PROXIES="127.0.0.1",
    )
    if pool_size is not None:
        env["PORTAL_CAPTCHA_POOL_SIZE"] = str(pool_size)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def _var_dir(env: Mapping[str, str]) -> Path:
    """The deployment's var folder, where its commands run."""
    folder = Path(env["PORTAL_VAR_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def portal_command(*args: str) -> list[str]:
    """The ``portal`` command of this interpreter's environment."""
    return [sys.executable, "-m", "portal.cli", *args]


def _run_to_end(
    command: list[str], env: Mapping[str, str], cwd: Path, timeout: float, check: bool
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(  # noqa: S603 - our own arguments, no shell
        command, env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    if check and done.returncode:
        output = (done.stdout + done.stderr)[-2000:]
        raise SetupError(f"{' '.join(command[2:])} failed ({done.returncode}):\n{output}")
    return done


def portal(
    env: Mapping[str, str], *args: str, timeout: float = 300, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a `portal` command on the deployment of ``env`` to the end; with ``check``,
    raise ``SetupError`` with its output when it fails."""
    return _run_to_end(portal_command(*args), env, _var_dir(env), timeout, check)


@dataclass
class Deployment:
    """A migrated database with campaigns open for voting, and the environment to run
    `portal` on it."""

    env: dict[str, str]
    database_url: str
    campaigns: dict[str, dict[str, list[int]]]  # slug → category key → candidate ids

    @property
    def candidates(self) -> dict[str, list[int]]:
        """The candidates of the first campaign (for a deployment of one campaign)."""
        return next(iter(self.campaigns.values()))

    def portal(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run a `portal` command on the deployment, whatever its outcome."""
        return portal(self.env, *args, timeout=timeout, check=False)


def deploy(
    database_url: str,
    var_dir: Path,
    campaigns: Mapping[str, Mapping[str, Any]],
    *,
    test_answer: str,
    pool_size: int,
    redis_url: str | None = None,
) -> Deployment:
    """Migrate ``database_url`` and make ``campaigns`` ({slug: keyword arguments of
    bench.campaign.make_voting_campaign}) in it, open for voting."""
    env = portal_env(
        var_dir, database_url, test_answer=test_answer, pool_size=pool_size, redis_url=redis_url
    )
    portal(env, "migrate")
    command = [sys.executable, "-m", "bench.campaign", json.dumps(campaigns)]
    made = _run_to_end(command, env, ROOT, timeout=300, check=True)
    return Deployment(env, database_url, json.loads(made.stdout.strip().splitlines()[-1]))


async def _pg_rows(url: str, query: str, arg: object) -> list[dict[str, Any]]:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    try:
        return [dict(row) for row in await conn.fetch(query, arg)]
    finally:
        await conn.close()


def _rows(database_url: str, query: str, arg: object) -> list[dict[str, Any]]:
    """Rows of ``query`` (``{}`` where its one parameter goes) straight from the
    database of ``database_url``, a SQLite file or PostgreSQL."""
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(query.format("?"), (arg,))]
    return _run_apart(_pg_rows, database_url, query.format("$1"), arg)


LEDGER_COLUMNS = (
    "v.seq, v.cast_at, v.candidate, v.voter_hash, v.receipt, v.receipt_hash, v.chain_hash"
)


async def ledger_rows(
    database_url: str, slug: str, *, columns: str = LEDGER_COLUMNS
) -> list[dict[str, Any]]:
    """A campaign's ledger straight from the deployment's database, in ``seq`` order."""
    # Our own columns; the slug is a parameter.
    query = (
        f"SELECT {columns} FROM vote v JOIN campaign c ON c.id = v.campaign "  # noqa: S608
        "WHERE c.slug = {} ORDER BY v.seq"
    )
    return await asyncio.to_thread(_rows, database_url, query, slug)


def count_votes(database_url: str, slug: str) -> int:
    """Rows in the ``vote`` table for the campaign ``slug``, read from the database."""
    query = (
        "SELECT count(*) AS n FROM vote WHERE campaign = (SELECT id FROM campaign WHERE slug = {})"
    )
    return int(_rows(database_url, query, slug)[0]["n"])


def new_network(rng: random.Random, used: set[str]) -> str:
    """A client address not in ``used`` (carrier-grade NAT space, 100.64.0.0/10), added
    to it: a simulated voter on a network of its own."""
    while True:
        address = str(IPv4Address(0x64400000 + rng.getrandbits(22)))
        if address not in used:
            used.add(address)
            return address


# --- the server processes ----------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (which may hold spaces):
    state, parent, process group, …; ``None`` once the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def _cpu_seconds(fields: list[str]) -> float:
    """User + system CPU time of a process so far, from its ``_stat`` fields."""
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _is_resource_tracker(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    return False


def process_group(pgid: int) -> list[int]:
    """The live processes of process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def _tcp_rows(port: int, state: str) -> list[list[str]]:
    """Rows of /proc/net/tcp and tcp6 whose local port is ``port`` in ``state``."""
    rows = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as fh:
            for line in fh.readlines()[1:]:
                parts = line.split()
                if parts[3] == state and int(parts[1].rsplit(":", 1)[1], 16) == port:
                    rows.append(parts)
    return rows


def listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on ``port``."""
    return {parts[9] for parts in _tcp_rows(port, "0A")}


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
    return inodes


class Server:
    """`portal serve` of a deployment's environment on a free port (``workers``
    processes), in a process group of its own: its workers and CAPTCHA drawing
    processes share the group. Its output reaches ``log`` through a pipe, so a fault
    on the server's own files never silences it."""

    def __init__(
        self,
        env: Mapping[str, str],
        log: Path,
        *,
        workers: int = 1,
        command: Callable[[str, int], list[str]] | None = None,
    ) -> None:
        """``command`` (given the host and port) replaces `portal serve`: a server of
        the portal's app built another way (bench/brushing.py's simulated clock)."""
        self.host = "127.0.0.1"
        self.port = free_port()
        self.base = f"http://{self.host}:{self.port}"
        self.log = log
        self.workers = workers
        args = ("serve", "--host", self.host, "--port", str(self.port), "--workers", str(workers))
        self.proc = subprocess.Popen(  # noqa: S603 - our own arguments, no shell
            command(self.host, self.port) if command else portal_command(*args),
            env=dict(env),
            cwd=_var_dir(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._copier = threading.Thread(target=self._copy, daemon=True)
        self._copier.start()

    def _copy(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout, self.log.open("wb") as out:
            while chunk := self.proc.stdout.read1(1 << 16):
                out.write(chunk)
                out.flush()

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    # --- HTTP, plainly (from any thread) -------------------------------------------

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        """Status and body of a GET (any status)."""
        try:
            url = f"{self.base}{path}"  # http to our own server
            with urllib.request.urlopen(url, timeout=timeout) as answer:  # noqa: S310
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

    def health(self) -> dict:
        """The answer of ``/healthz/ready`` (whatever its status)."""
        _status, body = self.get_json("/healthz/ready")
        assert isinstance(body, dict)
        return body

    def wait_ready(self, pool: int = 0, seconds: float = 60) -> None:
        """Wait until ``/healthz/ready`` answers 200 (the database and the store answer),
        ``pool`` CAPTCHA challenges are drawn and every serving process is up."""

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise SetupError(f"the portal exited ({self.proc.returncode}):\n{self.log_tail()}")
            with contextlib.suppress(OSError, ValueError):
                status, body = self.get_json("/healthz/ready")
                return (
                    status == 200
                    and body["captcha_pool"] >= pool  # type: ignore[index]
                    and len(self.serving_pids()) == self.workers
                )
            return False

        if not wait_until(ready, seconds):
            raise SetupError(f"the portal was not ready in {seconds:.0f} s:\n{self.log_tail()}")

    async def ready(self, pool: int = 0, seconds: float = 60) -> None:
        """``wait_ready`` without holding up the caller's event loop."""
        await asyncio.to_thread(self.wait_ready, pool, seconds)

    # --- its processes ------------------------------------------------------------------

    def serves_the_port(self) -> bool:
        """Is the process we started the one holding the listening socket?"""
        listening = listening_inodes(self.port)
        return bool(listening) and bool(listening & socket_inodes(self.proc.pid))

    def serving_pids(self) -> list[int]:
        """The processes that answer requests: the server itself, or with several workers
        its workers (which hold the listening socket; the supervisor accepts nothing)."""
        listening = listening_inodes(self.port)
        holders = [pid for pid in process_group(self.proc.pid) if listening & socket_inodes(pid)]
        if self.workers == 1:
            return [pid for pid in holders if pid == self.proc.pid]
        return [pid for pid in holders if pid != self.proc.pid]

    def owner(self, client_port: int, pids: Iterable[int] | None = None) -> int | None:
        """The process (of ``pids``, by default the serving ones) holding the server end
        of the open connection from ``client_port``."""
        inodes = {
            parts[9]
            for parts in _tcp_rows(self.port, "01")
            if int(parts[2].rsplit(":", 1)[1], 16) == client_port
        }
        for pid in self.serving_pids() if pids is None else pids:
            if inodes & socket_inodes(pid):
                return pid
        return None

    def cpu(self) -> dict[str, float] | None:
        """CPU seconds used so far by the serving processes and by the CAPTCHA drawers
        (one drawing process a serving process, its child); ``None`` without ``/proc``."""
        if not Path("/proc/self/stat").exists():
            return None
        serving = set(self.serving_pids())
        totals = {"serving": 0.0, "drawing": 0.0}
        for pid in process_group(self.proc.pid):
            fields = _stat(pid)
            if fields is None:
                continue
            if pid in serving:
                totals["serving"] += _cpu_seconds(fields)
            elif int(fields[1]) in serving and not _is_resource_tracker(pid):
                totals["drawing"] += _cpu_seconds(fields)
        return totals

    def kill(self) -> int:
        """SIGKILL the server (then whatever is left of its group); its exit status."""
        os.kill(self.proc.pid, signal.SIGKILL)
        code = self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        return code

    def stop(self, grace: float = 30.0) -> bool:
        """SIGTERM, SIGKILL after ``grace`` seconds, then SIGKILL to whatever is left in
        its group; say whether it exited on SIGTERM.

        SIGTERM goes to the server alone, so it shuts its children down in order: a
        ``multiprocessing`` pool whose worker is killed first starts a replacement.
        """
        clean = True
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                clean = False
                self.proc.kill()
                self.proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._copier.join(timeout=5)
        return clean
