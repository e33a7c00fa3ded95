"""The vote limits of the contract, exact under concurrency, on both shared stores.

One voter's daily allowance per category, one vote per candidate per day, the per-network
caps that rotating cookies or a spoofed ``X-Forwarded-For`` cannot escape, and the
calendar day of the campaign's time zone (Asia/Shanghai) as the unit of all of them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.voting.conftest import (
    SLUG,
    assert_error,
    issue_captchas,
    ledger_rows,
    make_voting_campaign,
    open_connections,
    serve,
    sign_in_voter,
    vote,
    voting_service,
)

pytestmark = pytest.mark.usefixtures("bureaus")

SHANGHAI = ZoneInfo("Asia/Shanghai")
LAST_SECOND = dt.datetime(2024, 6, 30, 23, 59, 59, tzinfo=SHANGHAI)
MIDNIGHT = dt.datetime(2024, 7, 1, 0, 0, 0, tzinfo=SHANGHAI)
LOCALHOST = (ipaddress.ip_network("127.0.0.1/32"),)


def seconds_to_shanghai_midnight(now: dt.datetime) -> int:
    local = now.astimezone(SHANGHAI)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), SHANGHAI)
    return int((midnight - local).total_seconds())


def freeze(client: httpx.AsyncClient, moment: dt.datetime) -> None:
    """Set the vote clock (given in UTC, as the server's clock is)."""
    voting_service(client).clock = lambda: moment.astimezone(dt.UTC)


async def midnight_campaign(**fields: Any) -> dict[str, Any]:
    """A campaign whose voting window spans Shanghai's midnight of 30 June 2024."""
    return await make_voting_campaign(
        voting_opens_at=LAST_SECOND - dt.timedelta(days=2),
        voting_closes_at=MIDNIGHT + dt.timedelta(days=2),
        **fields,
    )


async def anonymous_vote(client: httpx.AsyncClient, candidate_id: int, **kw: Any) -> httpx.Response:
    """A vote from a visitor who cleared their cookies: a new voter every time."""
    client.cookies.clear()
    return await vote(client, candidate_id, **kw)


# --- exact under concurrency ------------------------------------------------------------


async def test_hundred_parallel_votes_of_one_voter_record_exactly_the_allowance(api) -> None:
    """100 concurrent votes (one cookie, one network, 100 candidates) record exactly 3."""
    campaign = await make_voting_campaign(
        units=100, network_votes_per_day=1000, network_votes_per_minute=1000
    )
    candidates = campaign["candidates"]["judicial-office"]  # 3 votes a day
    sign_in_voter(api)
    captchas = await issue_captchas(api, 100)
    await voting_service(api).rules(SLUG)
    await open_connections(api)
    responses = await asyncio.gather(
        *(vote(api, c, captcha=captcha) for c, captcha in zip(candidates, captchas, strict=True))
    )
    assert Counter(r.status_code for r in responses) == {201: 3, 429: 97}
    accepted = [r.json() for r in responses if r.status_code == 201]
    assert sorted(body["votes_left_today"] for body in accepted) == [0, 1, 2]
    for response in responses:
        assert "set-cookie" not in response.headers  # one voter throughout
        if response.status_code == 429:
            assert_error(response, 429, "limit_reached")
            assert int(response.headers["retry-after"]) >= 1
    rows = await ledger_rows(campaign["campaign"].id)
    assert len(rows) == 3
    assert sorted(row["receipt"] for row in rows) == sorted(body["receipt"] for body in accepted)
    assert len({row["voter_hash"] for row in rows}) == 1


async def test_hundred_parallel_votes_for_one_candidate_record_one(api) -> None:
    """100 concurrent votes of one voter for one candidate: one 201, 99 already_voted."""
    campaign = await make_voting_campaign(network_votes_per_day=1000, network_votes_per_minute=1000)
    candidate = campaign["candidates"]["mediator"][0]
    sign_in_voter(api)
    captchas = await issue_captchas(api, 100)
    await voting_service(api).rules(SLUG)
    await open_connections(api)
    responses = await asyncio.gather(*(vote(api, candidate, captcha=c) for c in captchas))
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 99}
    for response in responses:
        if response.status_code == 409:
            assert_error(response, 409, "already_voted")
    rows = await ledger_rows(campaign["campaign"].id)
    assert [row["candidate"] for row in rows] == [candidate]


