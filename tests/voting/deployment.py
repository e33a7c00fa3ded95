"""Real deployments for the tests that need real `portal serve` processes.

A deployment is a migrated database of its own (a temporary SQLite file, or a fresh
PostgreSQL database on the run's server) with campaigns open for voting; bench/infra.py
makes it and runs its servers. Shared by tests/voting/test_durability.py,
tests/voting/test_scale_out.py and tests/voting/test_faults.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench import infra
from tests.voting.conftest import TEST_ANSWER
from voting.ledger import first_break


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
