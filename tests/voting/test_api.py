"""The public voting API as the contract fixes it, on both shared stores.

The 201 body, the voter cookie, receipts, idempotent retries, every error code in the
contract's ``{"error", "message"}`` shape, a Redis outage, and the OpenAPI schema.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import logging
import re
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from nominations.tables import Nomination, Status
from portal.tables import Campaign, Phase
from tests import services
from tests.conftest import close_limits, redis_stores
from tests.voting.conftest import (
    SLUG,
    TEST_ANSWER,
    assert_error,
    issue_captchas,
    ledger_rows,
    make_voting_campaign,
    new_captcha,
    serve,
    sign_in_voter,
    vote,
    voting_service,
)
from voting.tables import Vote, VoteStatus

pytestmark = pytest.mark.usefixtures("bureaus")

VOTES = f"/api/v1/campaigns/{SLUG}/votes"
RECEIPT = re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){4}$")
SHANGHAI_OFFSET = "+08:00"
LOCALHOST = (ipaddress.ip_network("127.0.0.1/32"),)


def set_cookie_of(response: httpx.Response) -> str | None:
    """The ``portal_voter`` Set-Cookie header of a response, if any."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("portal_voter="):
            return header
    return None


def cookie_value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


async def post_vote(
    client: httpx.AsyncClient, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post(VOTES, json=body, headers=headers)


# --- a recorded vote --------------------------------------------------------------------


async def test_vote_answers_201_with_the_contract_fields(api, voting_campaign) -> None:
    """A vote answers 201 {receipt, candidate_id, cast_at, votes_left_today}, not cached."""
    candidate = voting_campaign["candidates"]["judicial-office"][0]
    response = await vote(api, candidate)
    assert response.status_code == 201, response.text
    body = response.json()
    assert {"receipt", "candidate_id", "cast_at", "votes_left_today"} <= set(body)
    assert RECEIPT.match(body["receipt"]), body["receipt"]
    assert body["candidate_id"] == candidate
    assert body["votes_left_today"] == 2
    assert body["cast_at"].endswith(SHANGHAI_OFFSET)
    cast_at = dt.datetime.fromisoformat(body["cast_at"])
    assert abs((cast_at - dt.datetime.now(dt.UTC)).total_seconds()) < 60
    assert response.headers["cache-control"] == "no-store"
    [row] = await ledger_rows(voting_campaign["campaign"].id)
    assert (row["receipt"], row["candidate"], row["cast_at"], row["status"]) == (
        body["receipt"],
        candidate,
        body["cast_at"],
        "counted",
    )


async def test_first_vote_sets_an_httponly_voter_cookie(api, voting_campaign) -> None:
    """The first vote sets the HttpOnly portal_voter cookie; the next ones keep it."""
    first, second = voting_campaign["candidates"]["mediator"][:2]
    response = await vote(api, first)
    assert response.status_code == 201
    header = set_cookie_of(response)
    assert header is not None
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert {"httponly", "path", "max-age", "samesite"} <= attributes
    assert voting_service(api).check_voter_cookie(cookie_value(header)) is not None
    again = await vote(api, second)
    assert again.status_code == 201
    assert set_cookie_of(again) is None
    rows = await ledger_rows(voting_campaign["campaign"].id)
    assert rows[0]["voter_hash"] == rows[1]["voter_hash"]


async def test_a_forged_voter_cookie_is_replaced(api, voting_campaign) -> None:
    """A cookie the portal did not sign is replaced, on a 201 and on a refusal alike."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    genuine = voting_service(api).new_voter_cookie()
    token, _ = genuine.split(".")
    for forged in ("forged", "forged.value", f"{token}.AAAAAAAAAAAAAAAA"):
        api.cookies.clear()
        api.cookies.set("portal_voter", forged)
        response = await vote(api, voting_campaign["candidates"]["judicial-office"][0])
        header = set_cookie_of(response)
        assert header is not None, forged
        assert cookie_value(header) != forged
        assert voting_service(api).check_voter_cookie(cookie_value(header)) is not None
    # A refused vote (unknown candidate) replaces a forged cookie too.
    api.cookies.clear()
    api.cookies.set("portal_voter", "forged.value")
    refused = await vote(api, candidate + 10_000)
    assert_error(refused, 400, "invalid")
    header = set_cookie_of(refused)
    assert header is not None and "HttpOnly" in header
    assert cookie_value(header) != "forged.value"


# --- receipts ---------------------------------------------------------------------------


async def test_receipt_shows_the_vote(api, voting_campaign) -> None:
    """GET /api/v1/receipts/{receipt} → {receipt, campaign, candidate_id, cast_at, status}."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    cast = (await vote(api, candidate)).json()
    response = await api.get(f"/api/v1/receipts/{cast['receipt']}")
    assert response.status_code == 200
    assert response.json() == {
        "receipt": cast["receipt"],
        "campaign": SLUG,
        "candidate_id": candidate,
        "cast_at": cast["cast_at"],
        "status": "counted",
    }
    typed = cast["receipt"].replace("-", "").lower()
    # Read aloud or copied by hand: O, I and B typed as the digits 0, 1 and 8.
    confused = cast["receipt"].translate(str.maketrans("OIB", "018"))
    for text in (typed, cast["receipt"].lower(), f" {typed[:10]} {typed[10:]}", confused):
        again = await api.get(f"/api/v1/receipts/{text}")
        assert again.status_code == 200, text
        assert again.json()["receipt"] == cast["receipt"]


@pytest.mark.parametrize("status", [VoteStatus.held, VoteStatus.excluded, VoteStatus.counted])
async def test_receipt_status_follows_the_ledger_row(api, voting_campaign, status) -> None:
    """When review holds or excludes the vote, its receipt says so."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    receipt = (await vote(api, candidate)).json()["receipt"]
    await Vote.update({Vote.status: status.value}).where(Vote.receipt == receipt).run()
    response = await api.get(f"/api/v1/receipts/{receipt}")
    assert response.json()["status"] == status.value


async def test_unknown_and_forged_receipts_are_not_found(api, voting_campaign) -> None:
    """A genuine but unrecorded receipt, a forged one and junk all answer 404 not_found."""
    await vote(api, voting_campaign["candidates"]["mediator"][0])
    unrecorded = voting_service(api).new_receipt()
    forged = "AAAA-BBBB-CCCC-DDDD-EEEE"
    for text in (unrecorded, forged, "nonsense", "A" * 200):
        assert_error(await api.get(f"/api/v1/receipts/{text}"), 404, "not_found")


# --- idempotent retries -----------------------------------------------------------------


async def test_a_retry_with_the_same_key_and_a_new_captcha_counts_once(
    api, voting_campaign
) -> None:
    """The same Idempotency-Key with a new CAPTCHA: the same receipt, one row, one vote used."""
    candidates = voting_campaign["candidates"]["judicial-office"]
    key = {"Idempotency-Key": "retry-1"}
    first = await vote(api, candidates[0], headers=key)
    again = await vote(api, candidates[0], headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["receipt"] == first.json()["receipt"]
    assert again.json()["cast_at"] == first.json()["cast_at"]
    assert again.json()["votes_left_today"] == first.json()["votes_left_today"] == 2
    assert len(await ledger_rows(voting_campaign["campaign"].id)) == 1
    # The allowance was used once: the next new vote leaves one.
    assert (await vote(api, candidates[1])).json()["votes_left_today"] == 1


async def test_a_retry_with_the_same_key_and_the_used_captcha_counts_once(
    api, voting_campaign
) -> None:
    """Resending the very same request (its CAPTCHA already used) returns the same receipt."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    captcha = await new_captcha(api)
    key = {"Idempotency-Key": "k" * 64}
    first = await vote(api, candidate, headers=key, captcha=captcha)
    again = await vote(api, candidate, headers=key, captcha=captcha)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["receipt"] == first.json()["receipt"]
    assert len(await ledger_rows(voting_campaign["campaign"].id)) == 1
    # Without the key the used CAPTCHA is refused.
    assert_error(await vote(api, candidate, captcha=captcha), 400, "captcha_invalid")


async def test_concurrent_retries_with_the_same_key_record_one_vote(api, voting_campaign) -> None:
    """Five concurrent requests with one Idempotency-Key: one row, one receipt for all."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    sign_in_voter(api)
    captchas = await issue_captchas(api, 5)
    key = {"Idempotency-Key": "concurrent"}
    responses = await asyncio.gather(
        *(vote(api, candidate, headers=key, captcha=c) for c in captchas)
    )
    assert [r.status_code for r in responses] == [201] * 5
    assert len({r.json()["receipt"] for r in responses}) == 1
    rows = await ledger_rows(voting_campaign["campaign"].id)
    assert [row["idempotency_key"] for row in rows] == ["concurrent"]


async def test_a_retry_that_lost_the_cookie_returns_the_first_receipt(api, voting_campaign) -> None:
    """The first answer (and its Set-Cookie) lost: the retry with the same key and no
    cookie gets the same receipt, and the vote counts once."""
    candidates = voting_campaign["candidates"]["judicial-office"]
    key = {"Idempotency-Key": "lost-answer"}
    first = await vote(api, candidates[0], headers=key)
    assert first.status_code == 201 and set_cookie_of(first) is not None
    api.cookies.clear()
    again = await vote(api, candidates[0], headers=key)
    assert again.status_code == 201, again.text
    # The same vote; its pass was bound to the lost cookie, so the retry gets none.
    assert again.json() == {**first.json(), "vote_pass": None, "pass_expires_in": None}
    rows = await ledger_rows(voting_campaign["campaign"].id)
    assert [row["receipt"] for row in rows] == [first.json()["receipt"]]


async def test_concurrent_retries_without_a_cookie_record_one_vote(api, voting_campaign) -> None:
    """Five concurrent cookieless requests with one key (one client retrying before any
    answer came): one row, one receipt for all."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    captchas = await issue_captchas(api, 5)
    key = {"Idempotency-Key": "cookieless"}
    responses = await asyncio.gather(
        *(vote(api, candidate, headers=key, captcha=c) for c in captchas)
    )
    assert [r.status_code for r in responses] == [201] * 5, [r.text for r in responses]
    assert len({r.json()["receipt"] for r in responses}) == 1
    assert len(await ledger_rows(voting_campaign["campaign"].id)) == 1


async def test_the_same_key_from_another_network_is_another_vote(
    build_app, voting_campaign
) -> None:
    """A key is the client's own on its network: another network's vote with the same
    key is its own vote, never answered with someone else's receipt."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    async with serve(build_app(trusted_proxies=LOCALHOST)) as client:
        receipts = []
        for network in ("203.0.113.1", "198.51.100.1"):
            client.cookies.clear()
            headers = {"Idempotency-Key": "same-key", "X-Forwarded-For": network}
            response = await vote(client, candidate, headers=headers)
            assert response.status_code == 201, response.text
            receipts.append(response.json()["receipt"])
    assert receipts[0] != receipts[1]
    rows = await ledger_rows(voting_campaign["campaign"].id)
    assert [row["receipt"] for row in rows] == receipts


async def test_an_idempotency_key_longer_than_64_is_invalid(api, voting_campaign) -> None:
    """An Idempotency-Key of 65 characters (or an empty one) is refused: 400 invalid."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    for key in ("k" * 65, ""):
        response = await vote(api, candidate, headers={"Idempotency-Key": key})
        assert_error(response, 400, "invalid")
    assert await ledger_rows(voting_campaign["campaign"].id) == []


# --- every error code -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"candidate_id": 1},
        {"candidate_id": "one", "captcha_id": "x", "captcha_answer": "y"},
        {"candidate_id": 1, "captcha_id": 5, "captcha_answer": "y"},
        [1, 2, 3],
        "vote",
    ],
    ids=["empty", "missing-fields", "id-not-int", "captcha-not-str", "array", "string"],
)
async def test_a_malformed_body_is_invalid(api, voting_campaign, body) -> None:
    """A body that is not a vote answers 400 invalid and records nothing."""
    assert_error(await post_vote(api, body), 400, "invalid")
    assert await ledger_rows(voting_campaign["campaign"].id) == []


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"\xff\xfe", "application/json"),
    ],
    ids=["broken-json", "not-utf8"],
)
async def test_a_body_that_is_not_json_is_invalid(
    api, voting_campaign, content: bytes, content_type: str
) -> None:
    """Broken JSON or bytes that are not UTF-8: 400 invalid."""
    response = await api.post(VOTES, content=content, headers={"content-type": content_type})
    assert_error(response, 400, "invalid")
    assert await ledger_rows(voting_campaign["campaign"].id) == []


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        None,
    ],
    ids=["text", "text-utf8", "form", "multipart", "json-latin1", "none"],
)
async def test_a_vote_of_another_media_type_is_415_and_records_nothing(
    api, voting_campaign, content_type: str | None
) -> None:
    """A well-formed vote sent as anything but application/json is refused with 415
    (a cross-site page could send text/plain or a form without a CORS preflight) and
    neither records the vote nor spends its CAPTCHA."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    captcha = await new_captcha(api)
    ballot = {
        "candidate_id": candidate,
        "captcha_id": captcha["captcha_id"],
        "captcha_answer": TEST_ANSWER,
    }
    headers = {"content-type": content_type} if content_type else {}
    response = await api.post(VOTES, content=json.dumps(ballot).encode(), headers=headers)
    assert response.request.headers.get("content-type") == content_type
    body = assert_error(response, 415, "invalid")
    assert set(body) == {"error", "message"}
    assert await ledger_rows(voting_campaign["campaign"].id) == []
    # The same body as JSON (the charset named or not) is taken, with the same CAPTCHA.
    json_type = "application/json; charset=utf-8" if content_type else "application/json"
    taken = await api.post(
        VOTES, content=json.dumps(ballot).encode(), headers={"content-type": json_type}
    )
    assert taken.status_code == 201, taken.text


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 1000 + b"]" * 1000,
        b'{"candidate_id": 1, "captcha_id": "x", "captcha_answer": "y", "extra": '
        + b"[" * 1000
        + b"]" * 1000
        + b"}",
        b'{"a":' * 1000 + b"1" + b"}" * 1000,
        b"[" * 33 + b"]" * 33,
    ],
    ids=["arrays", "in-an-unknown-field", "objects", "one-past-the-bound"],
)
async def test_a_deeply_nested_body_is_invalid(api, voting_campaign, caplog, body: bytes) -> None:
    """JSON nested deeper than 32 levels (a thousand deep is 2 KB) answers 400 invalid,
    records nothing and logs no error."""
    with caplog.at_level(logging.WARNING):
        response = await api.post(VOTES, content=body, headers={"content-type": "application/json"})
    assert_error(response, 400, "invalid")
    assert "嵌套" in response.json()["message"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert await ledger_rows(voting_campaign["campaign"].id) == []


async def test_nesting_up_to_the_bound_and_brackets_in_strings_are_taken(
    api, voting_campaign
) -> None:
    """32 levels are fine, and brackets inside strings (escaped quotes included) do not
    count: such a vote is recorded."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    captcha = await new_captcha(api)
    body = (
        f'{{"candidate_id": {candidate}, "captcha_id": "{captcha["captcha_id"]}", '
        f'"captcha_answer": "{TEST_ANSWER}", "note": "\\\\\\"{"[" * 100}", '
        f'"extra": {"[" * 31}{"]" * 31}}}'
    ).encode()
    response = await api.post(VOTES, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text


async def test_unknown_candidates_are_invalid(api, voting_campaign) -> None:
    """An unknown id, a candidate of another campaign, one not shortlisted: 400 invalid."""
    other = await make_voting_campaign("other-2024")
    foreign = other["candidates"]["mediator"][0]
    withdrawn = voting_campaign["candidates"]["mediator"][-1]

    await (
        Nomination.update({Nomination.status: Status.withdrawn.value})
        .where(Nomination.id == withdrawn)
        .run()
    )
    voting_service(api).forget()
    valid = voting_campaign["candidates"]["judicial-office"]
    for candidate, then in zip((10_000_000, foreign, withdrawn), valid, strict=False):
        captcha = await new_captcha(api)
        assert_error(await vote(api, candidate, captcha=captcha), 400, "invalid")
        # The CAPTCHA was not spent on a vote that could never count.
        assert (await vote(api, then, captcha=captcha)).status_code == 201
    assert len(await ledger_rows(voting_campaign["campaign"].id)) == 3
    assert await ledger_rows(other["campaign"].id) == []


async def test_unknown_and_draft_campaigns_are_not_found(api, voting_campaign) -> None:
    """Votes for an unknown campaign, or one still in draft, answer 404 not_found."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    assert_error(await vote(api, candidate, slug="no-such-campaign"), 404, "not_found")
    await make_voting_campaign("draft-2024", phase=Phase.draft.value)
    assert_error(await vote(api, candidate, slug="draft-2024"), 404, "not_found")


@pytest.mark.parametrize(
    "phase", [Phase.nominating, Phase.reviewing, Phase.tallying, Phase.published]
)
async def test_outside_the_voting_phase_votes_are_refused(api, voting_campaign, phase) -> None:
    """A campaign that is not in its voting phase answers 403 voting_closed."""
    await Campaign.update({Campaign.phase: phase.value}).where(Campaign.slug == SLUG).run()
    voting_service(api).forget()
    response = await vote(api, voting_campaign["candidates"]["mediator"][0])
    assert_error(response, 403, "voting_closed")
    assert await ledger_rows(voting_campaign["campaign"].id) == []


async def test_before_opening_and_after_closing_votes_are_refused(api, voting_campaign) -> None:
    """Before voting_opens_at and from voting_closes_at on: 403 voting_closed."""
    campaign = voting_campaign["campaign"]
    candidate = voting_campaign["candidates"]["mediator"][0]
    service = voting_service(api)
    rules = await service.rules(SLUG)
    moments = [
        rules.opens_at - dt.timedelta(seconds=1),
        rules.closes_at,
        rules.closes_at + dt.timedelta(days=1),
    ]
    for moment in moments:
        service.clock = lambda moment=moment: moment
        assert_error(await vote(api, candidate), 403, "voting_closed")
    service.clock = lambda: rules.opens_at
    assert (await vote(api, candidate)).status_code == 201
    assert len(await ledger_rows(campaign.id)) == 1


async def test_a_second_vote_for_the_same_candidate_today_is_already_voted(
    api, voting_campaign
) -> None:
    """The same voter, the same candidate, the same day: 409 already_voted, one row."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    assert (await vote(api, candidate)).status_code == 201
    assert_error(await vote(api, candidate), 409, "already_voted")
    assert len(await ledger_rows(voting_campaign["campaign"].id)) == 1


async def test_a_spent_allowance_is_limit_reached_with_retry_after(api, voting_campaign) -> None:
    """After the category's 2 mediator votes: 429 limit_reached with Retry-After."""
    mediators = voting_campaign["candidates"]["mediator"]
    for candidate in mediators[:2]:
        assert (await vote(api, candidate)).status_code == 201
    refused = await vote(api, mediators[2])
    body = assert_error(refused, 429, "limit_reached")
    assert set(body) == {"error", "message"}
    assert 1 <= int(refused.headers["retry-after"]) <= 24 * 3600


# --- a Redis outage ---------------------------------------------------------------------


@pytest.fixture
def private_redis() -> Iterator[tuple[subprocess.Popen, str]]:
    """A redis-server of this test's own, which the test may stop."""
    service = services.start_redis()
    if service.url is None or service.process is None:
        services.unavailable(f"no private Redis: {service.reason}")
    try:
        yield service.process, service.url
    finally:
        service.stop()


async def test_with_redis_down_a_vote_answers_503_and_records_nothing(
    db, settings, voting_campaign, private_redis
) -> None:
    """Redis stops: the vote and the CAPTCHA answer 503 unavailable; the ledger is unchanged."""
    from portal.app import create_app

    proc, url = private_redis
    candidates = voting_campaign["candidates"]["mediator"]
    stores = redis_stores(url, "outage")
    app = create_app(settings, stores=stores)
    async with serve(app) as client:
        first = await vote(client, candidates[0])
        assert first.status_code == 201, first.text
        spare = await new_captcha(client)
        proc.kill()
        proc.wait()
        response = await vote(client, candidates[1], captcha=spare)
        body = assert_error(response, 503, "unavailable")
        assert set(body) == {"error", "message"}
        assert int(response.headers["retry-after"]) >= 1
        assert_error(await client.post("/api/v1/captcha"), 503, "unavailable")
        # What needs only the database still answers.
        receipt = await client.get(f"/api/v1/receipts/{first.json()['receipt']}")
        assert receipt.status_code == 200
    await close_limits(stores)
    rows = await ledger_rows(voting_campaign["campaign"].id)
    assert [row["receipt"] for row in rows] == [first.json()["receipt"]]


# --- the OpenAPI schema -----------------------------------------------------------------


def resolve(schema: dict, document: dict) -> dict:
    while "$ref" in schema:
        node = document
        for part in schema["$ref"][2:].split("/"):
            node = node[part]
        schema = node
    return schema


def body_fields(response: dict, document: dict) -> tuple[set[str], set[str]]:
    """(properties, required) of a documented JSON response or request body."""
    schema = resolve(response["content"]["application/json"]["schema"], document)
    assert schema["type"] == "object", schema
    return set(schema["properties"]), set(schema.get("required", []))


@pytest.fixture
async def openapi(api) -> dict:
    response = await api.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


async def test_openapi_documents_the_captcha(openapi) -> None:
    """POST /api/v1/captcha: 201 {captcha_id, image_url, audio_url, expires_in}, 429, 503."""
    operation = openapi["paths"]["/api/v1/captcha"]["post"]
    fields = {"captcha_id", "image_url", "audio_url", "expires_in"}
    assert body_fields(operation["responses"]["201"], openapi) == (fields, fields)
    for status in ("429", "503"):
        assert body_fields(operation["responses"][status], openapi)[1] >= {"error", "message"}
    image = openapi["paths"]["/api/v1/captcha/{captcha_id}/image.png"]["get"]
    assert "image/png" in image["responses"]["200"]["content"]
    audio = openapi["paths"]["/api/v1/captcha/{captcha_id}/audio.wav"]["get"]
    assert "audio/wav" in audio["responses"]["200"]["content"]


async def test_openapi_documents_the_vote(openapi) -> None:
    """POST votes: the body, Idempotency-Key, 201 fields and 400/403/409/415/429/503 errors."""
    operation = openapi["paths"]["/api/v1/campaigns/{slug}/votes"]["post"]
    # A CAPTCHA's id and answer, or the vote pass an earlier vote returned.
    request = {"candidate_id", "captcha_id", "captcha_answer", "vote_pass"}
    assert body_fields(operation["requestBody"], openapi) == (request, {"candidate_id"})
    parameters = {(p["name"], p["in"]): p for p in operation["parameters"]}
    assert parameters[("slug", "path")]["required"] is True
    key = parameters[("Idempotency-Key", "header")]
    assert key["required"] is False
    assert key["schema"].get("maxLength") == 64 or any(
        option.get("maxLength") == 64 for option in key["schema"].get("oneOf", [])
    )
    created = {
        "receipt",
        "candidate_id",
        "cast_at",
        "votes_left_today",
        "vote_pass",
        "pass_expires_in",
    }
    properties, required = body_fields(operation["responses"]["201"], openapi)
    assert created <= properties and created <= required
    for status in ("400", "403", "404", "409", "415", "429", "503"):
        assert status in operation["responses"], status
        assert body_fields(operation["responses"][status], openapi)[1] >= {"error", "message"}


async def test_openapi_documents_the_receipt(openapi) -> None:
    """GET /api/v1/receipts/{receipt}: 200 with the five contract fields, 404 not_found."""
    operation = openapi["paths"]["/api/v1/receipts/{receipt}"]["get"]
    fields = {"receipt", "campaign", "candidate_id", "cast_at", "status"}
    assert body_fields(operation["responses"]["200"], openapi) == (fields, fields)
    assert body_fields(operation["responses"]["404"], openapi)[1] >= {"error", "message"}


async def test_a_vote_the_ledger_does_not_take_hands_its_reservations_back(
    api, voting_campaign
) -> None:
    """Refused after the admission (the ledger writer too busy to take it): 503, nothing
    recorded, the reservations handed back, and the retry counts."""
    from voting.ledger import LedgerBusy

    candidate = voting_campaign["candidates"]["mediator"][0]
    service = voting_service(api)
    record = service.ledger.record
    failed: list[bool] = []

    async def busy_once(vote: Any) -> None:
        if not failed:
            failed.append(True)
            raise LedgerBusy
        await record(vote)

    service.ledger.record = busy_once  # type: ignore[method-assign]
    sign_in_voter(api)  # a returning voter: the retry is the same voter
    assert_error(await vote(api, candidate), 503, "unavailable")
    assert failed
    assert await ledger_rows(voting_campaign["campaign"].id) == []
    retry = await vote(api, candidate)
    assert retry.status_code == 201, retry.text
    assert retry.json()["votes_left_today"] == 1  # the failed attempt used none


async def test_a_store_failure_at_the_admission_records_nothing(api, voting_campaign) -> None:
    """The admission step itself failing: 503 and nothing recorded."""
    from portal.stores import StoreUnavailable

    candidate = voting_campaign["candidates"]["mediator"][0]
    from voting.admission import ADMIT

    store = voting_service(api).store
    run = store.run

    async def failing_run(script: Any, *args: Any) -> Any:
        if script is not ADMIT:  # the CAPTCHA's own rate limit
            return await run(script, *args)
        store.run = run  # type: ignore[method-assign]
        raise StoreUnavailable("injected")

    store.run = failing_run  # type: ignore[method-assign]
    sign_in_voter(api)
    assert_error(await vote(api, candidate), 503, "unavailable")
    assert await ledger_rows(voting_campaign["campaign"].id) == []
    assert (await vote(api, candidate)).status_code == 201


async def test_a_live_counter_failure_after_recording_still_answers_201(
    api, voting_campaign
) -> None:
    """Once the vote is in the ledger the answer is 201, even if the live counter fails."""
    from portal.stores import StoreUnavailable

    candidate = voting_campaign["candidates"]["mediator"][0]
    service = voting_service(api)
    await service.counts(voting_campaign["campaign"].id, [candidate])  # counters built
    incr = service.store.incr

    async def failing_counter(key: str, amount: int = 1, expires_in: Any = None) -> int:
        if key.startswith("votes:"):
            raise StoreUnavailable("injected")
        return await incr(key, amount, expires_in)

    service.store.incr = failing_counter
    response = await vote(api, candidate)
    assert response.status_code == 201, response.text
    [row] = await ledger_rows(voting_campaign["campaign"].id)
    assert row["receipt"] == response.json()["receipt"]
