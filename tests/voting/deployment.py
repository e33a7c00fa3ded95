"""Real deployments for the tests that need real `portal serve` processes.

A deployment is a migrated database of its own (a temporary SQLite file, or a fresh
PostgreSQL database on the run's server) with campaigns open for voting; bench/infra.py
makes it and runs its servers. Shared by tests/voting/test_durability.py,
tests/voting/test_scale_out.py and tests/voting/test_faults.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import infra
from tests.voting.conftest import TEST_ANSWER
from voting.ledger import first_break
from voting.services import CATALOG_TTL, receipt_hash


@contextlib.contextmanager
def deploy(
    folder: Path,
    campaigns: dict[str, dict[str, Any]],
    *,
    postgres: bool,
    pool_size: int,
    redis_url: str | None = None,
) -> Iterator[infra.Deployment]:
    """A migrated database of its own with ``campaigns`` open for voting; dropped after.
    Its servers draw ``pool_size`` CAPTCHA challenges ahead: what a test's stream needs,
    no more (each drawing costs CPU the rest of the suite is waiting for)."""
    with contextlib.ExitStack() as stack:
        if postgres:
            server_url = os.environ["DATABASE_URL"]
            url = stack.enter_context(infra.fresh_database(server_url, "portal_deploy"))
        else:
            url = f"sqlite:///{folder / 'portal.sqlite3'}"
        yield infra.deploy(
            url,
            folder,
            campaigns,
            test_answer=TEST_ANSWER,
            pool_size=pool_size,
            redis_url=redis_url,
        )


async def captcha(client: httpx.AsyncClient, **kw: Any) -> str:
    """A fresh challenge's id, waiting while the pool is being refilled."""
    for _ in range(1500):
        response = await client.post("/api/v1/captcha", **kw)
        if response.status_code == 201:
            return response.json()["captcha_id"]
        assert response.status_code == 503, response.text  # the pool is being refilled
        await asyncio.sleep(0.02)
    raise AssertionError("the CAPTCHA pool never filled")


def check_chain(rows: list[dict]) -> None:
    """The public chain holds over the rows in ``seq`` order (no gap, no bad link)."""
    broken = first_break(rows)
    assert broken is None, f"the chain breaks at seq {rows[broken]['seq']}"


# --- closing under a stream of votes ------------------------------------------------------


@dataclass
class Closing:
    """What the voters saw while the campaign was closed under them: each answer with
    the time its request was sent, when the close began and when it returned, and the
    public ledger downloaded right after the close and again once every process's cached
    rules have expired."""

    answers: list[tuple[dt.datetime, httpx.Response]]
    began: dt.datetime
    closed: dt.datetime
    ledger_then: str = ""
    ledger_later: str = ""

    def check(self) -> list[dict[str, Any]]:
        """Closing is final: every acknowledged vote was cast before the close returned
        and is in the ledger, every vote sent after it was refused with 403
        voting_closed, nothing else was answered, and the ledger never changed after the
        close. Returns the acknowledged votes."""
        acked = [r.json() for _, r in self.answers if r.status_code == 201]
        others = Counter(
            (r.status_code, r.json().get("error")) for _, r in self.answers if r.status_code != 201
        )
        assert set(others) <= {(403, "voting_closed")}, others
        assert all(dt.datetime.fromisoformat(a["cast_at"]) < self.closed for a in acked)
        late = [r for sent, r in self.answers if sent > self.closed]
        assert late, "no vote was sent after the close"
        assert all(r.status_code == 403 for r in late)
        assert self.ledger_then == self.ledger_later
        rows = list(csv.DictReader(io.StringIO(self.ledger_then, newline="")))
        assert {row["receipt_hash"] for row in rows} == {receipt_hash(a["receipt"]) for a in acked}
        check_chain(rows)
        return acked


async def vote_through_the_close(
    send: Callable[[], Awaitable[httpx.Response]],
    close: Callable[[], None],
    ledger: Callable[[], Awaitable[str]],
    *,
    voters: int,
    before: int,
    after: float = 1.0,
) -> Closing:
    """``voters`` tasks vote (each ``send`` one vote) until ``after`` seconds past the
    close; once ``before`` votes are acknowledged, ``close`` (blocking: a `portal phase`
    command, another process) runs in a thread. ``ledger`` downloads the public ledger."""
    answers: list[tuple[dt.datetime, httpx.Response]] = []
    stop = asyncio.Event()

    async def voter() -> None:
        while not stop.is_set():
            sent = dt.datetime.now(dt.UTC)
            answers.append((sent, await send()))

    tasks = [asyncio.create_task(voter()) for _ in range(voters)]
    try:
        deadline = time.monotonic() + 60
        while sum(1 for _, r in answers if r.status_code == 201) < before:
            for task in tasks:
                if task.done():
                    task.result()  # a voter failed: show why
            assert time.monotonic() < deadline, "too few votes acknowledged before the close"
            await asyncio.sleep(0.005)
        began = dt.datetime.now(dt.UTC)
        await asyncio.to_thread(close)
        closing = Closing(answers, began, dt.datetime.now(dt.UTC))
        closing.ledger_then = await ledger()
        await asyncio.sleep(after)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    await asyncio.sleep(CATALOG_TTL + 0.5)  # every process has read the campaign again
    closing.ledger_later = await ledger()
    return closing
