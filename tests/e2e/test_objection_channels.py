"""Objections by every channel, and what the notice shows, in the browser: the city admin
sets the notice's objection contact and "names only" on the campaign form, publishes the
notice, records an objection received by telephone and handles it like an online one;
the public notice names the contact and the channels but no objector, and shows names
only — as does the results API, whose hidden figures are null."""

from __future__ import annotations

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from tests.e2e.conftest import on_server_database, shot
from tests.e2e.steps import publish_notice, sign_in

SLUG = "e2e-channels"
RECEIPT = re.compile(r"YY-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")


def test_telephone_objection_and_names_only_notice(page: Page, server, server_env) -> None:  # type: ignore[no-untyped-def]
    ids = json.loads(on_server_database(server_env, "results-campaign", SLUG))
    admin = page
    sign_in(admin, "city-admin")

    # The campaign form: who takes objections, and a notice of names only.
    admin.goto(f"/staff/campaigns/{SLUG}/edit")
    admin.get_by_label("异议联系人").fill("张明")
    admin.get_by_label("异议联系电话").fill("0932-12345")
    admin.get_by_role("button", name="保存").click()
    expect(admin.locator("#e-objection_phone")).to_contain_text("带区号的固定电话")
    admin.get_by_label("异议联系电话").fill("0932-8212345")
    admin.get_by_label("来信来访地址").fill("定西市安定区永定路 1 号 定西市司法局（743000）")
    admin.get_by_label("只公布拟命名对象的名称、所属单位和所在地区，不公布分数和票数").check()
    admin.get_by_role("button", name="保存").click()
    expect(admin).to_have_url(re.compile(rf"/staff/campaigns/{SLUG}$"))
    expect(admin.locator("main")).to_contain_text("仅名单")
    expect(admin.locator("main")).to_contain_text("0932-8212345")

    # Tally and publish the notice.
    admin.goto(f"/staff/results/{SLUG}")
    admin.get_by_role("button", name="计算综合排名").click()
    expect(admin.locator(".flash-success")).to_contain_text("已计算综合排名")
    publish_notice(admin, 5)

    # A call comes in: the admin records it.
    admin.goto(f"/staff/results/{SLUG}/objections")
    admin.get_by_role("link", name="登记电话、信函或来访异议").click()
    admin.get_by_label("电话", exact=True).check()
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    admin.get_by_label("收到日期").fill(today)
    admin.locator("#f-candidate").select_option(str(ids["通渭县平襄司法所"]))
    admin.get_by_label("异议人真实姓名").fill("李来电")
    admin.get_by_label("联系电话").fill("13809325678")
    admin.get_by_label("异议内容").fill("来电反映该所调解台账中有两起案件的当事人信息重复登记。")
    shot(admin, "objection-channel-form")
    admin.get_by_role("button", name="登记异议").click()
    flash = admin.locator(".flash-success")
    expect(flash).to_contain_text("已登记电话异议")
    receipt = RECEIPT.search(flash.inner_text())
    assert receipt, flash.inner_text()
    card = admin.locator(".objection").filter(has_text="李来电")
    expect(card.locator(".objection-channel")).to_have_text("电话")
    expect(card).to_contain_text(today)

    # Handled like an online one: investigate, then dismiss.
    card.get_by_role("button", name="开始调查核实").click()
    expect(admin.locator(".flash-success")).to_contain_text("已开始调查核实")
    card = admin.locator(".objection").filter(has_text="李来电")
    expect(card).to_contain_text("调查核实中")
    card.get_by_label("异议不成立：办理结果").fill(
        "经核查，重复登记系录入错误，已更正，不影响申报数据。"
    )
    card.get_by_role("button", name="认定异议不成立").click()
    expect(admin.locator(".objection").filter(has_text="李来电")).to_contain_text("异议不成立")
    shot(admin, "objection-channel-handled")

    # The objector looks the result up with the receipt the city gave them.
    admin.goto(f"/objections/{receipt.group(0)}")
    expect(admin.locator(".objection-resolution")).to_contain_text("录入错误")

    # The public notice: contact and channels, names only, no objector.
    public = admin.context.browser.new_page(base_url=server)  # type: ignore[union-attr]
    public.goto(f"/campaigns/{SLUG}/notice")
    main = public.locator("main")
    expect(main).to_contain_text("可通过电话、信函、来访或网上提出")
    expect(main).to_contain_text("张明")
    expect(main).to_contain_text("0932-8212345")
    expect(main).to_contain_text("永定路 1 号")
    expect(main).to_contain_text("通渭县平襄司法所")
    expect(public.locator("#objections-received")).to_have_text("1")
    expect(main).not_to_contain_text("李来电")
    expect(main).not_to_contain_text("13809325678")
    expect(main).not_to_contain_text("综合评定明细")
    expect(main).not_to_contain_text("90.20")
    expect(public.locator("table.notice-breakdown")).to_have_count(0)
    shot(public, "objection-channel-notice-names-only")

    # The results API hides the same figures (null), keeping the field names.
    body = public.request.get(f"/api/v1/campaigns/{SLUG}/results").json()
    rows = [row for category in body["categories"] for row in category["ranking"]]
    assert rows
    for row in rows:
        for name in ("review_score", "votes", "vote_score", "final_score"):
            assert name in row and row[name] is None, row
        assert row["name"] and row["county"]
    public.close()
