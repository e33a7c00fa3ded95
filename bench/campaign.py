"""The campaign a deployment votes on: in its voting window, candidates shortlisted.

``make_voting_campaign`` makes one in the current database (the tests call it);
``python -m bench.campaign '{"slug": {keyword arguments}, …}'`` makes campaigns in the
database of ``DATABASE_URL`` and prints ``{slug: {category key: [candidate ids]}}``
(``bench.infra.deploy`` runs it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from typing import Any

from nominations.tables import Nomination, Status
from portal.db import close_database, open_database
from portal.demo import city_id
from portal.tables import Bureau, Campaign, Category, CategoryKind, Phase

SLUG = "vote-2024"


async def make_voting_campaign(
    slug: str = SLUG, *, units: int = 5, mediators: int = 8, **fields: Any
) -> dict[str, Any]:
    """A campaign in the voting phase: ``units`` judicial offices (3 votes a day) and
    ``mediators`` mediators (2 votes a day), shortlisted, spread over the counties of
    the demo city."""
    now = dt.datetime.now(dt.UTC)
    # The demo's bureau tree (created when missing): the city organises, its counties nominate.
    organiser = await city_id()
    values = {
        "organiser": organiser,
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
        await Bureau.objects().where(Bureau.parent == organiser).order_by(Bureau.position).run()
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


async def main(campaigns: dict[str, dict[str, Any]]) -> None:
    await open_database()
    try:
        made = {}
        for slug, fields in campaigns.items():
            made[slug] = (await make_voting_campaign(slug, **fields))["candidates"]
        print(json.dumps(made))
    finally:
        await close_database()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
