"""The official documents as Word files, read back with python-docx: the designation
decision, the name list and the notice list the designees by administrative division
in the order the city keeps its county bureaus (moving a bureau on the bureaus page
moves its designees), attach the name list (附件) and close with the 版记; A4 pages in
the GB/T 9704 margins with a PAGE field in the footers. The web decision follows the
same order.

The campaign is test_honours' (two counties nominate; 安定区 before 渭源县 in the
seeded order), run by the city bureau below the province's.
"""

from __future__ import annotations

import io

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm

from portal.demo import ensure_province
from portal.tables import AuditEntry, Bureau, Campaign, Phase
from tests.helpers import login, post_form
from tests.results.test_honours import SLUG, honours_build, honours_folder, text_of  # noqa: F401

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
LIST_TITLE = "2023年度“枫桥式”司法所、人民调解委员会和人民调解员名单"
# The attached list, 安定区 first: division, category, names (in rank order).
ANDING_FIRST = [
    "一、安定区",
    "（一）“枫桥式”司法所（1个）",
    "1. 安定区中华路司法所",
    "（二）“枫桥式”人民调解委员会（1个）",
    "1. 安定区福台路街道人民调解委员会",
    "（三）“枫桥式”人民调解员（1名）",
    "1. 李志国（安定区香泉镇香泉村人民调解委员会）",
    "二、渭源县",
    "（一）“枫桥式”司法所（1个）",
    "1. 渭源县清源司法所",
    "（二）“枫桥式”人民调解员（1名）",
    "1. 王芳（渭源县清源镇人民调解委员会）",
]
WEIYUAN_FIRST = [
    "一、渭源县",
    *ANDING_FIRST[8:],
    "二、安定区",
    *ANDING_FIRST[1:7],
]


@pytest.fixture
def designated(honours_build):  # type: ignore[no-untyped-def]  # noqa: F811
    """The campaign at ``stage``, organised by the city bureau under the province's."""

    async def make(stage: Phase = Phase.published):  # type: ignore[no-untyped-def]
        scene = await honours_build(stage)
        await ensure_province()
        city = await Bureau.select(Bureau.id).where(Bureau.name == "定西市司法局").first().run()
        await Campaign.update({Campaign.organiser: city["id"]}).where(Campaign.slug == SLUG).run()
        return scene

    return make


async def download(client, name: str):  # type: ignore[no-untyped-def]
    response = await client.get(f"/campaigns/{SLUG}/{name}")
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == DOCX
    assert "attachment;" in response.headers["content-disposition"]
    return Document(io.BytesIO(response.content))


def lines(doc) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.text for p in doc.paragraphs if p.text.strip()]


def attached_list(doc) -> list[str]:  # type: ignore[no-untyped-def]
    """The attached name list: the lines after its title, up to the 版记."""
    text = lines(doc)
    start = text.index("附件")
    assert text[start + 1] == LIST_TITLE
    end = next((i for i, line in enumerate(text) if line.startswith("抄送")), len(text))
    return text[start + 2 : end]


def assert_official_page(doc) -> None:  # type: ignore[no-untyped-def]
    """A4 in the GB/T 9704 margins; "— PAGE —" in the odd and even footers."""
    section = doc.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(0.5)
    assert abs(section.page_height - Mm(297)) < Mm(0.5)
    margins = (section.top_margin, section.bottom_margin, section.left_margin)
    assert [round(m.mm) for m in (*margins, section.right_margin)] == [37, 35, 28, 26]
    assert doc.settings.odd_and_even_pages_header_footer
    for footer in (section.footer, section.even_page_footer):
        xml = footer._element.xml
        assert "<w:instrText" in xml and " PAGE " in xml
        assert 'w:fldCharType="begin"' in xml and 'w:fldCharType="end"' in xml
        assert footer.paragraphs[0].text.startswith("— ") and footer.paragraphs[0].text.endswith(
            " —"
        )
    # The body in 仿宋 三号 by its East Asian font name.
    normal = doc.styles["Normal"]
    assert normal.element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋"
    assert normal.font.size.pt == 16


async def test_decision_docx_lists_by_division_with_attachment_and_imprint(client, designated):
    await designated()
    doc = await download(client, "announcement.docx")
    assert_official_page(doc)
    text = lines(doc)
    title = "关于命名2023年度“枫桥式”司法所、人民调解委员会和人民调解员的决定"
    assert text[:3] == ["定西市司法局", "定司发〔2023〕12号", title]
    title_run = next(p for p in doc.paragraphs if p.text == title).runs[0]
    assert title_run._element.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"
    assert title_run.font.size.pt == 22
    assert "各县区司法局：" in text
    body = "".join(text)
    assert "安定区中华路司法所等2个单位为“枫桥式”司法所" in body
    assert "（名单附后）" in body
    assert f"附件：{LIST_TITLE}" in text
    # 落款 before the attachment, which starts on a new page.
    assert text.index("2023年12月5日") < text.index("附件")
    label = next(p for p in doc.paragraphs if p.text == "附件")
    assert label.paragraph_format.page_break_before
    assert label.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    assert attached_list(doc) == ANDING_FIRST
    # 版记: 抄送 the province's bureau; the city's office prints it on the designation day.
    assert text[-2:] == ["抄送：甘肃省司法厅。", "定西市司法局办公室\t2023年12月5日印发"]


