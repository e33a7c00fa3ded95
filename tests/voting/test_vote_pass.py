"""The vote pass (contract, "Voting"): a correctly answered CAPTCHA returns a pass that
spares the voter a CAPTCHA per vote for 15 minutes, for the same voter (cookie and
network), campaign and day. It never raises an allowance; a held vote, the network's
burst limit, a new day or its expiry withdraw it (400 captcha_required, nothing
recorded); another network or cookie cannot use it. On both shared stores."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from portal.tables import Campaign
from tests.voting.conftest import (
    SLUG,
    assert_error,
    ledger_rows,
    make_voting_campaign,
    serve,
    vote,
    voting_service,
)
from voting.brushing import BrushingChecks
from voting.services import PASS_LIFETIME

pytestmark = pytest.mark.usefixtures("bureaus")

LOCALHOST = (ipaddress.ip_network("127.0.0.1/32"),)

HOME = {"X-Forwarded-For": "198.51.100.20"}
ELSEWHERE = {"X-Forwarded-For": "203.0.113.9"}


@pytest.fixture
async def api(build_app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """The app behind a trusted proxy (the test client): X-Forwarded-For is the network."""
    async with serve(build_app(trusted_proxies=LOCALHOST)) as client:
        yield client


async def with_pass(
    client: httpx.AsyncClient, candidate_id: int, vote_pass: str, headers: dict = HOME
) -> httpx.Response:
    return await client.post(
        f"/api/v1/campaigns/{SLUG}/votes",
        json={"candidate_id": candidate_id, "vote_pass": vote_pass},
        headers=headers,
    )


async def first_pass(api: httpx.AsyncClient, candidate_id: int) -> dict[str, Any]:
    """A vote with a CAPTCHA: its answer carries the pass."""
    response = await vote(api, candidate_id, headers=HOME)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["vote_pass"] and body["pass_expires_in"] == PASS_LIFETIME
    return body


def after(api: httpx.AsyncClient, delta: dt.timedelta) -> None:
    """Move the vote clock on by ``delta`` (the voting window is days long)."""
    start = dt.datetime.now(dt.UTC)
    voting_service(api).clock = lambda: start + delta


async def test_one_captcha_then_the_pass_for_the_days_votes_and_no_more(api) -> None:
    made = await make_voting_campaign()
    offices, mediators = made["candidates"]["judicial-office"], made["candidates"]["mediator"]
    token = (await first_pass(api, offices[0]))["vote_pass"]
    answers = [await with_pass(api, c, token) for c in (offices[1], offices[2], *mediators[:2])]
    assert [a.status_code for a in answers] == [201] * 4
    assert {a.json()["vote_pass"] for a in answers} == {token}
    assert all(0 < a.json()["pass_expires_in"] <= PASS_LIFETIME for a in answers)
    assert [a.json()["votes_left_today"] for a in answers] == [1, 0, 1, 0]
    # The pass never raises an allowance, nor lets a candidate be voted for twice.
    assert_error(await with_pass(api, offices[3], token), 429, "limit_reached")
    assert_error(await with_pass(api, mediators[0], token), 409, "already_voted")
    assert len(await ledger_rows(made["campaign"].id)) == 5


@pytest.mark.parametrize("how", ["another network", "another cookie", "forged", "garbled"])
async def test_a_pass_used_by_anyone_else_asks_for_a_captcha(api, how: str) -> None:
    made = await make_voting_campaign()
    offices = made["candidates"]["judicial-office"]
    token = (await first_pass(api, offices[0]))["vote_pass"]
    headers = HOME
    if how == "another network":
        headers = ELSEWHERE
    elif how == "another cookie":
        api.cookies.clear()
    elif how == "forged":
        campaign, day, expires, _ = token.split(".")
        token = f"{campaign}.{day}.{int(expires) + 3600}.{'A' * 24}"
    else:
        token = token[:-3] + "..."
    assert_error(await with_pass(api, offices[1], token, headers), 400, "captcha_required")
    assert len(await ledger_rows(made["campaign"].id)) == 1


@pytest.mark.parametrize(
    "delta", [dt.timedelta(seconds=PASS_LIFETIME + 1), dt.timedelta(days=1)], ids=str
)
async def test_an_expired_pass_or_one_of_yesterday_asks_for_a_captcha(api, delta) -> None:
    made = await make_voting_campaign()
    offices = made["candidates"]["judicial-office"]
    token = (await first_pass(api, offices[0]))["vote_pass"]
    after(api, delta)
    assert_error(await with_pass(api, offices[1], token), 400, "captcha_required")
    again = await vote(api, offices[1], headers=HOME)  # a fresh CAPTCHA: a fresh pass
    assert again.status_code == 201 and again.json()["vote_pass"] not in (None, token)


async def test_the_network_burst_limit_withdraws_the_pass(api) -> None:
    made = await make_voting_campaign(network_votes_per_minute=3, network_votes_per_day=100)
    offices, mediators = made["candidates"]["judicial-office"], made["candidates"]["mediator"]
    token = (await first_pass(api, offices[0]))["vote_pass"]
    assert (await with_pass(api, offices[1], token)).status_code == 201
    assert (await with_pass(api, offices[2], token)).status_code == 201
    assert_error(await with_pass(api, mediators[0], token), 429, "rate_limited")
    # The burst limit lifted (the city raised it): the pass is not honoured again.
    await (
        Campaign.update({Campaign.network_votes_per_minute: 100}).where(Campaign.slug == SLUG).run()
    )
    voting_service(api).forget(SLUG)
    assert_error(await with_pass(api, mediators[0], token), 400, "captcha_required")
    assert len(await ledger_rows(made["campaign"].id)) == 3


async def test_a_held_vote_withdraws_the_pass(api) -> None:
    made = await make_voting_campaign()
    service = voting_service(api)
    service.brushing = BrushingChecks(service.store, network_burst=1)
    offices = made["candidates"]["judicial-office"]
    token = (await first_pass(api, offices[0]))["vote_pass"]
    mine = api.cookies.get("portal_voter")
    api.cookies.clear()  # another voter on the same network votes for office 2 first
    assert (await vote(api, offices[1], headers=HOME)).status_code == 201
    api.cookies.set("portal_voter", mine)
    held = await with_pass(api, offices[1], token)  # the second from this network: held
    assert held.status_code == 201, held.text
    body = held.json()
    assert body["status"] == "held" and body["vote_pass"] is None
    assert body["pass_expires_in"] is None
    assert_error(await with_pass(api, offices[2], token), 400, "captcha_required")
    # A CAPTCHA answered later earns a new pass, which the withdrawal does not touch.
    service.brushing = BrushingChecks(service.store)
    after(api, dt.timedelta(seconds=30))
    fresh = await vote(api, offices[2], headers=HOME)
    assert fresh.status_code == 201 and fresh.json()["status"] == "counted", fresh.text
    mediators = made["candidates"]["mediator"]
    assert (await with_pass(api, mediators[0], fresh.json()["vote_pass"])).status_code == 201
    assert_error(await with_pass(api, mediators[1], token), 400, "captcha_required")


async def test_a_vote_with_neither_captcha_nor_pass_is_malformed(api) -> None:
    made = await make_voting_campaign()
    office = made["candidates"]["judicial-office"][0]
    response = await api.post(f"/api/v1/campaigns/{SLUG}/votes", json={"candidate_id": office})
    assert_error(response, 400, "invalid")
    assert await ledger_rows(made["campaign"].id) == []
