"""The expert review in the browser, as the issue tells it.

The demo campaign's review is long over (its reviewers have scored), so the city admin
sets up a fresh campaign with its own slug: nominations open, one nomination from 安定区
submitted and shortlisted, criteria set, reviewer-tongwei (通渭县) chosen for the
panel, the campaign moved to 专家评审 and the candidate assigned automatically.
reviewer-tongwei then opens 我的评审任务, reads the materials beside the scoring form,
saves a draft, submits, and the city admin sees the progress move to 1 / 1.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e import steps
from tests.e2e.conftest import shot
from tests.e2e.steps import CategorySpec, sign_in, sign_out

SLUG = "review-e2e"
TITLE = "评审流程测试“枫桥式”评选"
NAME = "安定区评审测试司法所"
DEEDS = "坚持“四前”工作法，**小事不出村、大事不出镇**。"
CATEGORY = CategorySpec()
CRITERIA = [
    ("先进事迹", "60", "事迹是否突出、真实可信"),
    ("工作成效", "40", "调解成功率与群众满意度"),
]
REVIEWER = "评审专家（通渭县）"
COMMENT = "事迹扎实，成效明显。"


def create_campaign(page: Page) -> None:
    """The city admin creates the campaign (nominations open now, review window set),
    one category, and opens nominations."""
    sign_in(page, "city-admin")
    now = steps.now()
    steps.create_campaign(
        page,
        SLUG,
        TITLE,
        {
            "专家评审开始": now - dt.timedelta(hours=1),
            "专家评审结束": now + dt.timedelta(days=14),
        },
    )
    steps.add_category(page, SLUG, CATEGORY)
    steps.move_phase(page, SLUG, "推荐申报")
    sign_out(page)


def nominate(page: Page, photo: Path, evidence: Path) -> int:
    """The clerk of 安定区 submits a complete nomination; returns its id."""
    sign_in(page, "clerk-anding")
    nomination_id = steps.nominate(page, SLUG, NAME, DEEDS, photo, evidence)
    sign_out(page)
    return nomination_id


def progress_row(page: Page):  # type: ignore[no-untyped-def]
    """The overview's progress row of reviewer-tongwei."""
    table = page.locator("section", has=page.get_by_role("heading", name="评审进度"))
    return table.get_by_role("row", name=re.compile(REVIEWER))


