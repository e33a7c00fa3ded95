"""Two organisations in one installation: a province above two cities, each city with
its own campaign. Every staff route that names a campaign answers 404 to the other
city's administrator (and to the province's, whose campaigns are its own), through
pages and the staff API, and changes nothing; each sees only its own campaigns."""

from __future__ import annotations

import re

import pytest

from nominations import review
from nominations import services as nominations
from nominations.tables import Assignment, Nomination
from portal.audit import Actor
from portal.bureaus import import_bureaus
from portal.tables import AuditEntry, Campaign, Category
from stories.tables import Story
from tests import factories
from tests.helpers import csrf_token, login
from tests.nominations.conftest import UNIT
from tests.portal.test_roles import ACCESS, allowed

GANSU = (
    "name,short_name,level,parent\n"
    "甘肃省司法厅,甘肃省,province,\n"
    "定西市司法局,定西市,city,甘肃省司法厅\n"
    "安定区司法局,安定区,county,定西市司法局\n"
    "白银市司法局,白银市,city,甘肃省司法厅\n"
    "会宁县司法局,会宁县,county,白银市司法局\n"
)
JUDICIAL = {"key": "judicial-office", "title": "“枫桥式”司法所", "kind": "judicial_office"}
# Every staff route about one campaign, by its slug.
CAMPAIGN_ROUTES = sorted(
    (method, path)
    for method, path in ACCESS
    if "{slug:str}" in path and path.startswith(("/staff/", "/api/staff/"))
)
OTHER_VALUES = {
    "key": "judicial-office",
    "candidate_id": "1",
    "objection_id": "1",
    "designation_id": "1",
    "file_id": "1",
}


@pytest.fixture
async def organisations(db) -> dict[str, Campaign]:  # type: ignore[no-untyped-def]
    await import_bureaus(Actor.command_line(), GANSU.encode())
    await factories.accounts(
        ("province-admin", "city_admin", "甘肃省司法厅"),
        ("dingxi-admin", "city_admin", "定西市司法局"),
        ("dingxi-auditor", "auditor", "定西市司法局"),
        ("baiyin-admin", "city_admin", "白银市司法局"),
    )
    ids = {r["name"]: r["id"] for r in await factories.bureau_ids()}
    made = {}
    for slug, organiser, phase in (
        ("dingxi-2024", "定西市司法局", "vetting"),
        ("baiyin-2024", "白银市司法局", "voting"),
    ):
        campaign, categories = await factories.campaign(
            [{**JUDICIAL, "quota": 3, "county_cap": 2}],
            slug=slug,
            title=f"{organiser}2024年度评选",
            year=2024,
            phase=phase,
            organiser=ids[organiser],
        )
        county = "安定区司法局" if slug.startswith("dingxi") else "会宁县司法局"
        await factories.save(
            factories.candidate(categories["judicial-office"], ids[county], f"{county}中心司法所")
        )
        made[slug] = campaign
    return made


async def province_campaign(year: int, phase: str) -> tuple[Campaign, dict[str, Category]]:
    """A campaign of the province (甘肃省司法厅) with one category, in ``phase``."""
    ids = {r["name"]: r["id"] for r in await factories.bureau_ids()}
    return await factories.campaign(
        [{**JUDICIAL, "quota": 3, "county_cap": 2}],
        slug=f"gansu-{year}",
        title=f"{year}年度全省评选",
        year=year,
        phase=phase,
        organiser=ids["甘肃省司法厅"],
    )


def concrete(path: str, slug: str) -> str:
    values = {**OTHER_VALUES, "slug": slug}
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], path)


async def state() -> list:
    return [
        await Campaign.select().order_by(Campaign.id).run(),
        await Category.select().order_by(Category.id).run(),
        await Nomination.select().order_by(Nomination.id).run(),
        await AuditEntry.count().run(),
    ]


@pytest.mark.parametrize("username", ["dingxi-admin", "province-admin", "dingxi-auditor"])
async def test_another_organisations_campaign_is_not_found_on_any_staff_route(
    client, organisations, username: str
) -> None:
    await login(client, username)
    token = await csrf_token(client)
    before = await state()
    for method, path in CAMPAIGN_ROUTES:
        url = concrete(path, "baiyin-2024")
        if method == "GET":
            response = await client.get(url)
        elif path.startswith("/api/"):
            response = await client.post(
                url, json={"phase": "tallying"}, headers={"x-csrftoken": token}
            )
        else:
            response = await client.post(url, data={"_csrf_token": token, "phase": "tallying"})
        # Refused by role (an auditor's POST) or not found: never served, never changed.
        assert response.status_code in (403, 404), (username, method, url, response.status_code)
        if response.status_code == 403:  # only where the role itself is refused
            assert not allowed(method, path, "auditor" if "auditor" in username else "city_admin")
        if path.startswith("/api/"):
            assert response.json()["error"] in ("not_found", "forbidden")
    assert await state() == before
    if username == "dingxi-admin":  # and its own campaign is there
        for page in ("/staff/campaigns/dingxi-2024", "/staff/review/campaigns/dingxi-2024"):
            assert (await client.get(page)).status_code == 200, page


