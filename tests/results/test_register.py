"""The register of designations and the certificates that prove them.

The designation numbers every designee's certificate in its organiser's series (unique,
never reused, also when two designations run at once); the register lists every
designation of the published campaigns with its term and status; anyone checks a number
through the contract's API or the public page (the printed certificate's QR code leads
there); the organiser prints the certificates and the plaque list.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import re
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from portal.audit import Actor
from portal.bureaus import certificate_number, check_certificate_pattern
from portal.campaigns import parse_campaign
from portal.clock import utc_now
from portal.db import write_transaction
from portal.demo import story_at
from portal.errors import Invalid
from portal.tables import AuditEntry, Bureau, Campaign
from results import register
from results import services as results
from results.register import term_end
from results.tables import Designation, Standing
from tests.helpers import login, post_form
from tests.results.conftest import NOTICE_SLUG

DEMO_2022 = "dingxi-2022"
# The demo's 2022 designation (results/demo.py): 5 offices, 10 committees, 14 mediators.
QUOTAS = {"judicial_office": 5, "mediation_committee": 10, "mediator": 14}


def check_path(number: str) -> str:
    return "/certificates/" + quote(number, safe="")


async def designate_notice_scene() -> Campaign:
    """Designate the notice scene's campaign a minute after its notice ends."""
    campaign = await Campaign.objects().where(Campaign.slug == NOTICE_SLUG).first()
    tally = await results.tally_of(campaign.id)
    await results.designate(
        Actor.command_line("测试"),
        NOTICE_SLUG,
        "某司发〔2024〕1号",
        now=tally.notice_ends_at + dt.timedelta(minutes=1),
    )
    return await Campaign.objects().where(Campaign.slug == NOTICE_SLUG).first()


# --- the rules ----------------------------------------------------------------------------


def test_terms_end_the_day_before_the_anniversary() -> None:
    assert term_end(dt.date(2022, 12, 2), 3) == dt.date(2025, 12, 1)
    assert term_end(dt.date(2024, 2, 29), 3) == dt.date(2027, 2, 27)
    assert term_end(dt.date(2023, 1, 1), 1) == dt.date(2023, 12, 31)


def test_certificate_numbers_follow_the_bureau_pattern_or_the_default() -> None:
    city = Bureau(name="某市司法局", short_name="某市", certificate_pattern="")
    assert certificate_number(city, 2023, 1) == "某司证〔2023〕第001号"
    city.certificate_pattern = "某司证字〔{year}〕{number:04d}号"
    assert certificate_number(city, 2023, 12) == "某司证字〔2023〕0012号"
    assert check_certificate_pattern("  ") == ""
    for bad in (
        "某司证〔{year}〕",
        "{name}第{number}号",
        "第{number:zz}号",
        "{number}" + "号" * 60,
    ):
        with pytest.raises(Invalid):
            check_certificate_pattern(bad)


def test_typed_numbers_are_read_with_the_brackets_people_type() -> None:
    assert register.normalise_number(" 某司证[2023]第001号 ") == "某司证〔2023〕第001号"
    assert register.normalise_number("某司证【2023】 第001号") == "某司证〔2023〕第001号"


# --- the designation numbers the certificates --------------------------------------------


async def test_the_designation_numbers_every_designee_in_the_organisers_series(
    notice_scene, client
) -> None:  # type: ignore[no-untyped-def]
    campaign = await designate_notice_scene()
    rows = (
        await Designation.objects()
        .where(Designation.campaign == campaign.id)
        .order_by(Designation.serial)
    )
    designated = await Standing.count().where(
        (Standing.campaign == campaign.id) & (Standing.designated == True)  # noqa: E712
    )
    assert len(rows) == designated == 3
    assert [r.serial for r in rows] == [1, 2, 3]
    assert [r.certificate_no for r in rows] == [
        f"定司证〔{campaign.year}〕第00{n}号" for n in (1, 2, 3)
    ]
    assert all(r.valid_until == term_end(r.designated_on, 3) for r in rows)
    # Designating again registers nothing twice.
    async with write_transaction():
        assert await register.register_designees(campaign, utc_now()) == 0

    body = (await client.get(f"/api/v1/designations?campaign={NOTICE_SLUG}")).json()
    assert [d["certificate_no"] for d in body] == [r.certificate_no for r in rows]
    assert {d["status"] for d in body} == {"active"}
    assert set(body[0]) == {
        "certificate_no",
        "campaign",
        "year",
        "category",
        "kind",
        "name",
        "organisation",
        "county",
        "designated_on",
        "valid_until",
        "status",
    }


