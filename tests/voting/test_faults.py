"""Faults of the backing services, in the suite: what is answered, what is kept, recovery.

- Redis stops while people vote: votes and CAPTCHA answer 503 ``unavailable``, the
  public pages that need only the database keep answering, nothing is half-recorded;
  Redis comes back (empty, on the same port) and voting resumes in the same process.
  When Redis stops answering just as a refused vote hands its reservations back, they
  are handed back once it answers again.
- PostgreSQL stops under a real ``portal serve``: 503 with a Chinese page for browsers
  and the contract's JSON under ``/api/``; it comes back and the same process serves
  again (the connection pool reconnects).
- SQLite locked by another writer for longer than the busy timeout, or its disk full:
  a clear 503, and every acknowledged vote is in the ledger once, the chain intact.

A SIGKILL mid-stream is tests/voting/test_durability.py; ``make chaos`` runs all of
these faults against real server processes (bench/chaos.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench import infra
from portal.db import get_engine, is_sqlite
from portal.tables import Phase
from tests import services
from tests.conftest import close_limits, redis_stores
from tests.results.test_honours import SLUG as HONOURS_SLUG
from tests.results.test_honours import build as build_honours
from tests.voting import deployment as durability
from tests.voting.conftest import (
    SLUG,
    TEST_ANSWER,
    assert_error,
    ledger_rows,
    serve,
    vote,
)
from voting.ledger import first_break

pytestmark = pytest.mark.usefixtures("bureaus")

CAPTCHA_WAIT = 60.0  # seconds a refilled CAPTCHA pool may take on a loaded machine


def public_pages(voting: dict[str, Any], receipt: str) -> list[str]:
    """Public pages and API reads that need the database only."""
    candidate = voting["candidates"]["mediator"][0]
    return [
        "/",
        f"/campaigns/{SLUG}",
        f"/campaigns/{SLUG}/candidates",
        f"/campaigns/{SLUG}/candidates/{candidate}",
        f"/campaigns/{SLUG}/rules",
        f"/campaigns/{HONOURS_SLUG}/honours",
        f"/campaigns/{HONOURS_SLUG}/announcement",
        "/stories",
        f"/receipts/{receipt}",
        "/api/v1/campaigns",
        f"/api/v1/campaigns/{SLUG}",
        f"/api/v1/campaigns/{SLUG}/candidates",
        f"/api/v1/receipts/{receipt}",
    ]


async def fresh_captcha(client: httpx.AsyncClient) -> dict[str, Any]:
    """A challenge, waiting (without a time limit on the answer) for the pool to refill."""
    deadline = asyncio.get_running_loop().time() + CAPTCHA_WAIT
    while True:
        response = await client.post("/api/v1/captcha")
        if response.status_code == 201:
            return response.json()
        assert_error(response, 503, "unavailable")
        assert asyncio.get_running_loop().time() < deadline, "the CAPTCHA pool never refilled"
        await asyncio.sleep(0.1)


def check_ledger(rows: list[dict[str, Any]], acknowledged: list[str]) -> None:
    """Every acknowledged receipt once, nothing else, the chain intact from 64 zeros."""
    assert sorted(row["receipt"] for row in rows) == sorted(acknowledged)
    chain = [{**row, "candidate_id": row["candidate"]} for row in rows]
    assert first_break(chain) is None


# --- Redis --------------------------------------------------------------------------------


@pytest.fixture
def own_redis() -> Iterator[services.Service]:
    """A redis-server of this test's own, which the test stops and starts again."""
    service = services.start_redis()
    if service.url is None:
        services.unavailable(f"no private Redis: {service.reason}")
    try:
        yield service
    finally:
        service.stop()


