"""Fixtures for voting: a campaign in its voting window with shortlisted candidates."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

import httpx
import pytest

from nominations.tables import Nomination, Status
from portal.tables import Bureau, Campaign, Category, CategoryKind, Phase

TEST_ANSWER = "PASS9"
SLUG = "vote-2024"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    """The test settings with the CAPTCHA test answer and a small pool."""
    return dataclasses.replace(settings, captcha_test_answer=TEST_ANSWER, captcha_pool_size=24)


async def make_voting_campaign(
    slug: str = SLUG, *, units: int = 5, mediators: int = 8, **fields: Any
) -> dict[str, Any]:
    """A campaign in the voting phase: ``units`` judicial offices (3 votes a day) and
    ``mediators`` mediators (2 votes a day), shortlisted, spread over the counties."""
    now = dt.datetime.now(dt.UTC)
    values = {
        "slug": slug,
        "title": "2024年度测试评选",
        "year": 2024,
        "phase": Phase.voting.value,
        "voting_opens_at": now - dt.timedelta(days=1),
        "voting_closes_at": now + dt.timedelta(days=10),
        **fields,
    }
    campaign = Campaign(**values)
    await campaign.save().run()
    counties = (
        await Bureau.objects().where(Bureau.level == "county").order_by(Bureau.position).run()
    )
    result: dict[str, Any] = {"campaign": campaign, "categories": {}, "candidates": {}}
    for position, (key, kind, per_day, count) in enumerate(
        [
            ("judicial-office", CategoryKind.judicial_office, 3, units),
            ("mediator", CategoryKind.mediator, 2, mediators),
        ]
    ):
        category = Category(
            campaign=campaign.id,
            key=key,
            title=f"“枫桥式”{key}",
            kind=kind.value,
            quota=2,
            county_cap=5,
            votes_per_day=per_day,
            public_counts=True,
            position=position,
        )
        await category.save().run()
        result["categories"][key] = category
        ids = []
        for i in range(count):
            nomination = Nomination(
                campaign=campaign.id,
                category=category.id,
                bureau=counties[i % len(counties)].id,
                status=Status.shortlisted.value,
                name=f"{key}候选{i + 1}",
                township="中华路街道",
                committee="香泉村人民调解委员会",
                summary="就地化解矛盾纠纷。",
                shortlisted_at=now,
            )
            await nomination.save().run()
            ids.append(nomination.id)
        result["candidates"][key] = ids
    return result


@pytest.fixture
async def voting_campaign(bureaus: None) -> dict[str, Any]:
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
