"""Load shedding: a bounded number of requests in flight, a bounded wait, then 503.

Handlers are held on events and slots are filled by hand, so every outcome is
decided by the order of events, never by how fast the machine is.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from portal.settings import ConfigError, Settings
from portal.shedding import RETRY_AFTER, Shedder
from tests.voting.conftest import (
    TEST_ANSWER,
    assert_error,
    ledger_rows,
    make_voting_campaign,
    new_captcha,
    serve,
)
from voting import ledger as ledger_module

SLOW = "/slow"
# Only so that a broken implementation fails instead of hanging: never a speed check.
HANG_GUARD = 120.0


async def bounded(awaitable: Any) -> Any:
    return await asyncio.wait_for(awaitable, HANG_GUARD)


async def until(predicate: Callable[[], bool], seconds: float = 60.0) -> None:
    """Wait until ``predicate()`` holds (generous: the machine may be busy)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():
        assert loop.time() < deadline, "the condition never held"
        await asyncio.sleep(0.005)


class HeldApp:
    """An ASGI app whose ``/slow`` requests wait for ``go``; everything else answers at once."""

    def __init__(self) -> None:
        self.go = asyncio.Event()
        self.entered = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["path"].startswith(SLOW):
            self.entered += 1
            await self.go.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t.local")


# --- the mechanism ---------------------------------------------------------------------


async def test_full_slots_shed_the_next_request_with_503_and_retry_after() -> None:
    shedder, held = Shedder(max_inflight=3, queue_timeout=0), HeldApp()
    async with client_for(shedder.middleware(held)) as client:
        slow = [asyncio.create_task(client.get(SLOW)) for _ in range(3)]
        await until(lambda: held.entered == 3)
        assert shedder.inflight == 3

        api = await bounded(client.get("/api/v1/campaigns"))
        assert_error(api, 503, "unavailable")
        assert api.headers["retry-after"] == str(RETRY_AFTER)
        assert api.headers["cache-control"] == "no-store"
        page = await bounded(client.get("/campaigns/x"))
        assert page.status_code == 503
        assert page.headers["content-type"].startswith("text/html")
        assert "服务繁忙" in page.text and "未记录" in page.text
        assert page.headers["retry-after"] == str(RETRY_AFTER)
        # Health checks and static files are never shed.
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/healthz/ready")).status_code == 200
        assert (await client.get("/static/css/portal.css")).status_code == 200
        assert held.entered == 3  # the shed requests never reached the app

        held.go.set()
        assert [r.status_code for r in await asyncio.gather(*slow)] == [200, 200, 200]
    assert (shedder.inflight, shedder.waiting, shedder.shed) == (0, 0, 2)


async def test_a_burst_beyond_the_slots_gets_only_200_or_503_never_a_500() -> None:
    shedder, held = Shedder(max_inflight=4, queue_timeout=0), HeldApp()
    async with client_for(shedder.middleware(held)) as client:
        burst = [asyncio.create_task(client.get(SLOW)) for _ in range(20)]
        await until(lambda: held.entered + shedder.shed == 20)
        held.go.set()
        statuses = [r.status_code for r in await asyncio.gather(*burst)]
    assert sorted(statuses) == [200] * 4 + [503] * 16
    assert shedder.inflight == 0


async def test_a_waiting_request_takes_the_first_slot_given_back() -> None:
    shedder, held = Shedder(max_inflight=2, queue_timeout=3600), HeldApp()
    async with client_for(shedder.middleware(held)) as client:
        slow = [asyncio.create_task(client.get(SLOW)) for _ in range(2)]
        await until(lambda: held.entered == 2)
        queued = asyncio.create_task(client.get("/next"))
        await until(lambda: shedder.waiting == 1)
        assert not queued.done()
        held.go.set()
        assert (await queued).status_code == 200
        assert [r.status_code for r in await asyncio.gather(*slow)] == [200, 200]
    assert (shedder.inflight, shedder.waiting, shedder.shed) == (0, 0, 0)


