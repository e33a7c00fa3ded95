"""The results, as each role does them in the browser: the city admin tallies, excludes
one candidate with a reason and publishes the notice; a citizen on a phone objects and
gets a receipt; the admin dismisses the objection; after the notice period the admin
designates; the honour list and the printable announcement show the final list."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import CAPTCHA_TEST_ANSWER, on_server_database, shot
from tests.e2e.steps import publish_notice, sign_in
from tests.e2e.test_voting_flow import phone_context

SLUG = "e2e-results"
RECEIPT = re.compile(r"^YY-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$")


def test_tally_notice_objection_designation(page: Page, browser, server, server_env) -> None:  # type: ignore[no-untyped-def]
    ids = json.loads(on_server_database(server_env, "results-campaign", SLUG))
    admin = page
    sign_in(admin, "city-admin")

    # The tally: the ranking with every component.
    admin.goto(f"/staff/results/{SLUG}")
    admin.get_by_role("button", name="计算综合排名").click()
    expect(admin.get_by_role("status").or_(admin.locator(".flash-success"))).to_contain_text(
        "已计算综合排名"
    )
    rows = admin.locator("table.ranking tbody tr")
    expect(rows).to_have_count(4)
    # 平襄 0.7×86 + 0.3×100 = 90.20; 凤翔 63.7 + 0.3×71.43 = 85.13; 清源 51.8 + 17.86 = 69.66
    # 巩昌 56 + 0.3×42.86 = 68.86.
    expect(rows.nth(0)).to_contain_text("通渭县平襄司法所")
    expect(rows.nth(0)).to_contain_text("90.20")
    expect(rows.nth(1)).to_contain_text("安定区凤翔司法所")
    expect(rows.nth(1)).to_contain_text("拟命名")
    expect(rows.nth(2)).to_contain_text("渭源县清源司法所")
    expect(rows.nth(2)).to_contain_text("未进入名额")
    shot(admin, "results-tally")

    # Exclude the second with a reason: the third moves up.
    row = admin.locator(f"#candidate-{ids['安定区凤翔司法所']}")
    row.locator("summary", has_text="取消资格").click()
    row.get_by_label("理由（记入操作日志）").fill("推荐材料中调解数据与台账不符")
    row.get_by_role("button", name="确认取消资格").click()
    expect(admin.locator(".flash-success")).to_contain_text("后续名次依次递补")
    moved = admin.locator(f"#candidate-{ids['渭源县清源司法所']}")
    expect(moved).to_contain_text("拟命名")
    expect(admin.locator(f"#candidate-{ids['安定区凤翔司法所']}")).to_contain_text(
        "推荐材料中调解数据与台账不符"
    )

    # Publish the notice for 7 working days; the form says when it will end.
    publish_notice(admin, 7)
    expect(admin.locator(".flash-success")).to_contain_text("公示期 7 个工作日")
    expect(admin.locator(".flash-success")).to_contain_text("18:00（北京时间）")
    expect(admin.locator(".badge.phase-notice").first).to_be_visible()

    # A citizen on a phone reads the notice and objects.
    context = phone_context(browser, server)
    phone = context.new_page()
    phone.goto(f"/campaigns/{SLUG}/notice")
    expect(phone.get_by_role("heading", level=1)).to_contain_text("拟命名名单公示")
    expect(phone.locator("main")).to_contain_text("渭源县清源司法所")
    expect(phone.locator(".notice-period")).to_contain_text("公示期为7个工作日")
    expect(phone.locator(".notice-period")).to_contain_text("（北京时间）")
    shot(phone, "results-notice-phone")
    phone.get_by_role("link", name="提出异议").first.click()
    phone.locator("#f-candidate").select_option(str(ids["渭源县清源司法所"]))
    phone.get_by_label("真实姓名").fill("王建国")
    phone.get_by_label("联系电话").fill("13809321234")
    phone.get_by_label("与被异议对象的关系").fill("同乡群众")
    phone.get_by_label("异议内容").fill("该所去年有一起土地纠纷调解后当事人反映未履行，请核实。")
    phone.get_by_label("请输入图中的验证码").fill(CAPTCHA_TEST_ANSWER)
    phone.get_by_role("button", name="提交异议").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("您的异议已受理")
    receipt = phone.locator(".receipt-code").inner_text().strip()
    assert RECEIPT.match(receipt), receipt
    shot(phone, "results-objection-receipt")

    # The admin dismisses it with a resolution.
    admin.goto(f"/staff/results/{SLUG}/objections")
    card = admin.locator(".objection").filter(has_text="王建国")
    expect(card).to_contain_text("土地纠纷")
    card.get_by_label("异议不成立：办理结果").fill("经核实，该纠纷已于调解后履行完毕，异议不成立。")
    card.get_by_role("button", name="认定异议不成立").click()
    expect(admin.locator(".objection").filter(has_text="王建国")).to_contain_text("异议不成立")
    shot(admin, "results-objection-dismissed")

    # The citizen sees the outcome with the receipt.
    phone.goto(f"/objections/{receipt}")
    expect(phone.locator(".objection-resolution")).to_contain_text("履行完毕")
    context.close()

    # The designation waits for the end of the notice period; then it goes through.
    admin.goto(f"/staff/results/{SLUG}")
    expect(admin.locator(".blockers")).to_contain_text("公示期尚未结束")
    on_server_database(server_env, "end-notice", SLUG)
    admin.reload()
    admin.get_by_label("文号（可选）").fill("定司发〔2024〕8号")
    admin.get_by_role("button", name="正式命名并发布").click()
    expect(admin.locator(".flash-success")).to_contain_text("已正式命名")

    # The honour list and the announcement show the final list.
    admin.goto(f"/campaigns/{SLUG}/honours")
    names = admin.locator(".honour-name")
    expect(names).to_have_text(["通渭县平襄司法所", "渭源县清源司法所"])
    expect(admin.locator("main")).to_contain_text("定司发〔2024〕8号")
    shot(admin, "results-honour-list")
    admin.get_by_role("link", name="命名决定（可打印）").click()
    expect(admin.locator("h1.doc-title")).to_contain_text("关于命名")
    listing = admin.locator("main ol li")
    expect(listing).to_have_count(2)
    expect(listing.nth(0)).to_contain_text("通渭县平襄司法所")
    expect(listing.nth(1)).to_contain_text("渭源县清源司法所")
    expect(admin.locator("main")).not_to_contain_text("安定区凤翔司法所")
    shot(admin, "results-announcement")
    admin.emulate_media(media="print")
    shot(admin, "results-announcement-print")
