"""The whole nomination workflow in the browser, as the issue tells it.

A clerk creates a nomination with a photo and a PDF and submits it; the city returns
it with a comment; the clerk revises and resubmits; the city shortlists it; it appears
on the candidates API and a public page.

The demo campaign is already past nominations, so the city admin first sets up a fresh
campaign (its own slug, one category) with the nomination window open around now.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import shot
from tests.e2e.test_public_pages import no_horizontal_scroll
from tests.e2e.test_staff_login import sign_in

SLUG = "flow-e2e"
TITLE = "流程测试“枫桥式”评选"
NAME = "安定区流程测试司法所"
DEEDS = "坚持和发展新时代“枫桥经验”，**矛盾不上交**。"
REVISED = "补充：全年组织法治宣传 36 场。"
CONTACT_PHONE = "13912345678"
RETURN_COMMENT = "请补充法治宣传的具体数据。"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\nstartxref\n0\n%%EOF\n"

# A judicial office's fields, by their (exact) labels on the form.
TEXTS = {
    "名称": NAME,
    "所在乡镇（街道）": "中华路街道",
    "地址": "定西市安定区中华路 1 号",
    "一句话简介": "扎根基层的调解能手。",
    "联系人": "王经办",
    "联系电话": CONTACT_PHONE,
}
FIGURES = {
    "排查调处矛盾纠纷（件）": "120",
    "调解成功（件）": "118",
    "司法确认（件）": "20",
    "随手调（件）": "30",
    "法院委托移送（件）": "5",
    "公安委托移送（件）": "4",
    "乡镇（街道）委托移送（件）": "3",
    "信访部门委托移送（件）": "2",
    "其他单位委托移送（件）": "1",
}


def field(page: Page, label: str) -> Locator:
    """The form control labelled exactly ``label`` (a required field's label ends in *)."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}\*?$"))


def sign_out(page: Page) -> None:
    page.get_by_role("button", name=re.compile("退出")).click()
    expect(page).to_have_url(re.compile(r"/$"))


def minute(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M")


def open_campaign(page: Page) -> None:
    """The city admin creates a campaign with one category and opens nominations."""
    sign_in(page, "city-admin")
    page.goto("/staff/campaigns/new")
    now = dt.datetime.now(ZoneInfo("Asia/Shanghai"))
    page.get_by_label("活动名称").fill(TITLE)
    page.get_by_label("网址标识").fill(SLUG)
    page.get_by_label("年度").fill(str(now.year))
    page.get_by_label("推荐申报开始").fill(minute(now - dt.timedelta(days=1)))
    page.get_by_label("推荐申报结束").fill(minute(now + dt.timedelta(days=7)))
    page.get_by_role("button", name="创建活动").click()
    expect(page).to_have_url(re.compile(rf"/staff/campaigns/{SLUG}$"))

    page.get_by_role("link", name="增加类别").click()
    page.get_by_label("类别名称").fill("“枫桥式”司法所")
    page.get_by_label("类别标识").fill("judicial-office")
    page.get_by_label("对象类型").select_option("judicial_office")
    page.get_by_label("命名名额").fill("7")
    page.get_by_label("每县推荐上限").fill("2")
    page.get_by_label("每人每日可投票数").fill("3")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_contain_text("已保存评选类别")

    page.get_by_role("button", name="进入下一阶段：推荐申报").click()
    expect(page.locator(".phase-bar .current")).to_have_text("推荐申报")
    sign_out(page)


def test_nomination_is_returned_revised_and_shortlisted(
    page: Page, phone: Page, tmp_path: Path
) -> None:
    photo = tmp_path / "portrait.jpg"
    Image.new("RGB", (800, 600), (180, 40, 40)).save(photo, "JPEG")
    evidence = tmp_path / "证明材料.pdf"
    evidence.write_bytes(PDF)

    open_campaign(page)

    # The clerk of 安定区 creates the nomination with a photo and a PDF, and submits it.
    sign_in(page, "clerk-anding")
    page.goto(f"/staff/nominations?campaign={SLUG}")
    expect(page.locator(".category")).to_contain_text("已报送 0 / 上限 2 个")
    shot(page, "nomination-clerk-list")
    page.get_by_role("link", name="新建推荐").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("新建推荐")
    for label, value in TEXTS.items():
        field(page, label).fill(value)
    field(page, "类型").select_option(label="乡镇（街道）")
    field(page, "事迹材料").fill(DEEDS)
    for label, value in FIGURES.items():
        field(page, label).fill(value)
    field(page, "照片").set_input_files(photo)
    page.get_by_label("证明材料（PDF）").set_input_files(evidence)
    shot(page, "nomination-form")
    page.get_by_role("button", name="保存并报送").click()

    expect(page).to_have_url(re.compile(r"/staff/nominations/\d+$"))
    nomination_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_role("status")).to_contain_text("已报送市司法局审核")
    expect(page.locator(".page-head .badge")).to_have_text("已报送")
    expect(page.locator(".file-list")).to_contain_text("证明材料.pdf")
    expect(page.locator("img.photo")).to_have_js_property("naturalWidth", 800)
    shot(page, "nomination-submitted")
    sign_out(page)

    # The city returns it with a comment.
    sign_in(page, "city-admin")
    page.goto(f"/staff/nominations?campaign={SLUG}")
    shot(page, "nomination-city-list")
    page.get_by_role("link", name=NAME).click()
    expect(page).to_have_url(re.compile(rf"/staff/nominations/{nomination_id}$"))
    expect(page.locator("main")).to_contain_text(CONTACT_PHONE)  # staff see the contact
    page.get_by_label("意见").fill(RETURN_COMMENT)
    shot(page, "nomination-city-review")
    page.get_by_role("button", name="退回修改").click()
    expect(page.get_by_role("status")).to_contain_text("已退回修改")
    expect(page.locator(".page-head .badge")).to_have_text("退回修改")
    sign_out(page)

    # The clerk sees the comment, revises and resubmits.
    sign_in(page, "clerk-anding")
    page.goto(f"/staff/nominations/{nomination_id}")
    expect(page.get_by_role("note")).to_contain_text(f"退回意见：{RETURN_COMMENT}")
    history = page.locator("ol.history")
    expect(history.locator("li", has_text="退回修改")).to_contain_text(RETURN_COMMENT)
    shot(page, "nomination-returned")
    page.get_by_role("link", name="修改", exact=True).click()
    deeds = field(page, "事迹材料")
    expect(deeds).to_have_value(DEEDS)
    deeds.fill(f"{DEEDS}\n\n{REVISED}")
    page.get_by_role("button", name="保存并报送").click()
    expect(page).to_have_url(re.compile(rf"/staff/nominations/{nomination_id}$"))
    expect(page.get_by_role("status")).to_contain_text("已报送市司法局审核")
    expect(page.locator(".page-head .badge")).to_have_text("已报送")
    expect(history).to_contain_text("修改后再次报送")
    expect(page.locator(".deeds")).to_contain_text(REVISED)
    sign_out(page)

    # The city shortlists it.
    sign_in(page, "city-admin")
    page.goto(f"/staff/nominations/{nomination_id}")
    page.get_by_role("button", name="确定入围").click()
    expect(page.get_by_role("status")).to_contain_text("已确定入围")
    expect(page.locator(".page-head .badge")).to_have_text("已入围")
    expect(history).to_contain_text("确定入围")
    shot(page, "nomination-shortlisted")

    # The public: the candidates API lists it, without votes, with a photo that loads.
    response = page.request.get(f"/api/v1/campaigns/{SLUG}/candidates")
    assert response.ok, response.status
    candidates = {c["id"]: c for c in response.json()}
    assert nomination_id in candidates, candidates
    candidate = candidates[nomination_id]
    assert candidate["name"] == NAME
    assert candidate["category"] == "judicial-office"
    assert candidate["county"] == "安定区"
    assert candidate["votes"] is None
    assert CONTACT_PHONE not in response.text()
    assert candidate["photo_url"]
    picture = page.request.get(candidate["photo_url"])
    assert picture.ok and picture.headers["content-type"] == "image/jpeg"

    # ... and its public page shows the name, the deeds and the photo, not the phone.
    sign_out(page)
    page.goto(f"/campaigns/{SLUG}/candidates/{nomination_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(NAME)
    expect(page.locator(".deeds")).to_contain_text("矛盾不上交")
    expect(page.locator(".deeds")).to_contain_text(REVISED)
    expect(page.locator("img.photo")).to_have_js_property("naturalWidth", 800)
    assert CONTACT_PHONE not in page.content()
    assert "王经办" not in page.content()
    shot(page, "public-candidate")

    # On a 360 px phone the candidate list fits the screen.
    phone.goto(f"/campaigns/{SLUG}/candidates")
    card = phone.locator(".candidate-card", has_text=NAME)
    expect(card).to_be_visible()
    expect(card.locator("img")).to_have_js_property("complete", True)
    no_horizontal_scroll(phone)
    shot(phone, "public-candidates-phone")
    card.get_by_role("link").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(NAME)
    no_horizontal_scroll(phone)
    shot(phone, "public-candidate-phone")
