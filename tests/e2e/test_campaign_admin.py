"""A city admin sets up a campaign on its pages and moves it through phases."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import shot
from tests.e2e.test_staff_login import sign_in


def test_city_admin_creates_a_campaign_and_opens_nominations(page: Page) -> None:
    sign_in(page, "city-admin")
    page.get_by_role("link", name="新建评选活动").first.click()

    # A mistake first: the form says what is wrong, next to the field.
    page.get_by_label("活动名称").fill("2024年度定西市“枫桥式”评选")
    page.get_by_label("网址标识").fill("Bad Slug!")
    page.get_by_role("button", name="创建活动").click()
    expect(page.locator("#e-slug")).to_contain_text("网址标识须为")
    expect(page.get_by_label("活动名称")).to_have_value("2024年度定西市“枫桥式”评选")

    page.get_by_label("网址标识").fill("dingxi-2024")
    page.get_by_label("年度").fill("2024")
    page.get_by_label("推荐申报开始").fill("2024-03-01T09:00")
    page.get_by_label("推荐申报结束").fill("2024-03-31T18:00")
    page.get_by_role("button", name="创建活动").click()
    expect(page).to_have_url(re.compile(r"/staff/campaigns/dingxi-2024$"))
    expect(page.get_by_role("status")).to_contain_text("已创建评选活动")
    expect(page.locator("main")).to_contain_text("2024年03月01日 09:00")

    # Without a category the campaign cannot open nominations.
    page.get_by_role("button", name="进入下一阶段：推荐申报").click()
    expect(page.get_by_role("alert")).to_contain_text("请先设置至少一个评选类别")

    page.get_by_role("link", name="增加类别").click()
    page.get_by_label("类别名称").fill("“枫桥式”司法所")
    page.get_by_label("类别标识").fill("judicial-office")
    page.get_by_label("对象类型").select_option("judicial_office")
    page.get_by_label("命名名额").fill("7")
    page.get_by_label("每个推荐单位上限").fill("2")
    page.get_by_label("每人每日可投票数").fill("3")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_contain_text("已保存评选类别")
    expect(page.locator("table.data")).to_contain_text("judicial-office")

    page.get_by_role("button", name="进入下一阶段：推荐申报").click()
    expect(page.get_by_role("status")).to_contain_text("活动已进入「推荐申报」阶段")
    expect(page.locator(".phase-bar .current")).to_have_text("推荐申报")
    shot(page, "staff-campaign-detail")

    page.goto("/staff/audit?action=campaign")
    expect(page.locator("table.audit")).to_contain_text("campaign.phase")
    expect(page.locator("table.audit")).to_contain_text("city-admin")
    shot(page, "staff-audit-log")
