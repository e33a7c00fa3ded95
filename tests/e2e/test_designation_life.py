"""A title's life after the designation, in the browser: the city designates; a
certificate prints (A4 landscape) with the QR code of its check page; a phone that
follows the QR sees it valid; the city runs the year's re-check, the county reports,
and the city revokes one title with its reason; the check page and the register show it
revoked with the reason, and the year's honour list marks it. (The start of the story —
the city sets two recommendation conditions and a clerk sees one failed on the form —
is tests/e2e/test_conditions.py.)"""

from __future__ import annotations

import base64
import datetime as dt
import re
from urllib.parse import unquote

from playwright.sync_api import Page, expect

from portal.web.qr import qr_png
from results.register import today_in
from tests.e2e.conftest import on_server_database, shot
from tests.e2e.steps import publish_notice, sign_in
from tests.e2e.test_voting_flow import phone_context

SLUG = "e2e-life"
NUMBER = re.compile(r"定司证〔\d{4}〕第\d{3}号")
REASON = "复核发现该所年度调解台账弄虚作假，经核实情况属实"


def tally_and_notice(admin: Page) -> None:
    """Tally and publish the notice for five days."""
    admin.goto(f"/staff/results/{SLUG}")
    admin.get_by_role("button", name="计算综合排名").click()
    expect(admin.locator(".flash-success")).to_contain_text("已计算综合排名")
    publish_notice(admin, 5)


def recheck_and_revoke(admin: Page, browser, server: str) -> None:  # type: ignore[no-untyped-def]
    today = today_in()
    admin.goto("/staff/rechecks/new")
    admin.get_by_label("复核年度").fill(str(today.year))
    admin.get_by_label("报送截止日期").fill((today + dt.timedelta(days=14)).isoformat())
    admin.get_by_role("button", name="开启复核").click()
    expect(admin.get_by_role("heading", level=1)).to_contain_text(f"{today.year}年度")
    recheck_url = admin.url

    # The nominating county's clerk sees the report due on the home page and files it.
    context = browser.new_context(base_url=server, locale="zh-CN")
    clerk = context.new_page()
    sign_in(clerk, "clerk-tongwei")
    expect(clerk.locator("main")).to_contain_text("复核")
    clerk.goto(recheck_url)
    clerk.get_by_role("link", name=re.compile("报送报告.*通渭县平襄司法所")).click()
    for box in clerk.locator("form fieldset input[type=number]").all():
        box.fill("0")
    clerk.get_by_label("调解成功（件）").fill("96")
    clerk.get_by_label("排查调处矛盾纠纷（件）").fill("120")
    clerk.get_by_label("年度工作情况说明").fill("本年度排查调处矛盾纠纷120件，调解成功96件。")
    clerk.get_by_role("button", name="报送").click()
    expect(clerk.locator("main")).to_contain_text("报送")
    shot(clerk, "recheck-report")
    context.close()

    # The city revokes: a confirmation page restates who and what, then the reason.
    admin.goto(recheck_url)
    admin.get_by_role("link", name=re.compile("作出结论.*通渭县平襄司法所")).click()
    admin.get_by_role("link", name="撤销命名").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("确认撤销命名")
    expect(admin.locator("main")).to_contain_text("通渭县平襄司法所")
    admin.get_by_label("撤销理由（将对外公开）").fill(REASON)
    admin.get_by_role("button", name="确认撤销命名").click()
    expect(admin.locator("main")).to_contain_text("撤销")
    shot(admin, "recheck-revoked")


def test_certificate_recheck_and_revocation(page: Page, browser, server, server_env) -> None:  # type: ignore[no-untyped-def]
    on_server_database(server_env, "results-campaign", SLUG)
    admin = page
    sign_in(admin, "city-admin")
    tally_and_notice(admin)
    on_server_database(server_env, "end-notice", SLUG)
    admin.reload()
    admin.get_by_label("文号（可选）").fill("定司发〔2024〕21号")
    admin.get_by_role("button", name="正式命名并发布").click()
    expect(admin.locator(".flash-success")).to_contain_text("已正式命名")

    # The certificates: one a page, each with its number and the QR of its check page.
    admin.get_by_role("link", name="打印荣誉证书").click()
    certificates = admin.locator("article.certificate")
    expect(certificates).to_have_count(2)
    first = certificates.filter(has_text="通渭县平襄司法所")
    expect(first).to_contain_text("荣誉证书")
    expect(first).to_contain_text("“枫桥式”司法所")
    expect(first).to_contain_text("定西市司法局")
    number = NUMBER.search(first.inner_text()).group(0)  # type: ignore[union-attr]
    qr = first.locator(".certificate-qr img")
    url = qr.get_attribute("alt").split("：", 1)[1]  # type: ignore[union-attr]
    assert unquote(url).endswith(f"/certificates/{number}")
    # The image is that URL's QR code (drawn by the same function the page uses).
    src = qr.get_attribute("src")
    assert src == "data:image/png;base64," + base64.b64encode(qr_png(url)).decode()
    admin.emulate_media(media="print")
    shot(admin, "certificates-print")
    admin.emulate_media(media="screen")
    pdf = admin.pdf(format="A4", landscape=True, print_background=True)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page\n") + pdf.count(b"/Type/Page") >= 1

    # A phone follows the QR code: the certificate is valid.
    context = phone_context(browser, server)
    phone = context.new_page()
    phone.goto(url)
    expect(phone.get_by_role("heading", level=2)).to_have_text("证书有效")
    expect(phone.locator(".certificate-facts")).to_contain_text("通渭县平襄司法所")
    shot(phone, "certificate-check-valid")

    # A year on, the year's re-check: the city opens it, the county reports, the city
    # revokes the title with its reason after a confirmation step.
    on_server_database(server_env, "year-passes", SLUG)
    recheck_and_revoke(admin, browser, server)

    # The check page, the register and the honour list show the revocation.
    phone.reload()
    expect(phone.get_by_role("heading", level=2)).to_have_text("已撤销")
    expect(phone.locator(".certificate-facts")).to_contain_text(REASON)
    shot(phone, "certificate-check-revoked")
    phone.goto("/register?status=revoked")
    row = phone.locator("table.register-table tbody tr").filter(has_text=number)
    expect(row).to_contain_text("已撤销")
    expect(row).to_contain_text(REASON)
    phone.goto(f"/campaigns/{SLUG}/honours")
    expect(phone.locator("main")).to_contain_text("撤销命名")
    shot(phone, "honours-revoked")
    context.close()
