"""Fixtures for the story series: a finished campaign with shortlisted candidates in every
county, and the staff as request users (the city admin, the clerks of two counties)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image

from nominations.tables import Nomination
from portal.accounts import StaffUser
from portal.demo import COUNTIES
from portal.tables import Bureau, BureauLevel, Campaign, CategoryKind, Phase
from stories import publishing, services
from stories.tables import Story
from tests import factories

SLUG = "dingxi-2022"
CATEGORIES = (
    ("judicial-office", "“枫桥式”司法所", CategoryKind.judicial_office),
    ("mediation-committee", "“枫桥式”人民调解委员会", CategoryKind.mediation_committee),
    ("mediator", "“枫桥式”人民调解员", CategoryKind.mediator),
)
TOWNS = {
    "安定区": "香泉镇",
    "通渭县": "平襄镇",
    "陇西县": "巩昌镇",
    "渭源县": "清源镇",
    "临洮县": "洮阳镇",
    "漳县": "武阳镇",
    "岷县": "岷阳镇",
}


def jpeg(size: tuple[int, int] = (640, 360)) -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(out, "JPEG")
    return out.getvalue()


@dataclass
class World:
    """The campaign, its candidates by (county, kind), and the people who act."""

    campaign: Campaign
    candidates: dict[tuple[str, str], Nomination]
    admin: StaffUser
    clerk: StaffUser  # 安定区
    other_clerk: StaffUser  # 通渭县
    auditor: StaffUser
    bureaus: dict[str, int]  # county (or "" for the city) → bureau id

    def candidate(self, county: str, kind: CategoryKind) -> Nomination:
        return self.candidates[(county, kind.value)]

    async def draft(self, user: StaffUser | None = None, **data: Any) -> Story:
        """A complete draft, through the service (the city's unless a clerk is given)."""
        user = user or self.admin
        values = {
            "kind": "case",
            "title": "一起邻里纠纷的调解",
            "body": "第一段。\n\n第二段。",
            "bureau": str(self.bureaus[""]),
            **data,
        }
        return await services.create(factories.actor_for(user), user, values)

    async def published(self, user: StaffUser | None = None, **data: Any) -> Story:
        """A published story: drafted (and for a clerk submitted), then published."""
        story = await self.draft(user, **data)
        if story.by_county:
            await publishing.submit(factories.actor_for(user), user, story)  # type: ignore[arg-type]
        return await publishing.publish(factories.actor_for(self.admin), self.admin, story)


@pytest.fixture
async def world(staff: dict[str, str]) -> World:
    campaign, by_key = await factories.campaign(
        [
            {
                "key": key,
                "title": title,
                "kind": kind.value,
                "quota": 7,
                "county_cap": 3,
                "position": position,
            }
            for position, (key, title, kind) in enumerate(CATEGORIES)
        ],
        slug=SLUG,
        title="2022年度定西市“枫桥式”评选",
        year=2022,
        phase=Phase.published.value,
    )
    categories = {kind.value: by_key[key] for key, _, kind in CATEGORIES}
    bureau_rows = await Bureau.select(
        Bureau.id, Bureau.short_name.as_alias("county"), Bureau.level
    ).run()
    bureaus = {r["county"]: r["id"] for r in bureau_rows if r["level"] == BureauLevel.county.value}
    bureaus[""] = next(r["id"] for r in bureau_rows if r["level"] == BureauLevel.city.value)
    candidates = {}
    for county, _ in COUNTIES:
        town = TOWNS[county]
        names = {
            CategoryKind.judicial_office.value: (f"{county}{town}司法所", "", town),
            CategoryKind.mediation_committee.value: (
                f"{county}{town}人民调解委员会",
                "",
                town,
            ),
            CategoryKind.mediator.value: (
                f"{county[0]}调解员",
                f"{town}东街村人民调解委员会",
                town,
            ),
        }
        for kind, (name, committee, township) in names.items():
            candidates[(county, kind)] = factories.candidate(
                categories[kind],
                bureaus[county],
                name,
                committee=committee,
                township=township,
                summary=f"{name}的简要事迹。",
                deeds="扎根基层，化解矛盾。",
            )
    await factories.save(*candidates.values())
    await factories.accounts(("clerk-tongwei", "county_clerk", "通渭县"))
    return World(
        campaign=campaign,
        candidates=candidates,
        admin=await factories.user(staff["city_admin"]),
        clerk=await factories.user(staff["county_clerk"]),
        other_clerk=await factories.user("clerk-tongwei"),
        auditor=await factories.user(staff["auditor"]),
        bureaus=bureaus,
    )
