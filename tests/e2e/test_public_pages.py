"""The public pages on a 360 px phone, as opened from a WeChat link."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.conftest import shot


def no_horizontal_scroll(tab: Page) -> None:
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"page is {width}px wide on a 360px phone"


def test_home_lists_the_demo_campaign(phone: Page) -> None:
    phone.goto("/")
    link = phone.get_by_role("link", name="2023年度定西市")
    expect(link).to_be_visible()
    no_horizontal_scroll(phone)
    shot(phone, "public-home")
    link.click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("2023年度定西市")


def test_campaign_page_shows_phase_quotas_and_visits(phone: Page) -> None:
    phone.goto("/campaigns/dingxi-2023")
    before = int(phone.locator(".stats strong").inner_text().replace(",", ""))
    main = phone.locator("main")
    expect(main).to_contain_text("网络投票")
    expect(main).to_contain_text("当前阶段")
    for title, quota in (("司法所", "7 个"), ("人民调解委员会", "14 个"), ("人民调解员", "21 个")):
        card = phone.locator(".category", has_text=f"“枫桥式”{title}").first
        expect(card).to_contain_text(quota)
    no_horizontal_scroll(phone)
    shot(phone, "public-campaign")
    phone.reload()
    after = int(phone.locator(".stats strong").inner_text().replace(",", ""))
    assert after == before + 1


def test_unknown_campaign_is_a_friendly_404(phone: Page) -> None:
    response = phone.goto("/campaigns/no-such-campaign")
    assert response is not None and response.status == 404
    expect(phone.get_by_role("heading", name="页面不存在")).to_be_visible()
    expect(phone.locator("main")).to_contain_text("找不到该评选活动")
