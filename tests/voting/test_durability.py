"""A 201 means the vote is on disk: SIGKILL the real server mid-stream, restart, check.

The portal runs as a real `portal serve` subprocess on a database of its own (a
temporary SQLite file, or a fresh PostgreSQL database on the run's server), with the
in-process store or Redis. Many simulated voters — each its own cookie and network
(``X-Forwarded-For`` from the trusted 127.0.0.1) — stream votes at it concurrently, a
fresh CAPTCHA each, and every 201 receipt is kept. Once enough votes are acknowledged,
with votes still in flight, the process serving the port is killed with SIGKILL: no
shutdown, no flush. After a restart on the same database every acknowledged receipt
must be in the ledger exactly once, with the sequence unbroken and the hash chain
intact from 64 zeros; voting then goes on where the chain left off.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import random
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import services
from tests.voting.conftest import TEST_ANSWER
from voting.ledger import first_break

ROOT = Path(__file__).resolve().parents[2]
PORTAL = str(Path(sys.executable).with_name("portal"))
SLUG = "durable-2024"
VOTERS = 20  # simulated voters streaming at once
KILL_AFTER = 100  # acknowledged votes before the kill
KILL_IN_FLIGHT = 3  # ... and then as soon as this many votes are on their way
AFTER_RESTART = 10  # votes cast on the restarted server

# Makes the campaign in the deployment's database (run with its environment).
SETUP = f"""
import asyncio, json

from portal.db import close_database, open_database
from tests.voting.conftest import make_voting_campaign


async def main():
    await open_database()
    try:
        made = await make_voting_campaign({SLUG!r}, units=6, mediators=10)
        print(json.dumps(made["candidates"]))
    finally:
        await close_database()