# --- per network ------------------------------------------------------------------------


async def test_rotating_forwarded_for_from_an_untrusted_client_hits_the_daily_network_cap(
    api,
) -> None:
    """Without trusted proxies, new cookies and a new X-Forwarded-For still meet the cap."""
    campaign = await make_voting_campaign(network_votes_per_day=5, network_votes_per_minute=50)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    freeze(api, now)
    candidates = campaign["candidates"]["mediator"]
    statuses = []
    for i in range(6):
        headers = {"X-Forwarded-For": f"203.0.113.{i + 1}"}
        response = await anonymous_vote(api, candidates[i], headers=headers)
        statuses.append(response.status_code)
    assert statuses == [201] * 5 + [429]
    assert_error(response, 429, "rate_limited")
    assert response.headers["retry-after"] == str(seconds_to_shanghai_midnight(now))
    rows = await ledger_rows(campaign["campaign"].id)
    assert len(rows) == 5
    assert {row["network"] for row in rows} == {"127.0.0.1"}


async def test_rotating_forwarded_for_from_an_untrusted_client_hits_the_burst_cap(api) -> None:
    """Without trusted proxies, a fourth attempt within the minute is rate_limited."""
    campaign = await make_voting_campaign(network_votes_per_day=100, network_votes_per_minute=3)
    candidates = campaign["candidates"]["mediator"]
    statuses = []
    for i in range(4):
        headers = {"X-Forwarded-For": f"198.51.100.{i + 1}"}
        response = await anonymous_vote(api, candidates[i], headers=headers)
        statuses.append(response.status_code)
    assert statuses == [201, 201, 201, 429]
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response.headers["retry-after"]) <= 61
    assert len(await ledger_rows(campaign["campaign"].id)) == 3


async def test_forwarded_for_from_a_trusted_proxy_is_honoured(build_app) -> None:
    """Behind a trusted proxy each forwarded address is its own network with its own cap."""
    campaign = await make_voting_campaign(network_votes_per_day=5, network_votes_per_minute=50)
    candidates = campaign["candidates"]["mediator"]
    async with serve(build_app(trusted_proxies=LOCALHOST)) as client:
        for i in range(7):  # more than one network's daily cap, from seven networks
            headers = {"X-Forwarded-For": f"203.0.113.{i + 1}"}
            response = await anonymous_vote(client, candidates[i], headers=headers)
            assert response.status_code == 201, response.text
        one = {"X-Forwarded-For": "198.51.100.9"}
        statuses = [
            (await anonymous_vote(client, c, headers=one)).status_code for c in candidates[:6]
        ]
    assert statuses == [201] * 5 + [429]
    rows = await ledger_rows(campaign["campaign"].id)
    assert len(rows) == 12
    assert Counter(row["network"] for row in rows)["198.51.100.9"] == 5


async def test_rotating_ipv6_addresses_within_one_64_stay_limited(build_app) -> None:
    """Addresses of one IPv6 /64 share the cap; another /64 is another network."""
    campaign = await make_voting_campaign(network_votes_per_day=5, network_votes_per_minute=50)
    candidates = campaign["candidates"]["mediator"]
    async with serve(build_app(trusted_proxies=LOCALHOST)) as client:
        statuses = []
        for i in range(6):
            headers = {"X-Forwarded-For": f"2001:db8:1:2:{i + 1:x}::{i + 7:x}"}
            response = await anonymous_vote(client, candidates[i], headers=headers)
            statuses.append(response.status_code)
        assert statuses == [201] * 5 + [429]
        assert_error(response, 429, "rate_limited")
        other = {"X-Forwarded-For": "2001:db8:1:3::1"}
        response = await anonymous_vote(client, candidates[6], headers=other)
        assert response.status_code == 201, response.text
    rows = await ledger_rows(campaign["campaign"].id)
    assert Counter(row["network"] for row in rows) == {
        "2001:db8:1:2::/64": 5,
        "2001:db8:1:3::/64": 1,
    }


