"""The recommendation form (推荐审批表): its fields, the printable page, the Word version,
who may see them, and the sealed scan the county uploads."""

from __future__ import annotations

import datetime as dt
import io

from docx import Document as read_docx
from docx.oxml.ns import qn
from openpyxl import load_workbook

from nominations import excel, fields, services
from nominations.tables import Document, DocumentKind
from portal.tables import AuditEntry, Category
from tests.helpers import login
from tests.nominations.test_pages import (  # noqa: F401 (fixture)
    MEDIATOR,
    folder,
    nominate,
    send_form,
    stored_files,
)
from tests.portal.test_media import image_bytes, minimal_pdf

FORM = {
    **MEDIATOR,
    "political_status": "中共党员",  # spreadsheets and pages may send the label
    "ethnicity": "回族",
    "education": "high_school",
    "honours": "2019年 被县司法局评为优秀人民调解员\n2022年 被市司法局评为金牌调解员",
    "recommender_opinion": "该同志扎根基层，事迹突出，经研究同意推荐。",
    "opinion_date": "2026-03-15",
}


async def mediators_of(campaign) -> Category:  # type: ignore[no-untyped-def]
    return (
        await Category.objects()
        .where((Category.campaign == campaign.id) & (Category.key == "mediator"))
        .first()
        .run()
    )


