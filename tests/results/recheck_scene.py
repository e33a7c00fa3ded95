"""A published campaign of the demo city with designees from two counties, for the
re-check and revocation tests: 甲司法所 and 张调解员 nominated by 安定区 (the test
clerk's county), 乙司法所 by 通渭县."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.audit import Actor
from portal.tables import Bureau
from results import services as results
from results.tables import Designation, RecheckEvidence
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
    # One working day, opened three weeks ago: over by now even across 春节.
    await results.open_notice(actor, SLUG, 1, now=now - dt.timedelta(days=21))
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


async def role_scene(directory) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """For the route × role matrix (tests/portal/test_roles.py): a published campaign of
    the demo city, written straight to the tables, with five designees nominated by
    安定区 (the test clerk's county), a re-check of 2025 opened on them and its items in
    each state a route acts on; one more designation revoked. Returns the ids by name."""
    from nominations.tables import Nomination, Status
    from portal import media
    from portal.tables import Campaign, Category, Phase
    from results import recheck_reports, recheck_verdicts, rechecks, revocation
    from results.register import today_in
    from tests.portal.test_media import minimal_pdf

    city = await Bureau.select(Bureau.id).where(Bureau.name == "定西市司法局").first().run()
    county = await Bureau.select(Bureau.id).where(Bureau.name == "安定区司法局").first().run()
    actor = Actor.command_line("测试")
    today = today_in()
    campaign = Campaign(
        slug="role-recheck-2024", organiser=city["id"], title="2024年度复核测试评选",
        year=2024, phase=Phase.published.value,
    )  # fmt: skip
    await campaign.save().run()
    category = Category(
        campaign=campaign.id, key="office", title="“枫桥式”司法所",
        kind="judicial_office", quota=9, county_cap=9,
    )  # fmt: skip
    await category.save().run()
    names = ("reported", "fresh", "rectify", "revocable", "active", "revoked")
    ids: dict[str, int] = {}
    for serial, name in enumerate(names, start=1):
        nomination = Nomination(
            campaign=campaign.id, category=category.id, bureau=county["id"],
            status=Status.shortlisted.value, name=f"安定区{name}司法所",
        )  # fmt: skip
        await nomination.save().run()
        designation = Designation(
            campaign=campaign.id, category=category.id, candidate=nomination.id,
            organiser=city["id"], year=2024, serial=serial,
            certificate_no=f"定司证〔2024〕第{serial:03d}号",
            designated_on=today - dt.timedelta(days=30),
            valid_until=today + dt.timedelta(days=1000),
        )  # fmt: skip
        await designation.save().run()
        ids[f"designation_{name}"] = designation.id
    recheck = await rechecks.open_recheck(
        actor, city["id"], {"year": "2025", "deadline": (today + dt.timedelta(days=30)).isoformat()}
    )
    ids["recheck"] = recheck.id
    clerk = await _clerk()
    items = {i.row.designation: i.row.id for i in await rechecks.items_of(recheck)}
    for name in names[:4]:
        ids[f"item_{name}"] = items[ids[f"designation_{name}"]]
    report = {
        "disputes_mediated": "50", "disputes_resolved": "49", "judicial_confirmations": "3",
        "on_the_spot": "10", "entrusted_court": "1", "entrusted_police": "1",
        "entrusted_government": "1", "entrusted_petition": "1", "entrusted_other": "1",
        "statement": "全年工作正常开展。",
    }  # fmt: skip
    stored = media.save_pdf(minimal_pdf(), directory)
    for name in ("reported", "rectify"):
        evidence = [(stored, "说明.pdf", 400)] if name == "reported" else []
        await recheck_reports.file_report(
            actor, clerk, recheck.id, ids[f"item_{name}"], report, evidence
        )
    await recheck_verdicts.decide(
        actor, recheck.id, ids["item_rectify"], "rectify", "补齐卷宗。",
        (today + dt.timedelta(days=30)).isoformat(),
    )  # fmt: skip
    ids["evidence"] = (await RecheckEvidence.objects().first().run()).id
    await revocation.revoke(actor, ids["designation_revoked"], "测试用的撤销理由。")
    return ids


async def _clerk():  # type: ignore[no-untyped-def]
    from tests import factories

    return await factories.user("clerk")
