"""Real deployments for the tests that need real `portal serve` processes.

A deployment is a migrated database of its own (a temporary SQLite file, or a fresh
PostgreSQL database on the run's server) with campaigns open for voting, and the
environment to run `portal` commands on it. ``Server`` runs `portal serve` on it in a
process group of its own, and can tell which of its processes holds a connection.
Shared by tests/voting/test_durability.py and tests/voting/test_scale_out.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import services
from tests.voting.conftest import TEST_ANSWER
from voting.ledger import first_break

ROOT = Path(__file__).resolve().parents[2]
PORTAL = str(Path(sys.executable).with_name("portal"))

# Makes the campaigns given as JSON ({slug: make_voting_campaign's keyword arguments}) in
# the deployment's database (run with its environment); prints {slug: candidates}.
SETUP = """
import asyncio, json, sys

from portal.db import close_database, open_database
from tests.voting.conftest import make_voting_campaign


async def main():
    await open_database()
    try:
        made = {}
        for slug, fields in json.loads(sys.argv[1]).items():
            made[slug] = (await make_voting_campaign(slug, **fields))["candidates"]
        print(json.dumps(made))
    finally:
        await close_database()


asyncio.run(main())
"""


def admin_sql(server_url: str, *statements: str) -> None:
    # asyncpg in a thread of its own: the suite's event loop stays untouched.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(services.admin_sql, server_url, *statements).result()


@dataclass
class Deployment:
    env: dict[str, str]
    database_url: str
    campaigns: dict[str, dict[str, list[int]]]  # slug → category key → candidate ids
    folder: Path

    @property
    def candidates(self) -> dict[str, list[int]]:
        """The candidates of the first campaign (for a deployment of one campaign)."""
        return next(iter(self.campaigns.values()))

    def portal(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run a `portal` command on the deployment."""
        return subprocess.run(
            [PORTAL, *args],
            env=self.env,
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@contextlib.contextmanager
def deploy(
    folder: Path,
    campaigns: dict[str, dict[str, Any]],
    *,
    postgres: bool,
    redis_url: str | None = None,
) -> Iterator[Deployment]:
    """A migrated database of its own with ``campaigns`` open for voting; dropped after."""
    name = None
    if postgres:
        name = f"portal_deploy_{uuid.uuid4().hex[:12]}"
        admin_sql(os.environ["DATABASE_URL"], f'CREATE DATABASE "{name}"')
        url = services.with_database(os.environ["DATABASE_URL"], name)
    else:
        url = f"sqlite:///{folder / 'portal.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        DATABASE_URL=url,
        PORTAL_VAR_DIR=str(folder),
        PORTAL_ENV="development",
        PORTAL_SECRET_KEY=secrets.token_urlsafe(48),
        PORTAL_CAPTCHA_TEST_ANSWER=TEST_ANSWER,
        PORTAL_TRUSTED_PROXIES="127.0.0.1",
        PORTAL_CAPTCHA_POOL_SIZE="300",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    try:
        deployment = Deployment(env, url, {}, folder)
        migrate = deployment.portal("migrate")
        assert migrate.returncode == 0, migrate.stderr
        setup = subprocess.run(
            [sys.executable, "-c", SETUP, json.dumps(campaigns)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert setup.returncode == 0, setup.stderr
        deployment.campaigns = json.loads(setup.stdout.strip().splitlines()[-1])
        yield deployment
    finally:
        if name:
            admin_sql(os.environ["DATABASE_URL"], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the server process ----------------------------------------------------------------


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


def process_group(pgid: int) -> list[int]:
    """The live processes of process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after it.
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


class Server:
    """`portal serve` on a free port (``workers`` processes), in a process group of its own."""

    def __init__(self, env: dict[str, str], log: Path, *, workers: int = 1) -> None:
        self.port = services.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.workers = workers
        command = [PORTAL, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        if workers > 1:
            command += ["--workers", str(workers)]
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                command,
                env=env,
                cwd=env["PORTAL_VAR_DIR"],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its workers and drawing processes share its group
            )

    async def ready(self, client: httpx.AsyncClient, pool: int, seconds: float = 60) -> None:
        """Wait until every serving process is up and ``pool`` CAPTCHA challenges are drawn."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the portal did not start:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                response = await client.get(f"{self.base}/healthz/ready")
                if (
                    response.status_code == 200
                    and response.json()["captcha_pool"] >= pool
                    and len(self.serving_pids()) == self.workers
                ):
                    return
            await asyncio.sleep(0.1)
        pytest.fail(f"the portal was not ready in {seconds} s:\n{self.log.read_text()[-3000:]}")

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

    def kill(self) -> int:
        """SIGKILL the serving process (then its orphaned drawing workers)."""
        os.kill(self.proc.pid, signal.SIGKILL)
        code = self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)


async def captcha(client: httpx.AsyncClient, **kw: Any) -> str:
    """A fresh challenge's id, waiting while the pool is being refilled."""
    for _ in range(1500):
        response = await client.post("/api/v1/captcha", **kw)
        if response.status_code == 201:
            return response.json()["captcha_id"]
        assert response.status_code == 503, response.text  # the pool is being refilled
        await asyncio.sleep(0.02)
    raise AssertionError("the CAPTCHA pool never filled")


# --- the ledger -------------------------------------------------------------------------

COLUMNS = "v.seq, v.cast_at, v.candidate, v.voter_hash, v.receipt, v.receipt_hash, v.chain_hash"


async def ledger_rows(
    database_url: str, slug: str, *, columns: str = COLUMNS
) -> list[dict[str, Any]]:
    """A campaign's ledger straight from the deployment's database, in ``seq`` order."""
    query = (
        f"SELECT {columns} FROM vote v JOIN campaign c ON c.id = v.campaign "
        "WHERE c.slug = {} ORDER BY v.seq"
    )
    if database_url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(query.format("?"), (slug,))]
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        return [dict(row) for row in await conn.fetch(query.format("$1"), slug)]
    finally:
        await conn.close()


def check_chain(rows: list[dict]) -> None:
    """The public chain holds over the rows in ``seq`` order (no gap, no bad link)."""
    broken = first_break(rows)
    assert broken is None, f"the chain breaks at seq {rows[broken]['seq']}"