def docx_text(data: bytes) -> str:
    document = read_docx(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


# --- the fields -------------------------------------------------------------------------


def test_the_new_fields_by_kind() -> None:
    mediator = {f.key for f in fields.fields_for("mediator")}
    office = {f.key for f in fields.fields_for("judicial_office")}
    assert {"political_status", "ethnicity", "education", "honours"} <= mediator
    assert not {"political_status", "ethnicity", "education"} & office
    for key in ("honours", "recommender_opinion", "opinion_date"):
        assert key in mediator and key in office
        assert not fields.FIELDS_BY_KEY[key].required
        assert not fields.FIELDS_BY_KEY[key].public  # never on the public pages
    assert len(fields.ETHNICITIES) == 56
    assert all(name.endswith("族") for name in fields.ETHNICITIES)
    assert {"汉族", "回族", "东乡族", "保安族", "撒拉族", "土族"} <= set(fields.ETHNICITIES)


def test_the_new_fields_are_checked() -> None:
    values, errors = fields.clean("mediator", FORM)
    assert errors == {}
    assert values["political_status"] == "cpc" and values["ethnicity"] == "回族"
    assert values["opinion_date"] == dt.date(2026, 3, 15)
    assert values["honours"].count("\n") == 1
    for typed in ("2026/3/15", "2026.3.15", "2026年3月15日"):
        assert fields.clean("mediator", {"opinion_date": typed})[0]["opinion_date"] == dt.date(
            2026, 3, 15
        )
    _, errors = fields.clean(
        "mediator",
        {
            "ethnicity": "火星族",
            "political_status": "党员",
            "education": "博士后",
            "opinion_date": "2026-02-30",
            "honours": "2019年\u202e优秀调解员",
            "recommender_opinion": "同" * 501,
        },
    )
    assert errors["ethnicity"] == "民族须填写全称，如“汉族”“回族”。"
    assert "中共党员" in errors["political_status"] and "群众" in errors["political_status"]
    assert "大学本科" in errors["education"]
    assert errors["opinion_date"] == "意见日期格式不正确，请按“2026-03-15”的格式填写。"
    assert "不可见字符" in errors["honours"]
    assert "不能超过 500 个字" in errors["recommender_opinion"]
    next_year = dt.date.today().year + 2
    _, errors = fields.clean("mediator", {"opinion_date": f"{next_year}-01-01"})
    assert "2000 年至" in errors["opinion_date"]


def test_the_excel_template_and_import_carry_them() -> None:
    data = excel.template_workbook("mediator", "“枫桥式”人民调解员")
    wb = load_workbook(io.BytesIO(data))
    ws = wb[excel.SHEET]
    header = [str(c.value).rstrip("*") for c in ws[excel.HEADER_ROW]]
    for label in ("政治面貌", "民族", "文化程度", "曾获荣誉", "推荐单位意见", "意见日期"):
        assert label in header
    column = {label: header.index(label) + 1 for label in header}
    row = excel.EXAMPLE_ROW + 1
    for key, value in MEDIATOR.items():
        ws.cell(row, column[fields.FIELDS_BY_KEY[key].label], value)
    ws.cell(row, column["政治面貌"], "中共预备党员")
    ws.cell(row, column["民族"], "东乡族")
    ws.cell(row, column["文化程度"], "大学专科")
    ws.cell(row, column["曾获荣誉"], "2021年 优秀人民调解员")
    ws.cell(row, column["推荐单位意见"], "同意推荐。")
    ws.cell(row, column["意见日期"], dt.date(2026, 4, 1))  # a real date cell
    out = io.BytesIO()
    wb.save(out)
    [parsed] = excel.parse_workbook(out.getvalue(), "mediator")
    assert parsed["political_status"] == "cpc_probationary"
    assert parsed["ethnicity"] == "东乡族"
    assert parsed["education"] == "college"
    assert parsed["opinion_date"] == dt.date(2026, 4, 1)

    # The export writes the labels and a date; importing it back gives the same values.
    exported = excel.export_workbook(
        [{**parsed, "county": "安定区", "category": "调解员", "status": "草稿"}], "mediator"
    )
    sheet = load_workbook(io.BytesIO(exported)).active
    head = [c.value for c in sheet[1]]
    written = dict(zip(head, [c.value for c in sheet[2]], strict=True))
    assert written["政治面貌"] == "中共预备党员" and written["文化程度"] == "大学专科"
    assert written["意见日期"].date() == dt.date(2026, 4, 1)
    # Every field of the sheet goes through the field's own check once more.
    again, errors = fields.clean("mediator", {k: written[f.label] for k, f in _labels().items()})
    assert errors == {}
    assert {
        k: again[k] for k in ("political_status", "ethnicity", "education", "opinion_date")
    } == {k: parsed[k] for k in ("political_status", "ethnicity", "education", "opinion_date")}


def _labels() -> dict[str, fields.Field]:
    return {f.key: f for f in fields.fields_for("mediator")}


# --- the printable form and its Word version ----------------------------------------------


async def test_the_print_page_and_the_docx(client, clerks, open_campaign, folder) -> None:  # noqa: F811
    category = await mediators_of(open_campaign)
    mine = await nominate(clerks["anding"], category, folder, values=FORM)
    await login(client, "clerk")

    page = await client.get(f"/staff/nominations/{mine.id}/recommendation-form")
    assert page.status_code == 200
    html = page.text
    assert "“枫桥式”人民调解员推荐审批表" in html
    for text in (
        "李桂兰",
        "中共党员",
        "回族",
        "高中（中专）",
        "被市司法局评为金牌调解员",
        "基本情况",
        "主要事迹（摘要）",
        "工作数据",
        "调解成功率",
        "推荐单位意见",
        "该同志扎根基层，事迹突出，经研究同意推荐。",
        "（盖章）",
        "2026年3月15日",
        "审核意见",
        "/static/css/recommendation-form.css",
    ):
        assert text in html, text
    assert "## 主要事迹" not in html  # the deeds as plain paragraphs

    response = await client.get(f"/staff/nominations/{mine.id}/recommendation-form.docx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response.headers["content-disposition"]
    text = docx_text(response.content)
    for expected in (
        "“枫桥式”人民调解员推荐审批表",
        "李桂兰",
        "民族",
        "回族",
        "政治面貌",
        "中共党员",
        "文化程度",
        "曾获荣誉",
        "推荐单位意见",
        "该同志扎根基层，事迹突出，经研究同意推荐。",
        "（盖章）",
        "2026年3月15日",
        "审核意见",
        "推荐单位（盖章）：安定区司法局",
    ):
        assert expected in text, expected
    document = read_docx(io.BytesIO(response.content))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    east_asian = {
        fonts.get(qn("w:eastAsia"))
        for fonts in document.element.body.iter(qn("w:rFonts"))
        if fonts.get(qn("w:eastAsia"))
    }
    assert {"仿宋", "黑体"} <= east_asian
    assert document.inline_shapes  # the photo


async def test_an_empty_opinion_leaves_the_blanks_to_write_by_hand(
    client,
    clerks,
    category,
    folder,  # noqa: F811
) -> None:
    mine = await nominate(clerks["anding"], category, folder)
    await login(client, "clerk")
    html = (await client.get(f"/staff/nominations/{mine.id}/recommendation-form")).text
    assert "年&emsp;&emsp;月" in html or "年    月    日" in html
    text = docx_text(
        (await client.get(f"/staff/nominations/{mine.id}/recommendation-form.docx")).content
    )
    assert "年    月    日" in text and "（盖章）" in text
    assert "政治面貌" not in text  # a unit's form asks no person's particulars


async def test_who_sees_the_form(client, staff, clerks, category, folder) -> None:  # noqa: F811
    theirs = await nominate(clerks["tongwei"], category, folder, name="通渭县平襄镇司法所")
    base = f"/staff/nominations/{theirs.id}/recommendation-form"
    await login(client, "clerk")  # 安定区
    for url in (base, f"{base}.docx"):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert "通渭县平襄镇司法所" not in response.text
    response = await send_form(
        client,
        f"/staff/nominations/{theirs.id}/sealed-form",
        {},
        [("sealed_form", ("表.pdf", minimal_pdf(), "application/pdf"))],
    )
    assert response.status_code == 404
    assert await Document.count().where(Document.kind == DocumentKind.sealed_form.value).run() == 0
    for username, status in (("admin", 200), ("auditor", 200), ("reviewer", 403)):
        client.cookies.clear()
        await login(client, username)
        assert (await client.get(base)).status_code == status, username
        assert (await client.get(f"{base}.docx")).status_code == status, username


# --- the sealed scan ----------------------------------------------------------------------


async def test_the_sealed_form_is_a_checked_pdf(client, clerks, category, folder) -> None:  # noqa: F811
    mine = await nominate(clerks["anding"], category, folder)
    url = f"/staff/nominations/{mine.id}/sealed-form"
    await login(client, "clerk")
    files_before = stored_files(folder)
    audit_before = await AuditEntry.count().run()
    png = image_bytes("PNG", (200, 200))
    response = await send_form(
        client, url, {}, [("sealed_form", ("推荐审批表.pdf", png, "application/pdf"))]
    )
    assert response.status_code in (302, 303)
    detail = await client.get(f"/staff/nominations/{mine.id}")
    assert "盖章推荐审批表未上传" in detail.text
    assert "未上传" in detail.text
    assert await Document.count().where(Document.kind == DocumentKind.sealed_form.value).run() == 0
    assert stored_files(folder) == files_before
    assert await AuditEntry.count().run() == audit_before

    await send_form(client, url, {}, [])  # no file chosen
    assert (await client.get(f"/staff/nominations/{mine.id}")).text.count("请选择盖章后扫描") == 1

    for name in ("盖章推荐表.pdf", "盖章推荐表（重扫）.pdf"):
        response = await send_form(
            client, url, {}, [("sealed_form", (name, minimal_pdf(), "application/pdf"))]
        )
        assert response.status_code in (302, 303)
    sealed = await services.documents_of(mine.id, kind=DocumentKind.sealed_form)
    assert [d.filename for d in sealed] == ["盖章推荐表（重扫）.pdf"]  # replaced, not added
    assert len(stored_files(folder)) == len(files_before) + 1  # the first scan is deleted
    # The sealed form is not one of the supporting documents the submission counts.
    assert len(await services.documents_of(mine.id, kind=DocumentKind.material)) == 1
    detail = (await client.get(f"/staff/nominations/{mine.id}")).text
    assert "盖章推荐表（重扫）.pdf" in detail
    scan = await client.get(f"/staff/nominations/{mine.id}/documents/{sealed[0].id}")
    assert scan.status_code == 200 and scan.content == minimal_pdf()

    client.cookies.clear()
    await login(client, "admin")  # the city's vetting list shows which forms are in
    slug = (await services.load(clerks["anding"], mine.id)).campaign.slug
    listing = await client.get(f"/staff/nominations?campaign={slug}")
    assert "盖章推荐审批表" in listing.text and "已上传" in listing.text


async def test_the_form_page_offers_the_new_fields(client, clerks, open_campaign) -> None:
    category = await mediators_of(open_campaign)
    await login(client, "clerk")
    html = (await client.get(f"/staff/nominations/new?category={category.id}")).text
    assert 'name="ethnicity"' in html and html.count("族</option>") == 56
    assert 'name="opinion_date" type="date"' in html
    assert '<textarea id="f-recommender_opinion"' in html
    assert "推荐单位意见（印在推荐审批表上）" in html
