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
import random
import secrets
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.infra import Deployment, Server, ledger_rows, new_network
from tests.voting.conftest import TEST_ANSWER
from tests.voting.deployment import captcha, check_chain, deploy

SLUG = "durable-2024"
VOTERS = 20  # simulated voters streaming at once
KILL_AFTER = 60  # acknowledged votes before the kill
KILL_IN_FLIGHT = 3  # ... and then as soon as this many votes are on their way
AFTER_RESTART = 10  # votes cast on the restarted server


@pytest.fixture(scope="module")
def deployment(db_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """A migrated database of its own with a campaign open for voting."""
    with deploy(
        tmp_path_factory.mktemp("durability"),
        {SLUG: {"units": 6, "mediators": 10}},
        postgres=db_engine == "postgres",
        pool_size=KILL_AFTER + 2 * VOTERS + KILL_IN_FLIGHT,
    ) as made:
        yield made


# --- the voters -------------------------------------------------------------------------


@dataclass
class Stream:
    """What the voters saw."""

    candidates: dict[str, list[int]]
    rng: random.Random
    acked: list[dict[str, Any]] = field(default_factory=list)
    refused: Counter = field(default_factory=Counter)
    in_flight: int = 0  # vote requests on the wire, their answer not yet wholly read
    cut_off: int = 0  # vote requests on the wire that got no answer: the server died
    unsent: int = 0  # vote requests that never reached the server: it was already gone
    killed: asyncio.Event = field(default_factory=asyncio.Event)
    used: set[str] = field(default_factory=set)

    def network(self) -> str:
        """A fresh client address (random per run)."""
        return new_network(self.rng, self.used)

    def ballot(self) -> list[int]:
        """What one voter votes for today: three offices, two mediators (the allowance)."""
        units = self.rng.sample(self.candidates["judicial-office"], 3)
        return [*units, *self.rng.sample(self.candidates["mediator"], 2)]


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
    """One vote; ``False`` when the server is gone. From the moment its body starts on the
    wire (before the kill) until its whole answer is read and recorded here, it counts in
    ``stream.in_flight``: a vote in flight at the kill is then either acknowledged after
    it or cut off. Counting it in only once the body is wholly sent would miss a vote
    written just before the kill whose "sent" event ran after it; counting it out when
    its headers arrive would miss an answer whose body was still being read."""
    on_the_wire = False

    async def trace(event: str, info: dict[str, Any]) -> None:
        nonlocal on_the_wire
        if event == "http11.send_request_body.started" and not stream.killed.is_set():
            on_the_wire = True
            stream.in_flight += 1

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
            stream.cut_off += 1  # the request reached the live server, which died on it
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


# --- the test ---------------------------------------------------------------------------


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_acknowledged_votes_survive_a_sigkill_mid_stream(
    store: str, deployment: Deployment, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # Every vote must be answered 201 or cut off by the kill: no load shedding on a busy
    # machine (tests/portal/test_shedding.py tests the shedding).
    env = {**deployment.env, "PORTAL_QUEUE_TIMEOUT_MS": "60000", "PORTAL_LEDGER_WAIT_MS": "0"}
    if store == "redis":
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    started = time.monotonic()
    before = len(await ledger_rows(deployment.database_url, SLUG))
    stream = Stream(deployment.candidates, random.Random(secrets.randbits(64)))

    server = Server(env, tmp_path / "first.log")
    try:
        await server.ready(pool=KILL_AFTER + 2 * VOTERS)
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
        await server.ready(pool=AFTER_RESTART)
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as client:
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

            rows = await ledger_rows(deployment.database_url, SLUG)
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
            rows = await ledger_rows(deployment.database_url, SLUG)
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