async def test_redis_outage_refuses_votes_keeps_pages_and_voting_resumes(
    db, settings, staff, voting_campaign, own_redis
) -> None:
    from portal import media
    from portal.app import create_app

    await build_honours(media.upload_dir(settings.var_dir), Phase.published)
    mediators = voting_campaign["candidates"]["mediator"]
    stores = redis_stores(own_redis.url, "faults")
    app = create_app(settings, stores=stores)
    acknowledged = []
    try:
        async with serve(app) as client:
            first = await vote(client, mediators[0], captcha=await fresh_captcha(client))
            assert first.status_code == 201, first.text
            acknowledged.append(first.json()["receipt"])
            spare = await fresh_captcha(client)
            pages = public_pages(voting_campaign, acknowledged[0])
            before = {path: (await client.get(path)).status_code for path in pages}
            assert set(before.values()) == {200}, before

            own_redis.halt()
            response = await vote(client, mediators[1], captcha=spare)
            assert_error(response, 503, "unavailable")
            assert int(response.headers["retry-after"]) >= 1
            assert_error(await client.post("/api/v1/captcha"), 503, "unavailable")
            during = {path: (await client.get(path)).status_code for path in pages}
            assert during == before
            # The vote form needs a challenge: a Chinese page says why it cannot be shown.
            form = await client.get(f"/campaigns/{SLUG}/candidates/{mediators[1]}/vote")
            assert form.status_code == 503, form.status_code
            assert "服务暂时不可用" in form.text and "Traceback" not in form.text
            check_ledger(await ledger_rows(voting_campaign["campaign"].id), acknowledged)

            own_redis.resume()
            # The same process votes again: the pool refills, the refused vote goes in.
            again = await vote(client, mediators[1], captcha=await fresh_captcha(client))
            assert again.status_code == 201, again.text
            acknowledged.append(again.json()["receipt"])
            after = {path: (await client.get(path)).status_code for path in pages}
            assert after == before
    finally:
        await close_limits(stores)
    check_ledger(await ledger_rows(voting_campaign["campaign"].id), acknowledged)