asyncio.run(main())
"""


def _admin_sql(server_url: str, *statements: str) -> None:
    # asyncpg in a thread of its own: the suite's event loop stays untouched.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(services.admin_sql, server_url, *statements).result()


@dataclass
class Deployment:
    env: dict[str, str]
    database_url: str
    candidates: dict[str, list[int]]
    folder: Path


@pytest.fixture(scope="module")
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """A migrated database of its own with a campaign open for voting."""
    folder = tmp_path_factory.mktemp("durability")
    postgres = request.config.getoption("--db") == "postgres"
    name = None
    if postgres:
        name = f"portal_durable_{uuid.uuid4().hex[:12]}"
        _admin_sql(os.environ["DATABASE_URL"], f'CREATE DATABASE "{name}"')
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
    try:
        migrate = subprocess.run(
            [PORTAL, "migrate"], env=env, cwd=folder, capture_output=True, text=True, timeout=120
        )
        assert migrate.returncode == 0, migrate.stderr
        setup = subprocess.run(
            [sys.executable, "-c", SETUP],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert setup.returncode == 0, setup.stderr
        yield Deployment(env, url, json.loads(setup.stdout.strip().splitlines()[-1]), folder)
    finally:
        if name:
            _admin_sql(os.environ["DATABASE_URL"], f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the server process ----------------------------------------------------------------


def listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on ``port`` (from /proc/net/tcp and tcp6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as fh:
            for line in fh.readlines()[1:]:
                parts = line.split()
                if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(parts[9])
    return inodes


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    return inodes


class Server:
    """`portal serve` on a free port, in a process group of its own."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = services.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [PORTAL, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                cwd=env["PORTAL_VAR_DIR"],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its CAPTCHA drawing workers share its group
            )

    async def ready(self, client: httpx.AsyncClient, pool: int, seconds: float = 25) -> None:
        """Wait until it answers and has ``pool`` CAPTCHA challenges drawn."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"the portal did not start:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                response = await client.get(f"{self.base}/healthz/ready")
                if response.status_code == 200 and response.json()["captcha_pool"] >= pool:
                    return
            await asyncio.sleep(0.1)
        pytest.fail(f"the portal was not ready in {seconds} s:\n{self.log.read_text()[-3000:]}")

    def serves_the_port(self) -> bool:
        """Is the process we started the one holding the listening socket?"""
        listening = listening_inodes(self.port)
        return bool(listening) and bool(listening & socket_inodes(self.proc.pid))

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
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)


# --- the voters -------------------------------------------------------------------------


@dataclass
class Stream:
    """What the voters saw."""

    candidates: dict[str, list[int]]
    rng: random.Random
    acked: list[dict[str, Any]] = field(default_factory=list)
    refused: Counter = field(default_factory=Counter)
    in_flight: int = 0  # vote requests wholly sent, their answer not yet begun
    cut_off: int = 0  # vote requests wholly sent that got no answer: the server died
    unsent: int = 0  # vote requests that never reached the server: it was already gone
    killed: asyncio.Event = field(default_factory=asyncio.Event)
    used: set[str] = field(default_factory=set)

    def network(self) -> str:
        """A fresh client address (carrier-grade NAT space, random per run)."""
        while True:
            address = str(ipaddress.IPv4Address(0x64400000 + self.rng.getrandbits(22)))
            if address not in self.used:
                self.used.add(address)
                return address

    def ballot(self) -> list[int]:
        """What one voter votes for today: three offices, two mediators (the allowance)."""
        units = self.rng.sample(self.candidates["judicial-office"], 3)
        return [*units, *self.rng.sample(self.candidates["mediator"], 2)]


async def captcha(client: httpx.AsyncClient) -> str:
    for _ in range(400):
        response = await client.post("/api/v1/captcha")
        if response.status_code == 201:
            return response.json()["captcha_id"]
        assert response.status_code == 503, response.text  # the pool is being refilled
        await asyncio.sleep(0.02)
    raise AssertionError("the CAPTCHA pool never filled")


async def voter(base: str, stream: Stream, *, stop_after: int | None = None) -> None:
    """Vote as one new voter after another until the server dies (or ``stop_after``)."""
    while not stream.killed.is_set():
        address = stream.network()
        headers = {"X-Forwarded-For": address, "User-Agent": f"durability-test ({address})"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=20) as client:
            for candidate_id in stream.ballot():
                if stop_after is not None and len(stream.acked) >= stop_after:
                    return
                try:
                    captcha_id = await captcha(client)
                except httpx.TransportError:
                    if stream.killed.is_set():
                        return
                    raise
                if not await cast(client, stream, candidate_id, captcha_id):
                    return


async def cast(
    client: httpx.AsyncClient, stream: Stream, candidate_id: int, captcha_id: str
) -> bool:
    """One vote; ``False`` when the server is gone. From the moment the request is wholly
    sent (before the kill) until its answer begins, it counts in ``stream.in_flight``."""
    on_the_wire = False

    async def trace(event: str, info: dict[str, Any]) -> None:
        nonlocal on_the_wire
        if event == "http11.send_request_body.complete" and not stream.killed.is_set():
            on_the_wire = True
            stream.in_flight += 1
        elif event == "http11.receive_response_headers.complete" and on_the_wire:
            on_the_wire = False
            stream.in_flight -= 1

    try:
        response = await client.post(
            f"/api/v1/campaigns/{SLUG}/votes",
            json={
                "candidate_id": candidate_id,
                "captcha_id": captcha_id,
                "captcha_answer": TEST_ANSWER,
            },
            extensions={"trace": trace},
        )
    except httpx.TransportError:
        if not stream.killed.is_set():
            raise
        if on_the_wire:
            stream.cut_off += 1  # the live server had the whole request and died on it
        else:
            stream.unsent += 1
        return False
    finally:
        if on_the_wire:
            stream.in_flight -= 1
    if response.status_code == 201:
        body = response.json()
        assert body["candidate_id"] == candidate_id
        stream.acked.append(body)
    else:
        stream.refused[(response.status_code, response.json().get("error"))] += 1
    return True


# --- the ledger -------------------------------------------------------------------------

COLUMNS = "v.seq, v.cast_at, v.candidate, v.voter_hash, v.receipt, v.receipt_hash, v.chain_hash"


async def ledger_rows(database_url: str) -> list[dict[str, Any]]:
    """The campaign's ledger straight from the deployment's database, in ``seq`` order."""
    query = (
        f"SELECT {COLUMNS} FROM vote v JOIN campaign c ON c.id = v.campaign "
        "WHERE c.slug = {} ORDER BY v.seq"
    )
    if database_url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as db:
            db.row_factory = sqlite3.Row
            return [dict(row) for row in db.execute(query.format("?"), (SLUG,))]
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        return [dict(row) for row in await conn.fetch(query.format("$1"), SLUG)]
    finally:
        await conn.close()


def check_chain(rows: list[dict]) -> None:
    """The public chain holds over the rows in ``seq`` order (no gap, no bad link)."""
    broken = first_break(rows)
    assert broken is None, f"the chain breaks at seq {rows[broken]['seq']}"


# --- the test ---------------------------------------------------------------------------


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_acknowledged_votes_survive_a_sigkill_mid_stream(
    store: str, deployment: Deployment, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    env = dict(deployment.env)
    if store == "redis":
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    started = time.monotonic()
    before = len(await ledger_rows(deployment.database_url))
    stream = Stream(deployment.candidates, random.Random(secrets.randbits(64)))

    server = Server(env, tmp_path / "first.log")
    try:
        async with httpx.AsyncClient(timeout=5) as probe:
            await server.ready(probe, pool=KILL_AFTER + 2 * VOTERS)
        assert server.serves_the_port(), "the started process does not hold the port"

        voters = [asyncio.create_task(voter(server.base, stream)) for _ in range(VOTERS)]
        deadline = time.monotonic() + 20
        while len(stream.acked) < KILL_AFTER or stream.in_flight < KILL_IN_FLIGHT:
            for task in voters:
                if task.done():
                    task.result()  # a voter failed before the kill: show why
            assert time.monotonic() < deadline, f"only {len(stream.acked)} votes in 20 s"
            await asyncio.sleep(0.001)
        acked_at_kill, in_flight_at_kill = len(stream.acked), stream.in_flight
        stream.killed.set()
        exit_code = server.kill()
        await asyncio.wait_for(asyncio.gather(*voters), timeout=30)
    finally:
        server.stop()
    assert exit_code == -signal.SIGKILL
    # Votes were on the wire when the server died: each was answered from what the
    # server had sent before dying, or cut off.
    assert in_flight_at_kill >= KILL_IN_FLIGHT
    assert stream.cut_off + len(stream.acked) - acked_at_kill == in_flight_at_kill
    assert not stream.refused, stream.refused
    acked = {body["receipt"]: body for body in stream.acked}
    assert len(acked) == len(stream.acked) >= acked_at_kill

    server = Server(env, tmp_path / "second.log")
    try:
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as client:
            await server.ready(client, pool=AFTER_RESTART)
            # Every acknowledged receipt is known to the restarted server.
            limit = asyncio.Semaphore(16)

            async def look_up(receipt: str) -> dict[str, Any]:
                async with limit:
                    response = await client.get(f"/api/v1/receipts/{receipt}")
                assert response.status_code == 200, (receipt, response.text)
                return response.json()

            found = await asyncio.gather(*(look_up(r) for r in acked))
            for status in found:
                body = acked[status["receipt"]]
                assert status["campaign"] == SLUG
                assert (status["candidate_id"], status["cast_at"]) == (
                    body["candidate_id"],
                    body["cast_at"],
                )

            rows = await ledger_rows(deployment.database_url)
            check_chain(rows)
            recorded = Counter(row["receipt"] for row in rows)
            assert all(recorded[receipt] == 1 for receipt in acked)
            by_receipt = {row["receipt"]: row for row in rows}
            for receipt, body in acked.items():
                row = by_receipt[receipt]
                assert (row["candidate"], row["cast_at"]) == (body["candidate_id"], body["cast_at"])
            unacknowledged = len(rows) - before - len(acked)
            assert 0 <= unacknowledged <= in_flight_at_kill + VOTERS

            # Voting goes on after the crash, and the chain with it.
            after = Stream(deployment.candidates, stream.rng, used=stream.used)
            await asyncio.gather(
                *(voter(server.base, after, stop_after=AFTER_RESTART) for _ in range(4))
            )
            assert not after.refused, after.refused
            assert len(after.acked) >= AFTER_RESTART
            rows = await ledger_rows(deployment.database_url)
            check_chain(rows)
            assert {b["receipt"] for b in after.acked} <= {row["receipt"] for row in rows}
    finally:
        server.stop()
    log = (tmp_path / "second.log").read_text()
    assert "Traceback" not in log, log[-3000:]
    print(
        f"\n[{store}] acknowledged before the kill: {acked_at_kill}, in flight: "
        f"{in_flight_at_kill}, acknowledged in all: {len(acked)}, cut off: {stream.cut_off}, "
        f"sent after the kill: {stream.unsent}, "
        f"found after restart: {sum(1 for r in acked if recorded[r] == 1)}/{len(acked)}, "
        f"recorded but never acknowledged: {unacknowledged}, ledger rows: {len(rows)}, "
        f"{time.monotonic() - started:.1f} s"
    )
