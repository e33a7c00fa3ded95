"""Closing is final: from the moment a campaign leaves the voting phase (or its window
ends), no vote is recorded, whatever a server process has cached.

In process: a server whose cached voting rules still say "open" refuses the vote where
it is written (403 voting_closed) and hands the voter's reservations back. Black box:
voters stream votes at a real `portal serve` while `portal phase SLUG tallying` runs in
another process; every 201 was cast before the command returned, every vote sent after
it is refused, and the public ledger downloaded right after the close is the one
downloaded once every cache has expired. (tests/voting/test_scale_out.py runs the same
stream against two processes on PostgreSQL and Redis.)
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bench.campaign import SLUG, make_voting_campaign
from bench.infra import Deployment, Server, new_network
from portal.tables import Campaign, Phase
from tests.voting.conftest import TEST_ANSWER, vote
from tests.voting.deployment import captcha, deploy, vote_through_the_close
from voting.tables import Vote

STREAM_SLUG = "closing-2024"
VOTERS = 6
BEFORE = 20  # votes acknowledged before the close


async def test_a_vote_reaching_the_ledger_after_the_close_is_refused(client, bureaus) -> None:  # type: ignore[no-untyped-def]
    """Another process closed voting; this one's cached rules say open: the vote is
    refused where it is written, nothing is recorded, and the voter's reservations are
    handed back (the same vote is taken once the campaign is open again)."""
    made = await make_voting_campaign()
    office = made["candidates"]["judicial-office"][0]
    headers = {"X-Forwarded-For": "198.51.100.7"}
    first = await vote(client, made["candidates"]["mediator"][0], headers=headers)
    assert first.status_code == 201  # the rules are cached now (the client keeps the cookie)
    for change in (
        {Campaign.phase: Phase.tallying.value},
        {Campaign.voting_closes_at: dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)},
    ):
        await Campaign.update(change).where(Campaign.slug == SLUG).run()
        refused = await vote(client, office, headers=headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "voting_closed"
        assert await Vote.count().run() == 1
        await (
            Campaign.update(
                {
                    Campaign.phase: Phase.voting.value,
                    Campaign.voting_closes_at: made["campaign"].voting_closes_at,
                }
            )
            .where(Campaign.slug == SLUG)
            .run()
        )
    taken = await vote(client, office, headers=headers)
    assert taken.status_code == 201, taken.text
    assert taken.json()["votes_left_today"] == 2  # one office of three: nothing kept back


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """A SQLite deployment (so this runs in the SQLite pass only: test_scale_out.py runs
    the stream on PostgreSQL and Redis, against two processes)."""
    with deploy(
        tmp_path_factory.mktemp("closing"),
        {STREAM_SLUG: {"units": 8, "mediators": 12}},
        postgres=False,
        pool_size=BEFORE + 4 * VOTERS,
    ) as made:
        yield made


async def test_votes_streaming_through_the_close_are_recorded_before_it_or_not_at_all(
    deployment: Deployment, tmp_path: Path
) -> None:
    env = {**deployment.env, "PORTAL_QUEUE_TIMEOUT_MS": "60000", "PORTAL_LEDGER_WAIT_MS": "0"}
    rng, used = random.Random(secrets.randbits(64)), set()
    offices = deployment.candidates["judicial-office"]
    server = Server(env, tmp_path / "serve.log")
    try:
        await server.ready(pool=BEFORE)
        async with httpx.AsyncClient(base_url=server.base, timeout=30) as client:

            async def send() -> httpx.Response:
                headers = {"X-Forwarded-For": new_network(rng, used)}
                ticket = await captcha(client, headers=headers)
                return await client.post(
                    f"/api/v1/campaigns/{STREAM_SLUG}/votes",
                    json={
                        "candidate_id": rng.choice(offices),
                        "captcha_id": ticket,
                        "captcha_answer": TEST_ANSWER,
                    },
                    headers=headers,
                )

            async def ledger() -> str:
                response = await client.get(f"/api/v1/campaigns/{STREAM_SLUG}/ledger.csv")
                assert response.status_code == 200, response.text
                return response.text

            def close() -> None:
                moved = deployment.portal("phase", STREAM_SLUG, "tallying")
                assert moved.returncode == 0, moved.stdout + moved.stderr

            closing = await vote_through_the_close(
                send,
                close,
                ledger,
                voters=VOTERS,
                before=BEFORE,
            )
    finally:
        server.stop()
    acked = closing.check()
    assert len(acked) >= BEFORE
    assert "Traceback" not in server.log.read_text()