async def test_each_organisation_lists_only_its_own_campaigns(client, organisations) -> None:
    for username, shown, hidden in (
        ("dingxi-admin", "dingxi-2024", "baiyin-2024"),
        ("baiyin-admin", "baiyin-2024", "dingxi-2024"),
        ("dingxi-auditor", "dingxi-2024", "baiyin-2024"),
    ):
        client.cookies.clear()
        await login(client, username)
        for page in ("/staff", "/staff/campaigns", "/staff/review", "/staff/nominations"):
            text = (await client.get(page)).text
            assert hidden not in text, (username, page)
        assert shown in (await client.get("/staff/campaigns")).text
        listed = await client.get(f"/staff/nominations?campaign={hidden}")
        assert listed.status_code == 404
    # The city's own nomination detail is a 404 for the other city's administrator.
    client.cookies.clear()
    await login(client, "baiyin-admin")
    theirs = await Nomination.select(Nomination.id).where(
        Nomination.campaign == organisations["dingxi-2024"].id
    )
    response = await client.get(f"/staff/nominations/{theirs[0]['id']}")
    assert response.status_code == 404


async def test_another_organisations_stories_are_not_found(client, organisations) -> None:
    ids = {r["name"]: r["id"] for r in await factories.bureau_ids()}
    theirs = Story(kind="case", title="会宁县的调解案例", body="经过。", bureau=ids["会宁县司法局"])
    ours = Story(kind="case", title="安定区的调解案例", body="经过。", bureau=ids["安定区司法局"])
    await factories.save(theirs, ours)
    await login(client, "dingxi-admin")
    listed = (await client.get("/staff/stories")).text
    assert "安定区的调解案例" in listed and "会宁县的调解案例" not in listed
    assert (await client.get(f"/staff/stories/{theirs.id}")).status_code == 404
    assert (await client.get(f"/staff/stories/{ours.id}")).status_code == 200
    publish = await client.post(
        f"/staff/stories/{theirs.id}/publish", data={"_csrf_token": await csrf_token(client)}
    )
    assert publish.status_code == 404
    # Nor may a story be filed under the other city's bureau.
    form = (await client.get("/staff/stories/new")).text
    assert "会宁县" not in form and "安定区" in form


async def test_a_campaigns_pages_speak_of_its_organisers_level(client, organisations) -> None:
    ids = {r["name"]: r["id"] for r in await factories.bureau_ids()}
    _, categories = await province_campaign(2024, "voting")
    await factories.save(
        factories.candidate(categories["judicial-office"], ids["定西市司法局"], "定西市某司法所")
    )
    vote = (await client.get("/campaigns/gansu-2024/vote")).text
    assert "全部市州" in vote and "全部县区" not in vote
    rules = (await client.get("/campaigns/gansu-2024/rules")).text
    assert "省司法厅核查之前" in rules and "市司法局" not in rules.split("<main")[1]
    city = (await client.get("/campaigns/baiyin-2024/vote")).text
    assert "全部县区" in city


async def test_only_the_organisers_direct_subordinates_nominate(organisations) -> None:
    ids = {r["name"]: r["id"] for r in await factories.bureau_ids()}
    _, categories = await province_campaign(2025, "nominating")
    await factories.accounts(
        ("dingxi-clerk", "county_clerk", "定西市司法局"),
        ("anding-clerk", "county_clerk", "安定区司法局"),
    )
    category = categories["judicial-office"]
    city = await factories.user("dingxi-clerk")
    made = await nominations.create_draft(
        factories.actor_for(city), city, category, {**UNIT, "name": "定西市某司法所"}
    )
    assert made.bureau == ids["定西市司法局"]
    county = await factories.user("anding-clerk")
    with pytest.raises(nominations.NominationError, match="直接下级单位"):
        await nominations.create_draft(
            factories.actor_for(county), county, category, {**UNIT, "name": "安定区某司法所"}
        )
    assert await Nomination.count().where(Nomination.campaign == category.campaign) == 1


async def test_reviewers_below_a_nominating_bureau_never_score_its_candidates(
    organisations,
) -> None:
    ids = {r["name"]: r["id"] for r in await factories.bureau_ids()}
    campaign, categories = await province_campaign(2026, "vetting")
    candidate = factories.candidate(categories["judicial-office"], ids["定西市司法局"], "定西某所")
    await factories.save(candidate)
    await factories.accounts(
        ("expert-anding", "reviewer", "安定区司法局"),
        ("expert-baiyin", "reviewer", "白银市司法局"),
        ("expert-province", "reviewer", "甘肃省司法厅"),
    )
    experts = {
        name: (await factories.user(name)).id
        for name in ("expert-anding", "expert-baiyin", "expert-province")
    }
    admin = await factories.user("province-admin")
    actor = factories.actor_for(admin)
    await review.set_panel(actor, campaign, list(experts.values()))
    await review.auto_assign(actor, campaign)
    assigned = {
        row["reviewer"]
        for row in await Assignment.select(Assignment.reviewer).where(
            Assignment.nomination == candidate.id
        )
    }
    assert assigned == {experts["expert-baiyin"], experts["expert-province"]}
    with pytest.raises(nominations.NominationError, match="回避规则"):
        await review.add_assignment(actor, campaign, candidate.id, experts["expert-anding"])
