"""Fixtures for voting: a campaign in its voting window with shortlisted candidates."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from bench.campaign import SLUG, make_voting_campaign
from portal.db import write_transaction
from tests import services

TEST_ANSWER = "PASS9"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    """The test settings with the CAPTCHA test answer and a small pool."""
    return dataclasses.replace(settings, captcha_test_answer=TEST_ANSWER, captcha_pool_size=24)


@pytest.fixture
async def voting_campaign(bureaus: None) -> dict[str, Any]:
    async with write_transaction():  # one connection and one commit for the campaign
        return await make_voting_campaign()


async def new_captcha(client: httpx.AsyncClient, **kw: Any) -> dict[str, Any]:
    """A fresh challenge, waiting for the pool to be filled when it is empty."""
    for _ in range(200):
        response = await client.post("/api/v1/captcha", **kw)
        if response.status_code == 201:
            return response.json()
        assert response.status_code == 503, response.text
        await asyncio.sleep(0.05)
    raise AssertionError("the CAPTCHA pool never filled")


async def vote(
    client: httpx.AsyncClient,
    candidate_id: int,
    *,
    slug: str = SLUG,
    answer: str = TEST_ANSWER,
    headers: dict[str, str] | None = None,
    captcha: dict[str, Any] | None = None,
) -> httpx.Response:
    """Cast one vote with a fresh challenge (answered with the test answer)."""
    captcha = captcha or await new_captcha(client, headers=headers)
    return await client.post(
        f"/api/v1/campaigns/{slug}/votes",
        json={
            "candidate_id": candidate_id,
            "captcha_id": captcha["captcha_id"],
            "captcha_answer": answer,
        },
        headers=headers,
    )


# --- the app on either store ----------------------------------------------------------
#
# The contract tests run every vote path on both shared stores: the in-process store
# (``create_app`` without ``REDIS_URL``) and a real Redis, each Redis-backed app under
# its own key prefix so runs never collide; the app's keys are wiped after each test.

PEER = "127.0.0.1"


@pytest.fixture(params=["memory", "redis"])
async def build_app(request: pytest.FixtureRequest, db: None, settings, apps):  # type: ignore[no-untyped-def]
    """A factory of apps on the parametrised store; keyword arguments replace settings."""
    kind = request.param
    url = request.getfixturevalue("redis_url") if kind == "redis" else None
    built: list[Any] = []

    def build(**overrides: Any):  # type: ignore[no-untyped-def]
        app = apps.get(dataclasses.replace(settings, **overrides), redis_url=url)
        built.append(app)
        return app

    build.kind = kind  # type: ignore[attr-defined]
    yield build
    for app in built:
        await apps.forget(app)


@contextlib.asynccontextmanager
async def serve(app, peer: str = PEER) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """An HTTP client on the running app, the requests coming from ``peer``."""
    from tests.conftest import running

    async with running(app):
        transport = httpx.ASGITransport(app=app, client=(peer, 40000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver.local", follow_redirects=False
        ) as api_client:
            api_client.app = app  # type: ignore[attr-defined]
            yield api_client


@pytest.fixture
async def api(build_app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """A client on an app with the default settings, on the parametrised store."""
    async with serve(build_app()) as api_client:
        yield api_client


def voting_service(client: httpx.AsyncClient) -> Any:
    return client.app.state.voting  # type: ignore[attr-defined]


def sign_in_voter(client: httpx.AsyncClient) -> str:
    """Give the client a genuine voter cookie (as after a first vote); return its value."""
    value = voting_service(client).new_voter_cookie()
    client.cookies.set("portal_voter", value)
    return value


async def open_connections(client: httpx.AsyncClient, count: int = 100) -> None:
    """Open the Redis connections a burst needs before it starts, as a server that has
    been serving holds them: on a busy machine, opening 100 at once inside the burst can
    outlast the 2 s connect timeout and turn a few votes into 503s (a no-op in memory)."""
    stores = client.app.state.stores  # type: ignore[attr-defined]
    await asyncio.gather(
        *(stores.state.exists(f"warm:{i}") for i in range(count)),
        *(stores.limits.get(f"warm:{i}") for i in range(count)),
    )


async def issue_captchas(client: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    """``count`` live challenges straight from the service (beyond the per-network
    CAPTCHA rate a client may fetch over HTTP), topping the pool up as it empties."""
    service = voting_service(client).captcha
    issued: list[dict[str, Any]] = []
    while len(issued) < count:
        challenge = await service.issue()
        if challenge is None:
            await service.fill()
            continue
        issued.append({"captcha_id": challenge.captcha_id})
    return issued


async def live_answer(client: httpx.AsyncClient, captcha_id: str) -> str:
    """The real answer of a live challenge, read from the store."""
    service = voting_service(client).captcha
    raw, _ = service.parse_id(captcha_id)
    answer = await service.store.get(f"captcha:live:{raw}")
    assert answer is not None, "the challenge is not live"
    return answer.decode()


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The contract's error shape: JSON ``{"error": code, "message": zh-CN text}``."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"], body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), body
    return body


async def ledger_rows(campaign_id: int) -> list[dict[str, Any]]:
    from voting.tables import Vote

    return await Vote.select().where(Vote.campaign == campaign_id).order_by(Vote.seq).run()


@pytest.fixture(scope="module")
def private_redis() -> Iterator[str]:
    """A redis-server of the test module's own, removed afterwards: the portal's keys
    have a fixed prefix, so a deployment's processes sharing the run's Redis would mix
    them with other tests'."""
    service = services.start_redis()
    try:
        if service.url is None:
            services.unavailable(f"Redis unavailable: {service.reason}")
        yield service.url  # type: ignore[misc]
    finally:
        service.stop()