async def test_a_request_waiting_past_the_bound_is_shed() -> None:
    shedder, held = Shedder(max_inflight=1, queue_timeout=0.01), HeldApp()
    async with client_for(shedder.middleware(held)) as client:
        slow = asyncio.create_task(client.get(SLOW))
        await until(lambda: held.entered == 1)
        # No slot is ever given back while it waits: it can only be shed.
        shed = await bounded(client.post("/api/v1/campaigns/x/votes", json={}))
        assert_error(shed, 503, "unavailable")
        assert shed.headers["retry-after"] == str(RETRY_AFTER)
        assert held.entered == 1
        held.go.set()
        assert (await slow).status_code == 200
    assert (shedder.inflight, shedder.waiting, shedder.shed) == (0, 0, 1)


def acquired_at_once(shedder: Shedder) -> bool:
    """The outcome of ``acquire()`` when it decides without waiting (fails otherwise)."""
    attempt = shedder.acquire()
    with pytest.raises(StopIteration) as decided:
        attempt.send(None)
    return decided.value.value


async def test_after_a_shed_newcomers_wait_only_briefly_until_the_overload_passes() -> None:
    now = [0.0]
    shedder = Shedder(max_inflight=1, queue_timeout=0.01, overload_wait=0, clock=lambda: now[0])
    assert acquired_at_once(shedder)
    # A request in a burst may wait the whole timeout; no slot comes back, so it is shed.
    burst = asyncio.create_task(shedder.acquire())
    await asyncio.sleep(0)  # it runs up to its wait
    assert shedder.waiting == 1
    assert await bounded(burst) is False

    # Overloaded (a shed within the last timeout): a newcomer is turned away at once.
    assert acquired_at_once(shedder) is False
    assert (shedder.waiting, shedder.shed) == (0, 2)

    # The overload has passed: a newcomer may wait again.
    now[0] = 0.02
    later = asyncio.create_task(shedder.acquire())
    await asyncio.sleep(0)
    assert shedder.waiting == 1
    shedder.release()
    assert await bounded(later) is True
    shedder.release()
    assert (shedder.inflight, shedder.waiting, shedder.shed) == (0, 0, 2)


async def test_a_client_leaving_the_line_loses_no_slot() -> None:
    shedder = Shedder(max_inflight=1, queue_timeout=3600)
    assert await shedder.acquire()
    gone = asyncio.create_task(shedder.acquire())
    await until(lambda: shedder.waiting == 1)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert shedder.waiting == 0

    # Cancelled after the slot was handed over, before it ran: the slot is passed on.
    handed = asyncio.create_task(shedder.acquire())
    await until(lambda: shedder.waiting == 1)
    shedder.release()
    handed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await handed
    assert (shedder.inflight, shedder.waiting) == (0, 0)
    assert await shedder.acquire()  # straight in
    shedder.release()
    assert shedder.inflight == 0


# --- settings --------------------------------------------------------------------------


def test_the_bounds_come_from_the_environment(tmp_path: Any) -> None:
    base = {"PORTAL_VAR_DIR": str(tmp_path), "PORTAL_SECRET_KEY": "k" * 40}
    default = Settings.from_env(base)
    assert (default.max_inflight, default.queue_timeout, default.ledger_wait) == (128, 0.5, 1.0)
    chosen = Settings.from_env(
        {
            **base,
            "PORTAL_MAX_INFLIGHT": "8",
            "PORTAL_QUEUE_TIMEOUT_MS": "0",
            "PORTAL_LEDGER_WAIT_MS": "250",
        }
    )
    assert (chosen.max_inflight, chosen.queue_timeout, chosen.ledger_wait) == (8, 0.0, 0.25)
    for name, bad in [
        ("PORTAL_MAX_INFLIGHT", "0"),
        ("PORTAL_MAX_INFLIGHT", "many"),
        ("PORTAL_QUEUE_TIMEOUT_MS", "-1"),
        ("PORTAL_QUEUE_TIMEOUT_MS", "0.5"),
        ("PORTAL_LEDGER_WAIT_MS", "60001"),
    ]:
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({**base, name: bad})


# --- the portal ------------------------------------------------------------------------


@pytest.fixture
def shed_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, captcha_test_answer=TEST_ANSWER, captcha_pool_size=24)