# --- the campaign's calendar day --------------------------------------------------------


async def test_votes_either_side_of_shanghai_midnight_fall_on_two_days(api) -> None:
    """23:59:59 and 00:00:00 Beijing time are two days: the same candidate again is fine."""
    campaign = await midnight_campaign()
    candidate = campaign["candidates"]["mediator"][0]
    freeze(api, LAST_SECOND)
    first = await vote(api, candidate)
    assert first.status_code == 201, first.text
    assert first.json()["cast_at"] == "2024-06-30T23:59:59.000+08:00"
    assert_error(await vote(api, candidate), 409, "already_voted")
    freeze(api, MIDNIGHT)
    second = await vote(api, candidate)
    assert second.status_code == 201, second.text
    assert second.json()["cast_at"] == "2024-07-01T00:00:00.000+08:00"
    rows = await ledger_rows(campaign["campaign"].id)
    assert [(row["day"], row["cast_at"]) for row in rows] == [
        ("2024-06-30", "2024-06-30T23:59:59.000+08:00"),
        ("2024-07-01", "2024-07-01T00:00:00.000+08:00"),
    ]
    assert rows[0]["voter_hash"] == rows[1]["voter_hash"]


async def test_allowance_resets_at_shanghai_midnight(api) -> None:
    """The category's 3 votes are spent at 23:59:59 and whole again at 00:00:00."""
    campaign = await midnight_campaign()
    candidates = campaign["candidates"]["judicial-office"]
    freeze(api, LAST_SECOND)
    left = []
    for candidate in candidates[:3]:
        response = await vote(api, candidate)
        assert response.status_code == 201, response.text
        left.append(response.json()["votes_left_today"])
    assert left == [2, 1, 0]
    refused = await vote(api, candidates[3])
    assert_error(refused, 429, "limit_reached")
    assert refused.headers["retry-after"] == "1"
    # Another category keeps its own allowance on the same day.
    assert (await vote(api, campaign["candidates"]["mediator"][0])).status_code == 201
    freeze(api, MIDNIGHT)
    response = await vote(api, candidates[3])
    assert response.status_code == 201, response.text
    assert response.json()["votes_left_today"] == 2
    assert len(await ledger_rows(campaign["campaign"].id)) == 5


@pytest.mark.parametrize(
    ("moment", "retry_after"),
    [
        (LAST_SECOND, 1),
        (dt.datetime(2024, 6, 30, 12, 0, 0, tzinfo=SHANGHAI), 12 * 3600),
        (dt.datetime(2024, 6, 30, 0, 0, 0, tzinfo=SHANGHAI), 24 * 3600),
        # 00:00:00.25 on 1 July: a part of a second still to go counts as a whole one.
        (dt.datetime(2024, 6, 30, 16, 0, 0, 250_000, tzinfo=dt.UTC), 24 * 3600),
    ],
    ids=["23:59:59", "12:00:00", "00:00:00", "00:00:00.25"],
)
async def test_limit_reached_retry_after_is_the_seconds_to_shanghai_midnight(
    api, moment: dt.datetime, retry_after: int
) -> None:
    """limit_reached's Retry-After counts the seconds until the next Beijing midnight."""
    campaign = await midnight_campaign()
    freeze(api, moment)
    mediators = campaign["candidates"]["mediator"]  # 2 votes a day
    for candidate in mediators[:2]:
        assert (await vote(api, candidate)).status_code == 201
    refused = await vote(api, mediators[2])
    assert_error(refused, 429, "limit_reached")
    assert refused.headers["retry-after"] == str(retry_after)
