"""Designations from the level below: a provincial category that accepts only units a
city designated. The city's clerk picks from the city's current designees (name and
figures copied in, editable); anything else is refused and changes nothing; vetting
shows the earlier designation."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest

from nominations import services as nominations
from nominations.designees import designees
from nominations.tables import Nomination, Status
from portal.audit import Actor
from portal.bureaus import import_bureaus
from portal.tables import Campaign, Category, Phase
from results.register import register_designees
from results.tables import Standing, Tally
from tests import factories
from tests.helpers import login, post_form
from tests.nominations.test_pages import error_at
from tests.portal.test_organisations import GANSU

COMMITTEE = {
    "key": "committee",
    "title": "“枫桥式”人民调解委员会",
    "kind": "mediation_committee",
    "quota": 5,
    "county_cap": 5,
}


async def finished(
    slug: str, organiser: str, year: int, county: str, named: list[str], others: tuple = ()
) -> Campaign:
    """A published campaign of ``organiser`` whose honour list (and register) names
    ``named``."""
    ids = {r["name"]: r["id"] for r in await factories.bureau_ids()}
    campaign, categories = await factories.campaign(
        [COMMITTEE],
        slug=slug,
        title=f"{year}年度评选",
        year=year,
        phase="published",
        organiser=ids[organiser],
    )
    category = categories["committee"]
    rows = [
        factories.candidate(
            category,
            ids[county],
            name,
            township="香泉镇",
            committee="",
            disputes_mediated=120,
            disputes_resolved=118,
            contact_name="王敏",
        )
        for name in [*named, *others]
    ]
    await factories.save(*rows)
    await factories.save(
        Tally(
            campaign=campaign.id,
            review_weight=Decimal("0.70"),
            vote_weight=Decimal("0.30"),
            designated_at=dt.datetime(year, 12, 5, 2, tzinfo=dt.UTC),
            document_no=f"定司发〔{year}〕9号",
        ),
        *[
            Standing(
                campaign=campaign.id,
                category=category.id,
                candidate=row.id,
                review_score=Decimal(90),
                votes=10,
                vote_score=Decimal(80),
                final_score=Decimal(87),
                rank=rank,
                designated=row.name in named,
            )
            for rank, row in enumerate(rows, start=1)
        ],
    )
    # As the designation does: the designees enter the organiser's register.
    await register_designees(campaign, dt.datetime(year, 12, 5, 2, tzinfo=dt.UTC))
    return campaign


@pytest.fixture
async def scene(db) -> dict:  # type: ignore[no-untyped-def]
    await import_bureaus(Actor.command_line(), GANSU.encode())
    await factories.accounts(
        ("province-admin", "city_admin", "甘肃省司法厅"),
        ("dingxi-clerk", "county_clerk", "定西市司法局"),
        ("baiyin-clerk", "county_clerk", "白银市司法局"),
    )
    await finished(
        "dingxi-2024",
        "定西市司法局",
        2024,
        "安定区司法局",
        ["香泉村人民调解委员会", "福台路人民调解委员会"],
        ("未命名调委会",),
    )
    await finished("dingxi-2020", "定西市司法局", 2020, "安定区司法局", ["早年调委会"])
    await finished("baiyin-2024", "白银市司法局", 2024, "会宁县司法局", ["会宁调委会"])
    ids = {r["name"]: r["id"] for r in await factories.bureau_ids()}
    now = dt.datetime.now(dt.UTC)
    campaign, categories = await factories.campaign(
        [{**COMMITTEE, "requires_designation": True}],
        slug="gansu-2025",
        title="2025年度全省评选",
        year=2025,
        phase=Phase.nominating.value,
        organiser=ids["甘肃省司法厅"],
        nominating_opens_at=now - dt.timedelta(days=1),
        nominating_closes_at=now + dt.timedelta(days=9),
    )
    earlier = {
        r["name"]: r["id"] for r in await Nomination.select(Nomination.id, Nomination.name).run()
    }
    return {
        "campaign": campaign,
        "category": categories["committee"],
        "earlier": earlier,
        "ids": ids,
    }


async def test_a_bureau_offers_its_own_current_designees_of_the_kind(scene) -> None:
    campaign, category, ids = scene["campaign"], scene["category"], scene["ids"]
    found = await designees(ids["定西市司法局"], category, campaign)
    # Not the one left off the honour list, not the 2020 one (its term ended), not Baiyin's.
    assert sorted(d.name for d in found) == ["福台路人民调解委员会", "香泉村人民调解委员会"]
    first = found[0]
    assert first.described == (
        "经定西市司法局2024年12月5日命名为“枫桥式”人民调解委员会（定司发〔2024〕9号）"
    )
    assert first.organisation == "香泉镇" and first.campaign_slug == "dingxi-2024"
    mediators = Category(kind="mediator", _ignore_missing=True)
    assert await designees(ids["定西市司法局"], mediators, campaign) == []


async def test_the_clerk_picks_a_designee_and_the_form_starts_from_it(client, scene) -> None:
    category, earlier = scene["category"], scene["earlier"]
    await login(client, "dingxi-clerk")
    page = await client.get(f"/staff/nominations/new?category={category.id}")
    assert page.status_code == 200
    assert "只接受本单位命名且在有效期内的对象" in page.text
    assert "香泉村人民调解委员会" in page.text and "会宁调委会" not in page.text
    assert 'name="deeds"' not in page.text  # no free form: pick first
    chosen = earlier["香泉村人民调解委员会"]
    page = await client.get(f"/staff/nominations/new?category={category.id}&designation={chosen}")
    assert f'name="designation" value="{chosen}"' in page.text
    assert 'value="香泉村人民调解委员会"' in page.text and 'value="120"' in page.text
    response = await post_form(
        client,
        "/staff/nominations/new",
        {
            "category": str(category.id),
            "designation": str(chosen),
            "name": "香泉村人民调解委员会",
            "township": "香泉镇",
            "disputes_mediated": "150",
        },
    )
    assert response.status_code in (302, 303), response.text[:400]
    made = await Nomination.objects().where(Nomination.campaign == scene["campaign"].id).run()
    assert [(n.designation, n.disputes_mediated) for n in made] == [(chosen, 150)]
    # Picked once: offered as already nominated, and refused a second time.
    page = await client.get(f"/staff/nominations/new?category={category.id}")
    assert "已推荐" in page.text
    again = await post_form(
        client,
        "/staff/nominations/new",
        {"category": str(category.id), "designation": str(chosen), "name": "再来一次"},
    )
    assert again.status_code == 400 and "已在本次评选中推荐" in again.text
    # Vetting shows where it came from.
    await login(client, "province-admin")
    detail = await client.get(f"/staff/nominations/{made[0].id}")
    assert "原命名" in detail.text and "定司发〔2024〕9号" in detail.text
    assert "/campaigns/dingxi-2024/honours" in detail.text


@pytest.mark.parametrize(
    "designation",
    ["", "早年调委会", "会宁调委会", "未命名调委会", "abc", "999999"],
)
async def test_anything_but_a_current_own_designee_is_refused(client, scene, designation) -> None:
    category = scene["category"]
    value = str(scene["earlier"].get(designation, designation))
    await login(client, "dingxi-clerk")
    response = await post_form(
        client,
        "/staff/nominations/new",
        {"category": str(category.id), "designation": value, "name": "某调委会"},
    )
    assert response.status_code == 400
    assert ("请从已命名对象中选择" if not designation else "不是本单位在有效期内命名的对象") in (
        response.text
    )
    assert not await Nomination.exists().where(Nomination.campaign == scene["campaign"].id).run()


async def typed_draft(scene: dict) -> tuple:
    """The Dingxi clerk and a draft of theirs typed in, picked from no designation (made
    before the category was switched to designees only)."""
    clerk = await factories.user("dingxi-clerk")
    draft = Nomination(
        campaign=scene["campaign"].id,
        category=scene["category"].id,
        bureau=clerk.bureau_id,
        status=Status.draft.value,
        name="自填调委会",
    )
    await factories.save(draft)
    return clerk, draft


async def test_a_draft_without_a_designation_cannot_be_submitted_or_imported(scene) -> None:
    """A category switched to designees only after drafts were made: they cannot go on."""
    clerk, draft = await typed_draft(scene)
    ctx = await nominations.load(clerk, draft.id)
    with pytest.raises(nominations.NominationError) as refused:
        await nominations.submit(factories.actor_for(clerk), clerk, ctx)
    assert refused.value.errors["designation"] == nominations.DESIGNEES_ONLY
    with pytest.raises(nominations.NominationError, match="不能从表格导入"):
        await nominations.create_drafts(factories.actor_for(clerk), clerk, scene["category"], [{}])


async def test_the_submit_error_is_shown_on_the_form(client, scene) -> None:
    _, draft = await typed_draft(scene)
    await login(client, "dingxi-clerk")
    response = await post_form(client, f"/staff/nominations/{draft.id}/submit")
    assert response.status_code == 400
    assert nominations.DESIGNEES_ONLY in response.text
    assert error_at(response.text, "photo")  # and the rest that is missing


async def test_two_drafts_picking_one_designee_at_once_make_one(scene) -> None:
    """The check in Python can race (PostgreSQL); the unique index decides."""
    clerk = await factories.user("dingxi-clerk")
    chosen = scene["earlier"]["福台路人民调解委员会"]
    data = {"designation": str(chosen), "name": "福台路人民调解委员会"}
    outcomes = await asyncio.gather(
        *(
            nominations.create_draft(factories.actor_for(clerk), clerk, scene["category"], data)
            for _ in range(4)
        ),
        return_exceptions=True,
    )
    made = [o for o in outcomes if isinstance(o, Nomination)]
    refused = [o for o in outcomes if isinstance(o, nominations.NominationError)]
    assert len(made) == 1 and len(refused) == 3, outcomes
    assert {r.message for r in refused} == {nominations.ALREADY_PUT_FORWARD}
    assert await Nomination.count().where(Nomination.designation == chosen).run() == 1