async def test_the_portal_sheds_before_anything_is_read_or_recorded(
    bureaus: None, shed_settings: Settings
) -> None:
    from portal.app import create_app

    app = create_app(dataclasses.replace(shed_settings, max_inflight=2, queue_timeout=0))
    world = await make_voting_campaign()
    campaign, candidate = world["campaign"], world["candidates"]["mediator"][0]
    async with serve(app) as client:
        captcha = await new_captcha(client)
        ballot = {
            "candidate_id": candidate,
            "captcha_id": captcha["captcha_id"],
            "captcha_answer": TEST_ANSWER,
        }
        shedder: Shedder = app.state.shedder
        # Every slot taken, as by requests still being handled.
        assert await shedder.acquire() and await shedder.acquire()

        shed = await bounded(client.post(f"/api/v1/campaigns/{campaign.slug}/votes", json=ballot))
        assert_error(shed, 503, "unavailable")
        assert shed.headers["retry-after"] == str(RETRY_AFTER)
        assert "content-security-policy" in shed.headers  # the portal's headers still apply
        assert "set-cookie" not in shed.headers  # no session was touched
        page = await bounded(client.get(f"/campaigns/{campaign.slug}"))
        assert page.status_code == 503 and "服务繁忙" in page.text
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/static/css/portal.css")).status_code == 200
        assert await ledger_rows(campaign.id) == []

        shedder.release()
        shedder.release()
        # Nothing of the shed vote was used up: the same challenge still counts.
        accepted = await client.post(f"/api/v1/campaigns/{campaign.slug}/votes", json=ballot)
        assert accepted.status_code == 201, accepted.text
        assert len(await ledger_rows(campaign.id)) == 1
        assert (await client.get(f"/campaigns/{campaign.slug}")).status_code == 200
    assert shedder.inflight == 0


async def test_a_vote_the_busy_ledger_writer_does_not_take_in_time_is_refused_unrecorded(
    bureaus: None, shed_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from portal.app import create_app

    committing, go = asyncio.Event(), asyncio.Event()
    real_commit = ledger_module.commit

    async def held_commit(votes: list[Any], at: Any = None) -> set[int]:
        committing.set()
        await go.wait()
        return await real_commit(votes, at)

    monkeypatch.setattr(ledger_module, "commit", held_commit)
    app = create_app(dataclasses.replace(shed_settings, ledger_wait=0.01))
    world = await make_voting_campaign()
    campaign = world["campaign"]
    first_candidate, second_candidate = world["candidates"]["mediator"][:2]
    path = f"/api/v1/campaigns/{campaign.slug}/votes"
    async with serve(app) as client:
        service = app.state.voting
        first_voter, second_voter = service.new_voter_cookie(), service.new_voter_cookie()

        async def cast(voter: str, candidate: int) -> httpx.Response:
            captcha = await new_captcha(client)
            return await client.post(
                path,
                json={
                    "candidate_id": candidate,
                    "captcha_id": captcha["captcha_id"],
                    "captcha_answer": TEST_ANSWER,
                },
                headers={"cookie": f"portal_voter={voter}"},
            )

        first = asyncio.create_task(cast(first_voter, first_candidate))
        await committing.wait()  # the writer took the first vote; its commit is held

        refused = await bounded(cast(second_voter, first_candidate))
        body = assert_error(refused, 503, "unavailable")
        assert "未被记录" in body["message"]
        assert refused.headers["retry-after"] == "2"
        assert service.ledger.withdrawn == 1
        # The first vote was queued before the refused one and has waited longer, but
        # the writer had taken it: it is never withdrawn, and is answered once committed.
        assert not first.done()
        go.set()
        accepted = await first
        assert accepted.status_code == 201, accepted.text
        rows = await ledger_rows(campaign.id)
        assert [r["receipt"] for r in rows] == [accepted.json()["receipt"]]

        # The refused voter's reservations were given back: the same vote now counts.
        retried = await cast(second_voter, first_candidate)
        assert retried.status_code == 201, retried.text
        other = await cast(second_voter, second_candidate)
        assert other.status_code == 201, other.text
        assert len(await ledger_rows(campaign.id)) == 3