async def test_a_number_is_never_given_twice_even_under_concurrency(
    notice_scene,
) -> None:  # type: ignore[no-untyped-def]
    campaign = await designate_notice_scene()
    first = await Designation.objects().where(Designation.campaign == campaign.id).first()
    # The unique index, whatever the code above it does.
    with pytest.raises(Exception):  # noqa: B017 - the engine's own IntegrityError
        await Designation.insert(
            Designation(
                campaign=first.campaign,
                category=first.category,
                candidate=first.candidate,
                organiser=first.organiser,
                year=first.year,
                serial=99,
                certificate_no=first.certificate_no,
                designated_on=first.designated_on,
                valid_until=first.valid_until,
            )
        )
    # Two registrations at once (as two campaigns of one organiser designated at the
    # same moment would): one after the other, numbers continuing the series.
    await Designation.delete().where(Designation.campaign == campaign.id)

    async def once() -> int:
        async with write_transaction():
            return await register.register_designees(campaign, utc_now())

    counts = await asyncio.gather(once(), once(), return_exceptions=True)
    added = [c for c in counts if isinstance(c, int)]
    assert sum(added) == 3
    rows = await Designation.select(Designation.serial, Designation.certificate_no).where(
        Designation.campaign == campaign.id
    )
    assert sorted(r["serial"] for r in rows) == [1, 2, 3]
    assert len({r["certificate_no"] for r in rows}) == 3


# --- the register and the check, on the demo ---------------------------------------------