async def test_moving_a_bureau_moves_its_designees_everywhere(client, designated, staff):
    await designated()
    weiyuan = await Bureau.select(Bureau.id).where(Bureau.name == "渭源县司法局").first().run()
    await login(client, "admin")
    page = await client.get("/staff/bureaus")
    assert f'action="/staff/bureaus/{weiyuan["id"]}/move"' in page.text
    # 渭源县 is fourth of the seven counties (安定区, 通渭县, 陇西县, 渭源县 …).
    for _ in range(3):
        response = await post_form(
            client, f"/staff/bureaus/{weiyuan['id']}/move", {"direction": "up"}
        )
        assert response.status_code in (302, 303)
    moves = await AuditEntry.count().where(AuditEntry.action == "bureau.move").run()
    assert moves == 3
    doc = await download(client, "announcement.docx")
    assert attached_list(doc) == WEIYUAN_FIRST
    # The decision names the first of the list first.
    assert "渭源县清源司法所等2个单位为“枫桥式”司法所" in "".join(lines(doc))
    names = await download(client, "names.docx")
    assert lines(names)[0] == LIST_TITLE
    assert lines(names)[2:] == WEIYUAN_FIRST
    # The web decision and the honour list follow the same order.
    web = text_of((await client.get(f"/campaigns/{SLUG}/announcement")).text)
    assert web.index("二、安定区") > web.index("一、渭源县") > web.index(f"附件：{LIST_TITLE}")
    honours = (await client.get(f"/campaigns/{SLUG}/honours")).text
    assert honours.index("王芳") < honours.index("李志国")
    assert f'href="/campaigns/{SLUG}/announcement.docx"' in honours
    assert f'href="/campaigns/{SLUG}/names.docx"' in honours


async def test_the_first_bureau_moves_no_further_up(client, designated, staff):
    await designated()
    await login(client, "admin")
    anding = await Bureau.select(Bureau.id).where(Bureau.name == "安定区司法局").first().run()
    page = (await client.get("/staff/bureaus")).text
    row = page[page.index(f'id="bureau-{anding["id"]}"') :]
    row = row[: row.index("</tr>")]
    assert "下移" in row and "上移" not in row
    await post_form(client, f"/staff/bureaus/{anding['id']}/move", {"direction": "up"})
    assert await AuditEntry.count().where(AuditEntry.action == "bureau.move").run() == 0
    doc = await download(client, "announcement.docx")
    assert attached_list(doc) == ANDING_FIRST


async def test_notice_docx_lists_the_proposed_names_by_division(client, designated):
    await designated(Phase.notice)
    await Campaign.update(
        {Campaign.objection_contact: "王主任", Campaign.objection_phone: "0932-8212345"}
    ).where(Campaign.slug == SLUG)
    doc = await download(client, "notice.docx")
    assert_official_page(doc)
    text = lines(doc)
    proposed = "2023年度“枫桥式”司法所、人民调解委员会和人民调解员拟命名名单"
    assert text[0] == "关于2023年度“枫桥式”司法所、人民调解委员会和人民调解员拟命名名单的公示"
    body = "".join(text)
    assert "（名单附后）" in body and "公示期为2023年11月28日至2023年12月5日" in body
    assert f"/campaigns/{SLUG}/notice/object" in body
    assert "可通过电话、信函、来访或网上" in body and "（北京时间）后提出的不再受理" in body
    assert "联系人：王主任；联系电话：0932-8212345。" in body
    page = await client.get(f"/campaigns/{SLUG}/notice")
    assert f"/campaigns/{SLUG}/notice.docx" in page.text
    assert f"附件：{proposed}" in text
    start = text.index(proposed, text.index("附件"))
    assert text[start + 1 : start + 1 + len(ANDING_FIRST)] == ANDING_FIRST
    assert text[-2:] == [
        "抄送：甘肃省司法厅，各县区司法局。",
        "定西市司法局办公室\t2023年11月28日印发",
    ]
    # The decision and its list do not exist before the designation.
    for name in ("announcement.docx", "names.docx"):
        assert (await client.get(f"/campaigns/{SLUG}/{name}")).status_code == 404


async def test_no_documents_before_the_notice(client, designated):
    await designated(Phase.tallying)
    for name in ("announcement.docx", "names.docx", "notice.docx"):
        response = await client.get(f"/campaigns/{SLUG}/{name}")
        assert response.status_code == 404, name
