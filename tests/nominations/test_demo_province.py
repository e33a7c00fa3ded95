"""The provincial demo campaign (`gansu-2024`): organised by 甘肃省司法厅, nominated to by
three of its cities, its nominating window open; Dingxi's nominees are its own 2022
designees, copied from them; every nomination but a draft is complete and within its
city's cap; each city's clerk and the province find work waiting; everyone sees only
what is theirs."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from nominations import fields
from nominations.designees import designees
from nominations.tables import HOLDS_PLACE, Document, Nomination, Status
from portal.demo import DEMO_PASSWORD, PROVINCE_BUREAU, PROVINCE_CATEGORIES, PROVINCE_SLUG
from portal.tables import Bureau, Campaign, Category
from tests.helpers import login

CAPS = {key: cap for key, _, _, _, cap, *_ in PROVINCE_CATEGORIES}


async def test_three_cities_nominate_to_the_province_and_dingxi_from_its_designees(
    demo_loaded: Path,
) -> None:
    campaign = await Campaign.objects().where(Campaign.slug == PROVINCE_SLUG).first().run()
    organiser = await Bureau.objects().where(Bureau.id == campaign.organiser).first().run()
    assert (organiser.name, organiser.level, campaign.phase) == (
        PROVINCE_BUREAU,
        "province",
        "nominating",
    )
    categories = {
        c.id: c for c in await Category.objects().where(Category.campaign == campaign.id).run()
    }
    rows = await Nomination.objects().where(Nomination.campaign == campaign.id).run()
    bureaus = {b.id: b for b in await Bureau.objects().run()}
    cities = Counter(bureaus[n.bureau].short_name for n in rows)
    assert set(cities) == {"定西市", "兰州市", "天水市"}
    assert all(bureaus[n.bureau].parent == organiser.id for n in rows)
    assert {n.status for n in rows} == {"shortlisted", "submitted", "returned", "draft"}
    # Every city still has a draft to finish; a draft holds no place.
    assert {bureaus[n.bureau].short_name for n in rows if n.status == "draft"} == set(cities)
    places = Counter()
    for n in rows:
        category = categories[n.category]
        if n.status == "draft":
            assert n.place is None
            continue
        assert Status(n.status) in HOLDS_PLACE and 1 <= n.place <= CAPS[category.key]
        places[(category.key, n.bureau, n.place)] += 1
        cleaned, errors = fields.clean(category.kind, fields_of(n, category.kind))
        assert not errors and not fields.missing(category.kind, cleaned), n.name
        assert n.photo and await Document.exists().where(Document.nomination == n.id).run()
    assert max(places.values()) == 1
    # The committees must be designees; Dingxi's nominees all are, from its 2022 list.
    committee = next(c for c in categories.values() if c.requires_designation)
    assert committee.key == "mediation-committee"
    assert {bureaus[n.bureau].short_name for n in rows if n.category == committee.id} == {"定西市"}
    for n in rows:
        picked = n.designation is not None
        assert picked == (bureaus[n.bureau].short_name == "定西市"), n.name
        if picked:
            earlier = await Nomination.objects().where(Nomination.id == n.designation).first().run()
            assert (earlier.name, earlier.disputes_mediated) == (n.name, n.disputes_mediated)
            offered = await designees(n.bureau, categories[n.category], campaign)
            found = next(d for d in offered if d.nomination_id == n.designation)
            assert found.campaign_slug == "dingxi-2022"


def fields_of(nomination: Nomination, kind: str) -> dict:
    return {f.key: getattr(nomination, f.key) for f in fields.fields_for(kind)}


async def test_the_province_vets_and_the_cities_see_their_own(demo_loaded: Path, client) -> None:
    await login(client, "province-admin", DEMO_PASSWORD)
    page = await client.get(f"/staff/nominations?campaign={PROVINCE_SLUG}")
    assert page.status_code == 200
    assert all(city in page.text for city in ("定西市", "兰州市", "天水市"))
    assert (await client.get("/staff/campaigns/dingxi-2023")).status_code == 404
    shortlisted = (
        await Nomination.objects()
        .where((Nomination.status == Status.submitted.value) & Nomination.designation.is_not_null())
        .first()
        .run()
    )
    detail = await client.get(f"/staff/nominations/{shortlisted.id}")
    assert "原命名" in detail.text and "定司发〔2022〕45号" in detail.text
    await login(client, "clerk-lanzhou", DEMO_PASSWORD)
    page = await client.get(f"/staff/nominations?campaign={PROVINCE_SLUG}")
    assert "城关区" in page.text and "秦州区" not in page.text and "安定区" not in page.text


async def test_the_public_filters_the_candidates_by_nominating_city(
    demo_loaded: Path, client
) -> None:
    everyone = await client.get(f"/campaigns/{PROVINCE_SLUG}/candidates")
    assert everyone.status_code == 200
    assert '<label for="f-county">市州</label>' in everyone.text
    options = re.findall(r'<option value="([^"]+)"', everyone.text)
    assert options == ["定西市", "兰州市", "天水市"]
    lanzhou = await client.get(f"/campaigns/{PROVINCE_SLUG}/candidates?county=兰州市")
    assert "城关区张掖路司法所" in lanzhou.text and "城关区张掖路司法所" in everyone.text
    assert "秦州区" not in lanzhou.text and "秦州区" in everyone.text
    assert "本类别在所选市州暂无入围对象。" in lanzhou.text  # committees: Dingxi's only