async def test_the_demo_2022_register_lists_its_29_designations(demo_loaded, client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get(f"/api/v1/designations?campaign={DEMO_2022}")
    assert response.status_code == 200
    body = response.json()
    assert len(body) == sum(QUOTAS.values()) == 29
    assert {kind: sum(d["kind"] == kind for d in body) for kind in QUOTAS} == QUOTAS
    assert [d["certificate_no"] for d in body] == [
        f"定司证〔2022〕第{n:03d}号" for n in range(1, 30)
    ]
    # Designated on the story's 2 December 2022 for three years, shown moved by whole years.
    on, until = story_at(dt.date(2022, 12, 2)), story_at(dt.date(2025, 12, 1))
    assert {(d["designated_on"], d["valid_until"]) for d in body} == {
        (on.isoformat(), until.isoformat())
    }
    # In the story's present (the year from July 2024) the titles are current, but one
    # revoked by the re-check.
    assert sorted(d["status"] for d in body) == ["active"] * 28 + ["revoked"]
    designated = await Standing.select(Standing.candidate.name.as_alias("name")).where(
        (Standing.campaign.slug == DEMO_2022) & (Standing.designated == True)  # noqa: E712
    )
    assert sorted(d["name"] for d in body) == sorted(r["name"] for r in designated)
    today = register.today_in()
    rows = {
        r.certificate_no: r
        for r in await Designation.objects().where(Designation.campaign.slug == DEMO_2022)
    }
    for item in body:
        row = rows[item["certificate_no"]]
        assert item["status"] == register.status_of(row.valid_until, row.revoked_on, today)
        check = await client.get(f"/api/v1/certificates/{quote(item['certificate_no'])}")
        assert check.status_code == 200
        detail = check.json()
        assert detail["certificate_no"] == item["certificate_no"]
        assert detail["name"] == item["name"] and detail["status"] == item["status"]
        assert detail["title"] == f"2022年度{item['category']}"
        assert (detail["revoked_on"] is None) == (item["status"] != "revoked")

    # Filters: kind, status, bureau (organiser or nominating bureau); bad values are 400.
    offices = (await client.get("/api/v1/designations?kind=judicial_office")).json()
    assert offices and {d["kind"] for d in offices} == {"judicial_office"}
    by_county = (await client.get("/api/v1/designations?bureau=安定区司法局")).json()
    assert by_county and {d["county"] for d in by_county} == {"安定区"}
    by_city = (
        await client.get(f"/api/v1/designations?bureau=定西市司法局&campaign={DEMO_2022}")
    ).json()
    assert len(by_city) == 29
    for status in ("active", "expired", "revoked"):
        listed = (await client.get(f"/api/v1/designations?status={status}")).json()
        assert {d["status"] for d in listed} <= {status}
    for bad in ("status=valid", "kind=people"):
        refused = await client.get(f"/api/v1/designations?{bad}")
        assert refused.status_code == 400 and refused.json()["error"] == "invalid"

    unknown = await client.get(f"/api/v1/certificates/{quote('定司证〔2022〕第999号')}")
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"


async def test_the_public_register_and_certificate_check_pages(demo_loaded, client) -> None:  # type: ignore[no-untyped-def]
    page = await client.get("/register?year=2022")
    assert page.status_code == 200
    numbers = re.findall(r"定司证〔2022〕第\d{3}号", page.text)
    assert len(set(numbers)) == 29
    search = await client.get("/register?q=第007号")
    assert search.status_code == 200 and "定司证〔2022〕第007号" in search.text
    assert "定司证〔2022〕第008号" not in search.text
    sheet = await client.get("/register.xlsx?year=2022&kind=mediator")
    assert sheet.status_code == 200
    ws = load_workbook(io.BytesIO(sheet.content)).active
    assert ws["A1"].value == "证书编号" and ws.max_row == 1 + 14

    first = "定司证〔2022〕第001号"
    typed = await client.get("/certificates?no=定司证[2022]第001号", follow_redirects=False)
    assert typed.status_code in (302, 303) and typed.headers["location"] == check_path(first)
    check = await client.get(check_path(first))
    assert check.status_code == 200 and first in check.text and "有效期至" in check.text
    unknown = await client.get(check_path("定司证〔2022〕第999号"))
    assert unknown.status_code == 404 and "查无此证" in unknown.text
    assert (await client.get("/certificates")).status_code == 200


async def test_the_organiser_prints_certificates_with_their_check_qr_and_plaques(
    demo_loaded, client
) -> None:  # type: ignore[no-untyped-def]
    assert (await client.get(f"/staff/results/{DEMO_2022}/certificates")).status_code in (
        302,
        303,
        401,
    )
    await login(client, "city-admin", "dingxi-demo-2023")
    batch = await client.get(f"/staff/results/{DEMO_2022}/certificates")
    assert batch.status_code == 200
    assert batch.text.count('class="certificate') >= 29
    assert batch.text.count("data:image/png;base64,") == 29
    on = story_at(dt.date(2022, 12, 2))
    assert "定西市司法局" in batch.text and f"{on.year}年12月2日" in batch.text
    row = await Designation.objects().where(Designation.campaign.slug == DEMO_2022).first()
    one = await client.get(f"/staff/results/{DEMO_2022}/certificates/{row.id}")
    assert one.status_code == 200 and one.text.count("data:image/png;base64,") == 1
    assert row.certificate_no in one.text
    assert (await client.get(f"/staff/results/{DEMO_2022}/certificates/999999")).status_code == 404

    plaques = await client.get(f"/staff/results/{DEMO_2022}/plaques.xlsx")
    assert plaques.status_code == 200
    ws = load_workbook(io.BytesIO(plaques.content)).active
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True) if r[0]]
    assert len(rows) == QUOTAS["judicial_office"] + QUOTAS["mediation_committee"]
    year = "".join("〇一二三四五六七八九"[int(c)] for c in str(on.year))  # e.g. 二〇二四
    assert all(f"{year}年十二月" in r[4] for r in rows)