def test_a_reviewer_scores_a_candidate_and_the_city_sees_progress(
    page: Page, tmp_path: Path
) -> None:
    photo = steps.jpeg(tmp_path / "portrait.jpg", (40, 90, 160))
    evidence = steps.pdf(tmp_path / "典型案例.pdf")

    create_campaign(page)
    nomination_id = nominate(page, photo, evidence)

    # The city shortlists it, sets the criteria and chooses the panel.
    sign_in(page, "city-admin")
    steps.shortlist(page, nomination_id)

    page.goto(f"/staff/review/campaigns/{SLUG}/criteria/judicial-office")
    expect(page.get_by_role("heading", level=1)).to_have_text("评分标准：“枫桥式”司法所")
    # First a total that is not 100: refused, with the sum shown.
    page.locator("#title-0").fill(CRITERIA[0][0])
    page.locator("#max_points-0").fill("50")
    page.locator("#title-1").fill(CRITERIA[1][0])
    page.locator("#max_points-1").fill(CRITERIA[1][1])
    page.get_by_role("button", name="保存评分标准").click()
    expect(page.get_by_role("alert")).to_contain_text("合计须为 100 分（现为 90.0 分）")
    steps.fill_criteria(page, CRITERIA)
    shot(page, "review-criteria")
    steps.save_criteria(page, SLUG, CATEGORY)
    expect(page.locator(".category")).to_contain_text("先进事迹 60.0 · 工作成效 40.0")

    steps.choose_panel(page, SLUG, [f"{REVIEWER}（通渭县司法局）"])

    # Into 专家评审 (through 资格审核), then the automatic assignment.
    steps.move_phase(page, SLUG, "资格审核")
    steps.move_phase(page, SLUG, "专家评审")
    steps.assign(page, SLUG)
    expect(progress_row(page)).to_contain_text("0 / 1")
    candidate = page.get_by_role("row", name=re.compile(NAME))
    expect(candidate).to_contain_text("0 / 1")
    expect(candidate).to_contain_text(re.compile(rf"{REVIEWER}：\s*未提交"))
    shot(page, "review-overview-assigned")
    sign_out(page)

    # The reviewer finds the task on their dashboard.
    sign_in(page, "reviewer-tongwei")
    expect(page).to_have_url(re.compile(r"/staff$"))
    # Among the to-dos, and as the campaign's panel with the way in.
    expect(page.locator(".todo")).to_contain_text(TITLE)
    campaign_panel = page.locator("div.panel", has_text=TITLE)
    expect(campaign_panel).to_be_visible()
    campaign_panel.get_by_role("link", name="进入我的评审任务").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的评审任务")
    task = page.get_by_role("row", name=re.compile(NAME))
    expect(task).to_contain_text("待评分")
    expect(task).to_contain_text("安定区")
    shot(page, "review-my-tasks")
    task.get_by_role("link", name=NAME).click()
    expect(page).to_have_url(re.compile(r"/staff/review/assignments/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(NAME)

    # The materials beside the form: the deeds, the photo, the PDF.
    materials = page.locator("section.materials")
    form = page.locator("section", has=page.get_by_role("heading", name="评分"))
    expect(materials.get_by_role("heading", name="推荐材料")).to_be_visible()
    expect(materials.locator(".deeds")).to_contain_text("小事不出村、大事不出镇")
    expect(materials.locator("img.photo")).to_have_js_property("naturalWidth", 800)
    expect(materials.locator(".file-list")).to_contain_text("典型案例.pdf")
    left, right = materials.bounding_box(), form.bounding_box()
    assert left and right
    assert right["x"] >= left["x"] + left["width"] - 1, (left, right)  # side by side
    assert right["y"] < left["y"] + left["height"]
    document = materials.get_by_role("link", name="典型案例.pdf")
    response = page.request.get(document.get_attribute("href") or "")
    assert response.ok and response.headers["content-type"] == "application/pdf"

    # A draft keeps its values.
    first = steps.criterion(page, CRITERIA[0][0])
    second = steps.criterion(page, CRITERIA[1][0])
    expect(form).to_contain_text(CRITERIA[0][2])  # the guidance
    first.fill("52.5")
    page.get_by_label("评语").fill(COMMENT)
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_role("status")).to_contain_text("已保存草稿")
    expect(first).to_have_value("52.5")
    expect(second).to_have_value("")
    expect(page.get_by_label("评语")).to_have_value(COMMENT)
    expect(page.locator(".page-head .badge")).to_have_text("草稿（当前合计 52.5 分）")
    shot(page, "review-score-draft")

    # Submitting: every criterion is needed, then the scores are locked.
    page.get_by_role("button", name="提交评分").click()
    expect(page.get_by_role("alert")).to_contain_text("请修改标出的问题")
    expect(page.locator(".field.has-error")).to_contain_text("请为「工作成效」打分")
    second.fill("36")
    page.get_by_role("button", name="提交评分").click()
    expect(page.get_by_role("status")).to_contain_text("评分已提交并锁定")
    expect(page.locator(".page-head .badge")).to_have_text("已提交（合计 88.5 分）")
    expect(first).to_be_disabled()
    expect(first).to_have_value("52.5")
    expect(second).to_have_value("36")
    expect(page.get_by_role("button", name="提交评分")).to_have_count(0)
    expect(page.get_by_role("button", name="声明回避")).to_have_count(0)
    shot(page, "review-score-submitted")
    page.get_by_role("link", name="我的评审任务").click()
    expect(page.get_by_role("row", name=re.compile(NAME))).to_contain_text("已提交")
    sign_out(page)

    # The city admin sees the progress move and the candidate's review score.
    sign_in(page, "city-admin")
    page.goto(f"/staff/review/campaigns/{SLUG}")
    expect(progress_row(page)).to_contain_text("1 / 1")
    candidate = page.get_by_role("row", name=re.compile(NAME))
    expect(candidate).to_contain_text("1 / 1")
    expect(candidate).to_contain_text("88.50")
    expect(candidate).to_contain_text(re.compile(rf"{REVIEWER}：\s*已提交"))
    expect(page.locator("main")).not_to_contain_text(re.compile(r"\d+\s*票"))
    shot(page, "review-overview-submitted")
