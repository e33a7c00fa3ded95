"""Recommendation conditions in the browser: the city sets two on a category while the
campaign is prepared, opens nominating, and a clerk sees a failed condition on the form —
as they type (conditions.js) and, with scripts off, after pressing 检查条件."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import shot
from tests.e2e.steps import (
    add_category,
    create_campaign,
    field,
    fill_nomination,
    jpeg,
    move_phase,
    pdf,
    sign_in,
    sign_out,
)

SLUG = "e2e-conditions"


def set_conditions(page: Page) -> None:
    """The city admin (signed in) sets two conditions on the campaign's category."""
    page.goto(f"/staff/campaigns/{SLUG}")
    page.get_by_role("link", name="推荐条件").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("推荐条件")
    page.get_by_label("第 1 条的数据项").select_option("success_rate")
    page.get_by_label("第 1 条的比较方式").select_option(">=")
    page.get_by_label("第 1 条的数值").fill("97")
    page.get_by_label("第 1 条的条件表述").fill("年度矛盾纠纷调解成功率不低于97%")
    page.get_by_label("第 2 条的数据项").select_option("criminal_escalations")
    page.get_by_label("第 2 条的比较方式").select_option("=")
    page.get_by_label("第 2 条的数值").fill("abc")
    page.get_by_role("button", name="保存推荐条件").click()
    # A mistake first: nothing is saved, the row is named.
    expect(page.get_by_role("alert")).to_contain_text("第 2 条请填写比较的数值")
    page.get_by_label("第 2 条的数值").fill("0")
    page.get_by_label("第 2 条的条件表述").fill("本年度辖区内未发生民转刑案件")
    page.get_by_role("button", name="保存推荐条件").click()
    expect(page).to_have_url(re.compile(rf"/staff/campaigns/{SLUG}$"))
    expect(page.get_by_role("status")).to_contain_text("推荐条件（2 条）")
    expect(page.locator("table.data")).to_contain_text("本年度辖区内未发生民转刑案件")


def test_the_city_sets_conditions_and_a_clerk_sees_one_failed(  # type: ignore[no-untyped-def]
    page: Page, browser, tmp_path: Path
) -> None:
    sign_in(page, "city-admin")
    create_campaign(page, SLUG, "推荐条件测试评选")
    add_category(page, SLUG)
    set_conditions(page)
    move_phase(page, SLUG, "推荐申报")
    # Published: the conditions are fixed, and the public page lists them.
    page.goto(f"/campaigns/{SLUG}")
    expect(page.locator("ol.conditions")).to_contain_text("年度矛盾纠纷调解成功率不低于97%")
    sign_out(page)

    # The clerk, with scripts: the panel follows the figures as they are typed.
    sign_in(page, "clerk-anding")
    page.goto(f"/staff/nominations?campaign={SLUG}")
    page.get_by_role("link", name="新建推荐").click()
    status = page.locator("#conditions-status")
    expect(status).to_contain_text("还有 2 项推荐条件待填写")
    fill_nomination(
        page,
        "安定区条件测试司法所",
        "## 做法\n\n- 网格化排查",
        jpeg(tmp_path / "photo.jpg", (40, 90, 140)),
        pdf(tmp_path / "evidence.pdf"),
    )
    field(page, "民转刑案件（件）").fill("0")
    expect(status).to_contain_text("符合全部 2 项推荐条件")
    field(page, "调解成功（件）").fill("100")  # of 120: 83.3 %
    expect(status).to_contain_text("有 1 项推荐条件不符合")
    failed = status.locator("li.condition-failed")
    expect(failed).to_contain_text("不符合")
    expect(failed).to_contain_text("现为 83.3%，要求不低于 97%")
    status.scroll_into_view_if_needed()
    page.screenshot(path="/tmp/conditions-form.png", full_page=True)
    shot(page, "nomination-conditions")

    # Saving the draft and submitting it: refused, the failed condition named.
    page.get_by_role("button", name="保存并报送").click()
    expect(page.get_by_role("alert").first).to_contain_text("不符合推荐条件，不能报送")
    expect(page.get_by_role("alert").first).to_contain_text("年度矛盾纠纷调解成功率不低于97%")

    # Without scripts: the 检查条件 button asks the server and the page says the same.
    context = browser.new_context(
        base_url=page.url.split("/staff")[0], locale="zh-CN", java_script_enabled=False
    )
    try:
        plain = context.new_page()
        sign_in(plain, "clerk-anding")
        plain.goto(f"/staff/nominations?campaign={SLUG}")
        plain.get_by_role("link", name="新建推荐").click()
        expect(plain.locator("#conditions-status")).to_contain_text("待填写")
        fill_nomination(plain, "安定区无脚本测试司法所", "## 做法")
        field(plain, "民转刑案件（件）").fill("1")
        plain.get_by_role("button", name="检查条件").click()
        status = plain.locator("#conditions-status")
        expect(status).to_contain_text("有 1 项推荐条件不符合")
        expect(status.locator("li.condition-failed")).to_contain_text("现为 1 件，要求为 0 件")
        expect(field(plain, "民转刑案件（件）")).to_have_value("1")
    finally:
        context.close()