async def test_a_campaign_not_yet_designated_has_no_certificates(
    notice_scene, client, staff
) -> None:  # type: ignore[no-untyped-def]
    await login(client, staff["city_admin"])
    page = await client.get(f"/staff/results/{NOTICE_SLUG}/certificates")
    assert page.status_code == 404
    assert (await client.get(f"/api/v1/designations?campaign={NOTICE_SLUG}")).json() == []


def test_dates_in_the_api_are_iso() -> None:
    entry = register.Entry(
        id=1,
        certificate_no="某司证〔2023〕第001号",
        campaign="x",
        campaign_title="x",
        year=2023,
        category="“枫桥式”司法所",
        kind="judicial_office",
        name="某司法所",
        organisation="",
        county="某县",
        organiser="某市司法局",
        organiser_level="city",
        candidate_id=1,
        designated_on=dt.date(2023, 12, 5),
        valid_until=dt.date(2026, 12, 4),
        status="revoked",
        revoked_on=dt.date(2024, 6, 1),
        revocation_reason="复核不合格。",
        document_no="",
    )
    assert entry.certificate()["revoked_on"] == "2024-06-01"
    assert entry.certificate()["title"] == "2023年度“枫桥式”司法所"
    assert entry.listed()["valid_until"] == "2026-12-04"


async def test_the_administrator_sets_the_bureaus_certificate_pattern(client, staff) -> None:  # type: ignore[no-untyped-def]
    city = await Bureau.objects().where(Bureau.name == "定西市司法局").first()
    await login(client, staff["city_admin"])
    form = await client.get(f"/staff/bureaus/{city.id}/edit")
    assert form.status_code == 200 and "荣誉证书编号格式" in form.text and "定司" in form.text
    values = {"name": city.name, "short_name": city.short_name}
    refused = await post_form(
        client, f"/staff/bureaus/{city.id}/edit", {**values, "certificate_pattern": "第{n}号"}
    )
    assert refused.status_code == 400 and "须包含 {number}" in refused.text
    assert (await Bureau.objects().where(Bureau.id == city.id).first()).certificate_pattern == ""
    pattern = "定司证字〔{year}〕{number:04d}号"
    saved = await post_form(
        client, f"/staff/bureaus/{city.id}/edit", {**values, "certificate_pattern": pattern}
    )
    assert saved.status_code in (302, 303)
    city = await Bureau.objects().where(Bureau.id == city.id).first()
    assert certificate_number(city, 2024, 7) == "定司证字〔2024〕0007号"
    entry = (
        await AuditEntry.objects().where(AuditEntry.action == "bureau.certificate_pattern").first()
    )
    assert json.loads(entry.after) == {"certificate_pattern": pattern}


async def test_the_campaigns_term_sets_the_validity(notice_scene) -> None:  # type: ignore[no-untyped-def]
    await Campaign.update({Campaign.term_years: 5}).where(Campaign.slug == NOTICE_SLUG)
    campaign = await designate_notice_scene()
    rows = await Designation.objects().where(Designation.campaign == campaign.id)
    assert rows and all(r.valid_until == term_end(r.designated_on, 5) for r in rows)


def test_the_campaign_form_takes_a_term_of_one_to_ten_years() -> None:
    base = {"slug": "term-2024", "title": "评选", "year": "2024", "notice_days": "7"}
    assert parse_campaign(base).term_years == 3
    assert parse_campaign({**base, "term_years": "5"}).term_years == 5
    for bad in ("0", "11", "三"):
        with pytest.raises(Invalid) as refused:
            parse_campaign({**base, "term_years": bad})
        assert "term_years" in refused.value.errors
