"""A published campaign of the demo city with designees from two counties, for the
re-check and revocation tests: 甲司法所 and 张调解员 nominated by 安定区 (the test
clerk's county), 乙司法所 by 通渭县."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.audit import Actor
from portal.tables import Bureau
from results import services as results
from results.tables import Designation
from tests.results.conftest import Candidate, make_results_campaign

SLUG = "recheck-2024"
SPEC = {
    "office": (2, [Candidate("甲司法所", "90", votes=3), Candidate("乙司法所", "85", votes=2)]),
    "mediator": (1, [Candidate("张调解员", "80", votes=1)]),
}


@dataclass
class Published:
    campaign_id: int
    city: int
    designations: dict[str, int]  # name → designation id


async def publish_scene() -> Published:
    """The campaign tallied, noticed (ended yesterday) and designated now."""
    city = await Bureau.select(Bureau.id).where(Bureau.name == "定西市司法局").first().run()
    scene = await make_results_campaign(SPEC, slug=SLUG, organiser=city["id"])
    actor = Actor.command_line("测试")
    now = dt.datetime.now(dt.UTC)
    await results.tally(actor, SLUG)
    await results.open_notice(actor, SLUG, 1, now=now - dt.timedelta(days=2))
    await results.designate(actor, SLUG, "定司发〔2024〕1号")
    rows = await Designation.select(
        Designation.id, Designation.candidate.name.as_alias("name")
    ).run()
    return Published(scene.campaign.id, city["id"], {r["name"]: r["id"] for r in rows})


async def other_city_admin(username: str = "other-admin") -> str:
    """An administrator of another city of the province (兰州市)."""
    from portal.demo import ensure_province
    from tests import factories

    await ensure_province()
    await factories.accounts((username, "city_admin", "兰州市"))
    return username
