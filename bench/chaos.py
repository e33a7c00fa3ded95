"""`make chaos`: faults of the processes and services under real `portal serve` processes.

Each fault runs against a real server with simulated voters streaming votes at it (each
voter its own cookie and client address, a fresh CAPTCHA per vote, ``X-Forwarded-For``
from the trusted 127.0.0.1). The fault is switched on while votes are flowing, held,
then switched off; the same server process must then vote again. Afterwards the
ledger is read straight from the database and compared with the 201 answers.

- ``sigkill``: tests/voting/test_durability.py, run as it is on SQLite and on
  PostgreSQL, with the in-process store and with Redis (it prints its own figures);
- ``redis``: Redis stopped and started again (empty, same port) under voting;
- ``postgres``: PostgreSQL stopped and started again under voting;
- ``sqlite-locked``: another connection holds SQLite's write lock past the busy timeout;
- ``sqlite-full``: the server may not grow any file (``RLIMIT_FSIZE`` set on the
  running process), as on a full disk.

For every fault it holds when: no answer was a 5xx other than 503, every 503 had the
contract's ``unavailable`` JSON (or the Chinese page for a browser's page), the
fault was felt (votes answered 503), voting resumed in the same process, every
acknowledged receipt is in the ledger exactly once, nothing unacknowledged was
recorded, the hash chain verifies from 64 zeros, and the server logged no traceback.

Private Redis and PostgreSQL are started from the local binaries (bench/infra.py);
nothing shared is touched. Exit status 1 when any fault does not hold.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import resource
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/chaos.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench import infra
from bench.infra import Deployment, Server, Service, ledger_rows, new_network

ROOT = Path(__file__).resolve().parent.parent
SLUG = "chaos-2024"
TEST_ANSWER = "CHAOS"
VOTERS = 6  # simulated voters streaming at once
BEFORE = 20  # votes acknowledged before the fault is switched on
AFTER = 20  # votes that must be acknowledged after it is switched off
FAULT_SECONDS = 4.0  # how long a fault is held once it is felt
WAIT = 180.0  # the most any step may take on a loaded machine
PYTEST = [sys.executable, "-m", "pytest"]
PYTEST_OPTIONS = ["-q", "-s", "-p", "no:cacheprovider"]
FAULTS = ("sigkill", "redis", "postgres", "sqlite-locked", "sqlite-full")


@dataclass
class Outcome:
    """What one fault showed, and whether it held."""

    name: str
    facts: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return not self.problems

    def check(self, condition: bool, problem: str) -> None:
        if not condition:
            self.problems.append(problem)


# --- the deployments ---------------------------------------------------------------------


def deploy(database_url: str, folder: Path, redis_url: str | None = None) -> Deployment:
    """Migrate ``database_url`` and make the campaign open for voting in it."""
    campaigns = {SLUG: {"units": 6, "mediators": 10}}
    return infra.deploy(
        database_url, folder, campaigns, test_answer=TEST_ANSWER, pool_size=100, redis_url=redis_url
    )


# --- the voters -------------------------------------------------------------------------


@dataclass
class Stream:
    """What the voters saw, by phase (``before``, ``during``, ``after`` the fault)."""

    candidates: dict[str, list[int]]
    # Client addresses only, not secrets.
    rng: random.Random = field(default_factory=lambda: random.Random(secrets.randbits(64)))  # noqa: S311
    phase: str = "before"
    acked: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    answers: Counter = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)  # answers outside the contract
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    used: set[str] = field(default_factory=set)

    def count(self, phase: str) -> int:
        return len(self.acked.get(phase, []))

    @property
    def receipts(self) -> list[str]:
        return [body["receipt"] for bodies in self.acked.values() for body in bodies]

    def network(self) -> str:
        return new_network(self.rng, self.used)

    def note(self, phase: str, kind: str, response: httpx.Response) -> None:
        self.answers[(phase, kind, response.status_code)] += 1
        status = response.status_code
        if status >= 500 and status != 503:
            self.bad.append(f"{kind} {status}: {response.text[:200]}")
        elif status == 503:
            try:
                error = response.json().get("error")
            except ValueError:
                error = None
            if error != "unavailable":
                self.bad.append(f"{kind} 503 without the contract's JSON: {response.text[:200]}")


async def voter(base: str, stream: Stream) -> None:
    """New voter after new voter: three offices and two mediators each (the allowance)."""
    while not stream.stop.is_set():
        address = stream.network()
        ballot = [
            *stream.rng.sample(stream.candidates["judicial-office"], 3),
            *stream.rng.sample(stream.candidates["mediator"], 2),
        ]
        headers = {"X-Forwarded-For": address, "User-Agent": f"chaos ({address})"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=WAIT) as client:
            for candidate_id in ballot:
                if stream.stop.is_set():
                    return
                try:
                    challenge = await client.post("/api/v1/captcha")
                    stream.note(stream.phase, "captcha", challenge)
                    if challenge.status_code != 201:
                        await asyncio.sleep(0.2)  # the pool refills, or the store is down
                        continue
                    response = await client.post(
                        f"/api/v1/campaigns/{SLUG}/votes",
                        json={
                            "candidate_id": candidate_id,
                            "captcha_id": challenge.json()["captcha_id"],
                            "captcha_answer": TEST_ANSWER,
                        },
                    )
                except httpx.TransportError as exc:
                    stream.bad.append(f"no answer: {exc!r}")
                    await asyncio.sleep(0.2)
                    continue
                # Counted in the phase of its answer: a vote sent just before the fault
                # and answered under it was answered by the fault.
                phase = stream.phase
                stream.note(phase, "vote", response)
                if response.status_code == 201:
                    stream.acked.setdefault(phase, []).append(response.json())
                elif response.status_code == 503:
                    await asyncio.sleep(0.2)


async def until(predicate: Callable[[], bool], seconds: float = WAIT) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


# --- one fault under voting -------------------------------------------------------------


async def under_voting(
    outcome: Outcome,
    deployment: Deployment,
    folder: Path,
    *,
    switch_on: Callable[[Server], None],
    switch_off: Callable[[Server], None],
    during: Callable[[httpx.AsyncClient, Stream], Awaitable[None]],
) -> None:
    """Votes flow; the fault is switched on until felt, held, then off; votes flow again."""
    server = Server(deployment.env, folder / "server.log")
    stream = Stream(deployment.candidates)
    try:
        await server.ready(pool=20, seconds=WAIT)
        async with httpx.AsyncClient(base_url=server.base, timeout=WAIT) as client:
            voters = [asyncio.create_task(voter(server.base, stream)) for _ in range(VOTERS)]
            try:
                outcome.check(await until(lambda: stream.count("before") >= BEFORE), "no votes")
                stream.phase = "during"
                await asyncio.to_thread(switch_on, server)
                # Without Redis no challenge is issued, so voters send no vote: ``during``
                # sends one itself.
                felt = await until(
                    lambda: (
                        stream.answers[("during", "vote", 503)]
                        + stream.answers[("during", "captcha", 503)]
                        >= 1
                    )
                )
                outcome.check(felt, "the fault was never felt: nothing answered 503")
                await asyncio.sleep(FAULT_SECONDS)
                await during(client, stream)
                await asyncio.to_thread(switch_off, server)
                stream.phase = "after"
                resumed = await until(lambda: stream.count("after") >= AFTER)
                outcome.check(resumed, f"voting did not resume: {stream.count('after')} votes")
                outcome.check(server.proc.poll() is None, "the server process exited")
            finally:
                stream.stop.set()
                await asyncio.wait_for(asyncio.gather(*voters, return_exceptions=True), WAIT)
    finally:
        stopped = server.stop()
    # A connection left open by a fault keeps a thread alive: the process would hang.
    outcome.check(stopped, "the server did not shut down on SIGTERM")
    report(outcome, stream, await ledger_rows(deployment.database_url, SLUG), server)


def report(outcome: Outcome, stream: Stream, rows: list[dict], server: Server) -> None:
    """The figures of one fault, and the checks on the ledger and the log."""
    from voting.ledger import first_break

    for phase in ("before", "during", "after"):
        answers = {
            f"{kind} {status}": n
            for (p, kind, status), n in sorted(stream.answers.items())
            if p == phase
        }
        outcome.facts.append(f"{phase:>6}: acknowledged {stream.count(phase)}; answers {answers}")
    acked = stream.receipts
    recorded = Counter(row["receipt"] for row in rows)
    once = sum(1 for receipt in acked if recorded[receipt] == 1)
    unacknowledged = len(set(recorded) - set(acked))
    broken = first_break(rows)
    outcome.facts.append(
        f"after recovery: ledger rows {len(rows)}, acknowledged receipts found once "
        f"{once}/{len(acked)}, recorded but never acknowledged {unacknowledged}, "
        f"chain {'verifies' if broken is None else f'breaks at row {broken + 1}'}"
    )
    outcome.check(once == len(acked), "an acknowledged receipt is missing or recorded twice")
    outcome.check(unacknowledged == 0, "votes were recorded that were never acknowledged")
    outcome.check(broken is None, "the hash chain does not verify")
    outcome.check(not stream.bad, f"answers outside the contract: {stream.bad[:3]}")
    outcome.check("Traceback" not in server.log_tail(10**7), "the server logged a traceback")


async def expect(
    outcome: Outcome, client: httpx.AsyncClient, path: str, status: int, **kw: Any
) -> httpx.Response:
    response = await client.get(path, **kw)
    outcome.facts.append(f"during: GET {path} → {response.status_code}")
    outcome.check(response.status_code == status, f"GET {path}: {response.status_code}")
    return response


# --- the faults -------------------------------------------------------------------------


def fault_sigkill(ctx: Context) -> Outcome:
    """tests/voting/test_durability.py on both databases, as it is."""
    outcome = Outcome("sigkill")
    for db in ("sqlite", "postgres"):
        env = {**os.environ, "TEST_DATABASE_URL": ctx.postgres.url, "REDIS_URL": ctx.redis.url}
        env.pop("DATABASE_URL", None)
        done = subprocess.run(  # noqa: S603 - our own arguments, no shell
            [*PYTEST, "tests/voting/test_durability.py", "--db", db, *PYTEST_OPTIONS],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        for line in done.stdout.splitlines():
            if re.match(r"^\[\w+\] acknowledged", line):
                outcome.facts.append(f"{db}: {line}")
        summary = done.stdout.strip().splitlines()[-1:] or ["no output"]
        outcome.facts.append(f"{db}: {summary[0]}")
        outcome.check(done.returncode == 0, f"test_durability failed on {db}")
    return outcome


async def fault_redis(ctx: Context) -> Outcome:
    outcome = Outcome("redis")
    folder = ctx.workdir / "redis"
    url = f"sqlite:///{folder / 'portal.sqlite3'}"
    deployment = await asyncio.to_thread(deploy, url, folder, ctx.redis.url)
    candidates = deployment.candidates

    async def during(client: httpx.AsyncClient, stream: Stream) -> None:
        captcha = await client.post("/api/v1/captcha")
        outcome.check(captcha.status_code == 503, f"CAPTCHA without Redis: {captcha.status_code}")
        ballot = {
            "candidate_id": candidates["mediator"][0],
            "captcha_id": "x",
            "captcha_answer": "x",
        }
        refused = await client.post(f"/api/v1/campaigns/{SLUG}/votes", json=ballot)
        stream.note("during", "vote", refused)
        outcome.facts.append(f"during: POST a vote → {refused.status_code}")
        outcome.check(refused.status_code == 503, f"a vote without Redis: {refused.status_code}")
        receipt = stream.receipts[0]
        candidate = candidates["mediator"][0]
        for path in (
            f"/campaigns/{SLUG}",
            f"/campaigns/{SLUG}/candidates",
            f"/campaigns/{SLUG}/candidates/{candidate}",
            f"/receipts/{receipt}",
            f"/api/v1/campaigns/{SLUG}/candidates",
            f"/api/v1/receipts/{receipt}",
        ):
            await expect(outcome, client, path, 200)

    await under_voting(
        outcome,
        deployment,
        folder,
        switch_on=lambda _: ctx.redis.halt(),
        switch_off=lambda _: ctx.redis.resume(),
        during=during,
    )
    return outcome


async def fault_postgres(ctx: Context) -> Outcome:
    outcome = Outcome("postgres")
    # The private server is removed at the end of the run, its database with it.
    _name, url = infra.create_database(ctx.postgres.url, "portal_chaos")
    folder = ctx.workdir / "postgres"
    deployment = await asyncio.to_thread(deploy, url, folder)

    async def during(client: httpx.AsyncClient, stream: Stream) -> None:
        receipt = stream.receipts[0]
        page = await expect(
            outcome, client, f"/receipts/{receipt}", 503, headers={"Accept": "text/html"}
        )
        outcome.check(
            page.headers.get("content-type", "").startswith("text/html")
            and "服务暂时不可用" in page.text,
            "the browser's 503 is not the Chinese page",
        )
        api = await expect(outcome, client, f"/api/v1/receipts/{receipt}", 503)
        outcome.check(api.json().get("error") == "unavailable", "the API's 503 is not the contract")

    await under_voting(
        outcome,
        deployment,
        folder,
        switch_on=lambda _: ctx.postgres.halt(),
        switch_off=lambda _: ctx.postgres.resume(),
        during=during,
    )
    return outcome


async def fault_sqlite(ctx: Context, kind: str) -> Outcome:
    from portal.db import SQLITE_BUSY_TIMEOUT

    outcome = Outcome(f"sqlite-{kind}")
    folder = ctx.workdir / f"sqlite-{kind}"
    path = folder / "portal.sqlite3"
    deployment = await asyncio.to_thread(deploy, f"sqlite:///{path}", folder)
    holder: list[sqlite3.Connection] = []

    def lock(_: Server) -> None:
        connection = sqlite3.connect(path, isolation_level=None, timeout=WAIT)
        connection.execute("BEGIN IMMEDIATE")
        holder.append(connection)
        outcome.facts.append(f"write lock held past the busy timeout ({SQLITE_BUSY_TIMEOUT:.0f} s)")

    def unlock(_: Server) -> None:
        connection = holder.pop()
        connection.execute("ROLLBACK")
        connection.close()

    def fill(server: Server) -> None:
        # The running server may not write past 1 KiB of any file: SQLite's writes fail
        # as on a full disk (Python ignores SIGXFSZ, so the write returns an error).
        hard = resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE)[1]
        resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (1024, hard))
        outcome.facts.append("the server's files may not grow (RLIMIT_FSIZE 1 KiB)")

    def unfill(server: Server) -> None:
        hard = resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE)[1]
        resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE, (hard, hard))

    async def during(client: httpx.AsyncClient, stream: Stream) -> None:
        # Readers never wait for the writer's lock; with a full disk SQLite may need to
        # write to read after a failed write (a 503 then, never a 500).
        path = f"/api/v1/receipts/{stream.receipts[0]}"
        response = await client.get(path)
        outcome.facts.append(f"during: GET {path} → {response.status_code}")
        allowed = (200,) if kind == "locked" else (200, 503)
        outcome.check(response.status_code in allowed, f"GET {path}: {response.status_code}")

    await under_voting(
        outcome,
        deployment,
        folder,
        switch_on=lock if kind == "locked" else fill,
        switch_off=unlock if kind == "locked" else unfill,
        during=during,
    )
    return outcome


# --- the run ----------------------------------------------------------------------------


@dataclass
class Context:
    workdir: Path
    redis: Service
    postgres: Service


async def run_fault(name: str, ctx: Context) -> Outcome:
    try:
        if name == "sigkill":
            return await asyncio.to_thread(fault_sigkill, ctx)
        if name == "redis":
            return await fault_redis(ctx)
        if name == "postgres":
            return await fault_postgres(ctx)
        return await fault_sqlite(ctx, name.removeprefix("sqlite-"))
    except Exception as exc:  # reported as a fault that does not hold, the run goes on
        outcome = Outcome(name)
        outcome.problems.append(f"could not run: {exc!r}"[:3000])
        return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chaos", description=__doc__.split("\n")[0]
    )
    parser.add_argument("faults", nargs="*", help=f"some of {', '.join(FAULTS)} (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (server logs)")
    options = parser.parse_args(argv)
    chosen = options.faults or list(FAULTS)
    unknown = sorted(set(chosen) - set(FAULTS))
    if unknown:
        parser.error(f"unknown faults: {', '.join(unknown)}")
    workdir = Path(tempfile.mkdtemp(prefix="portal-chaos-"))
    # The portal's modules read DATABASE_URL when imported (the ledger check imports
    # them): point them at a file of the run, never at the caller's database.
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'unused.sqlite3'}"
    os.environ.pop("REDIS_URL", None)
    outcomes: list[Outcome] = []
    with contextlib.ExitStack() as stack:
        if options.keep:
            print(f"chaos: the run's folder (server logs) is kept: {workdir}")
        else:
            stack.callback(shutil.rmtree, workdir, True)
        redis = infra.start_redis()
        stack.callback(redis.stop)
        postgres = infra.start_postgres()
        stack.callback(postgres.stop)
        for service, what in ((redis, "Redis"), (postgres, "PostgreSQL")):
            if service.url is None:
                print(f"chaos: no private {what}: {service.reason}", file=sys.stderr)
                return 1
        print(f"chaos: private {redis.origin}; private PostgreSQL {postgres.origin}")
        ctx = Context(workdir, redis, postgres)
        for name in chosen:
            print(f"\n== {name}", flush=True)
            outcome = asyncio.run(run_fault(name, ctx))
            for fact in outcome.facts:
                print(f"   {fact}")
            for problem in outcome.problems:
                print(f"   PROBLEM: {problem}")
            print(f"   {'holds' if outcome.holds else 'DOES NOT HOLD'}", flush=True)
            outcomes.append(outcome)
    print("\nchaos: " + ", ".join(f"{o.name} {'holds' if o.holds else 'FAILS'}" for o in outcomes))
    return 0 if all(o.holds for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