async def test_reservations_of_a_refused_vote_are_handed_back_once_redis_answers(
    db, settings, voting_campaign, own_redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger fails and Redis stops answering before the reservations are handed
    back: they are handed back once Redis answers again, so the voter's retry is taken."""
    from portal.app import create_app
    from voting import services as voting

    mediator = voting_campaign["candidates"]["mediator"][0]
    stores = redis_stores(own_redis.url, "pause")
    app = create_app(settings, stores=stores)
    pid = own_redis.process.pid
    try:
        async with serve(app) as client:
            spare = await fresh_captcha(client)

            async def database_and_redis_fail(vote: Any) -> Any:
                os.kill(pid, signal.SIGSTOP)  # Redis stops answering (a partition)
                raise ConnectionRefusedError("the database is gone")

            monkeypatch.setattr(client.app.state.voting.ledger, "record", database_and_redis_fail)
            try:
                refused = await vote(client, mediator, captcha=spare)
            finally:
                os.kill(pid, signal.SIGCONT)
            assert_error(refused, 503, "unavailable")
            monkeypatch.undo()
            deadline = time.monotonic() + 120
            while voting._RETRIES:
                assert time.monotonic() < deadline, "the reservations were never handed back"
                await asyncio.sleep(0.1)

            again = await vote(client, mediator, captcha=await fresh_captcha(client))
            assert again.status_code == 201, again.text
            assert again.json()["votes_left_today"] == 1
    finally:
        await close_limits(stores)
    check_ledger(await ledger_rows(voting_campaign["campaign"].id), [again.json()["receipt"]])


# --- SQLite: locked, full --------------------------------------------------------------


@pytest.fixture
def sqlite_file(monkeypatch: pytest.MonkeyPatch) -> str:
    """The run's SQLite file, with a short busy timeout so a lock outlasts it quickly."""
    engine = get_engine()
    assert is_sqlite(engine), "mark the test sqlite_only"
    monkeypatch.setitem(engine.connection_kwargs, "timeout", 0.5)
    return engine.path


@contextlib.contextmanager
def write_lock(path: str) -> Iterator[None]:
    """Another connection holds SQLite's write lock for as long as the block runs."""
    holder = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


@contextlib.contextmanager
def full_disk() -> Iterator[None]:
    """No file of this process may grow past 1 KiB, as on a full disk: SQLite's writes
    fail (Python ignores SIGXFSZ, so a write past the limit returns an error)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def sqlite_threads() -> set[threading.Thread]:
    """The live threads of aiosqlite connections (each open connection has one)."""
    return {t for t in threading.enumerate() if "_connection_worker_thread" in t.name}


async def no_thread_left(before: set[threading.Thread]) -> None:
    """Every connection opened since ``before`` is closed: a leaked one keeps its
    thread, and the process could not exit."""
    deadline = time.monotonic() + 30
    while True:
        if not sqlite_threads() - before:
            return
        assert time.monotonic() < deadline, "a SQLite connection was left open"
        await asyncio.sleep(0.05)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("fault", ["locked", "full"])
async def test_sqlite_locked_or_full_answers_503_and_loses_no_vote(
    fault: str, app, sqlite_file: str, voting_campaign
) -> None:
    mediators = voting_campaign["candidates"]["mediator"]
    campaign_id = voting_campaign["campaign"].id
    acknowledged = []
    threads = sqlite_threads()
    async with serve(app) as client:
        first = await vote(client, mediators[0], captcha=await fresh_captcha(client))
        assert first.status_code == 201, first.text
        acknowledged.append(first.json()["receipt"])
        spare = await fresh_captcha(client)

        with write_lock(sqlite_file) if fault == "locked" else full_disk():
            refused = await vote(client, mediators[1], captcha=spare)
            receipt = await client.get(f"/api/v1/receipts/{acknowledged[0]}")
        assert_error(refused, 503, "unavailable")
        assert int(refused.headers["retry-after"]) >= 1
        if fault == "locked":  # WAL: readers never wait for the writer
            assert receipt.status_code == 200, receipt.text
        elif receipt.status_code != 200:  # SQLite may need to write to read after a failure
            assert_error(receipt, 503, "unavailable")

        # The refusal handed the reservations back: the same vote goes in now.
        again = await vote(client, mediators[1], captcha=await fresh_captcha(client))
        assert again.status_code == 201, again.text
        acknowledged.append(again.json()["receipt"])
        assert again.json()["votes_left_today"] == 0
    await no_thread_left(threads)
    check_ledger(await ledger_rows(campaign_id), acknowledged)


# --- PostgreSQL under a real server -------------------------------------------------------


FAULTS_SLUG = "faults-2024"


async def cast_one(client: httpx.AsyncClient, candidate_id: int, captcha_id: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/campaigns/{FAULTS_SLUG}/votes",
        json={
            "candidate_id": candidate_id,
            "captcha_id": captcha_id,
            "captcha_answer": TEST_ANSWER,
        },
    )


@pytest.fixture
def own_postgres(request: pytest.FixtureRequest) -> Iterator[services.Service]:
    """A PostgreSQL server of this test's own, which the test stops and starts again."""
    assert request.config.getoption("--db") == "postgres", "mark the test postgres_only"
    service = services.start_postgres()
    if service.url is None:
        services.unavailable(f"no private PostgreSQL: {service.reason}")
    try:
        yield service
    finally:
        service.stop()


@pytest.mark.postgres_only
async def test_postgres_outage_answers_503_and_recovers_without_restart(
    own_postgres: services.Service, tmp_path: Path
) -> None:
    # The private server is removed afterwards, its database with it.
    _name, database_url = infra.create_database(own_postgres.url, "portal_faults")
    deployment = await asyncio.to_thread(
        infra.deploy,
        database_url,
        tmp_path,
        {FAULTS_SLUG: {}},
        test_answer=TEST_ANSWER,
        pool_size=50,
    )
    mediators = deployment.candidates["mediator"]
    server = infra.Server(deployment.env, tmp_path / "server.log")
    headers = {"X-Forwarded-For": "100.64.7.1"}
    acknowledged = []
    try:
        async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=60) as client:
            await server.ready(pool=4, seconds=120)
            first = await cast_one(client, mediators[0], await durability.captcha(client))
            assert first.status_code == 201, first.text
            acknowledged.append(first.json()["receipt"])
            spare = await durability.captcha(client)

            await asyncio.to_thread(own_postgres.halt)
            refused = await cast_one(client, mediators[1], spare)
            assert_error(refused, 503, "unavailable")
            api = await client.get(f"/api/v1/campaigns/{FAULTS_SLUG}")
            assert_error(api, 503, "unavailable")
            page = await client.get(f"/campaigns/{FAULTS_SLUG}", headers={"Accept": "text/html"})
            assert page.status_code == 503
            assert page.headers["content-type"].startswith("text/html")
            assert "服务暂时不可用" in page.text and "Traceback" not in page.text
            assert (await client.get("/healthz")).status_code == 200
            ready = await client.get("/healthz/ready")
            assert ready.status_code == 503 and ready.json()["database"] is False

            await asyncio.to_thread(own_postgres.resume)
            await server.ready(seconds=120)
            # The same process: its pool reconnects, the refused vote goes in.
            again = await cast_one(client, mediators[1], await durability.captcha(client))
            assert again.status_code == 201, again.text
            acknowledged.append(again.json()["receipt"])
            page = await client.get(f"/campaigns/{FAULTS_SLUG}")
            assert page.status_code == 200
    finally:
        server.stop()
    rows = await infra.ledger_rows(database_url, FAULTS_SLUG)
    durability.check_chain(rows)
    assert sorted(row["receipt"] for row in rows) == sorted(acknowledged)
    log = server.log.read_text()
    assert "Traceback" not in log, log[-3000:]
