"""The whole nomination workflow in the browser, as the issue tells it.

A clerk creates a nomination with a photo and a PDF and submits it; the city returns
it with a comment; the clerk revises and resubmits; the city shortlists it; it appears
on the candidates API and a public page.

The demo campaign is already past nominations, so the city admin first sets up a fresh
campaign (its own slug, one category) with the nomination window open around now.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from portal.text import mask_phone
from tests.e2e import steps
from tests.e2e.conftest import shot
from tests.e2e.steps import CONTACT_PHONE, field, sign_in, sign_out
from tests.e2e.test_public_pages import no_horizontal_scroll

SLUG = "flow-e2e"
TITLE = "流程测试“枫桥式”评选"
NAME = "安定区流程测试司法所"
DEEDS = "坚持和发展新时代“枫桥经验”，**矛盾不上交**。"
REVISED = "补充：全年组织法治宣传 36 场。"
RETURN_COMMENT = "请补充法治宣传的具体数据。"


def open_campaign(page: Page) -> None:
    """The city admin creates a campaign with one category and opens nominations."""
    sign_in(page, "city-admin")
    steps.create_campaign(page, SLUG, TITLE)
    steps.add_category(page, SLUG)
    steps.move_phase(page, SLUG, "推荐申报")
    sign_out(page)


def test_nomination_is_returned_revised_and_shortlisted(
    page: Page, phone: Page, tmp_path: Path
) -> None:
    photo = steps.jpeg(tmp_path / "portrait.jpg", (180, 40, 40))
    evidence = steps.pdf(tmp_path / "证明材料.pdf")

    open_campaign(page)

    # The clerk of 安定区 creates the nomination with a photo and a PDF, and submits it.
    sign_in(page, "clerk-anding")
    page.goto(f"/staff/nominations?campaign={SLUG}")
    expect(page.locator(".category")).to_contain_text("已报送 0 / 上限 2 个")
    shot(page, "nomination-clerk-list")
    page.get_by_role("link", name="新建推荐").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("新建推荐")
    steps.fill_nomination(page, NAME, DEEDS, photo, evidence)
    shot(page, "nomination-form")
    nomination_id = steps.submit_nomination(page)
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
    # The city sees the contact's phone masked, and reveals it (audited) when it must call.
    expect(page.locator("main")).to_contain_text(mask_phone(CONTACT_PHONE))
    expect(page.locator("main")).not_to_contain_text(CONTACT_PHONE)
    page.get_by_role("button", name="显示完整号码（记入审计日志）").click()
    expect(page).to_have_url(re.compile(rf"/staff/nominations/{nomination_id}$"))
    expect(page.locator("main")).to_contain_text(CONTACT_PHONE)
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
    expect(page.get_by_role("status")).to_contain_text("已报送定西市司法局审核")
    expect(page.locator(".page-head .badge")).to_have_text("已报送")
    expect(history).to_contain_text("修改后再次报送")
    expect(page.locator(".deeds")).to_contain_text(REVISED)
    sign_out(page)

    # The city shortlists it.
    sign_in(page, "city-admin")
    steps.shortlist(page, nomination_id)
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
