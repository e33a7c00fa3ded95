"""Each demo role signs in through the real login page and reaches its dashboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from portal.demo import DEMO_PASSWORD
from tests.e2e.conftest import shot

ROLES = [
    ("city-admin", "管理员", "新建评选活动"),
    ("clerk-anding", "经办人", "本单位推荐"),
    ("reviewer-tongwei", "评审专家", "专家评审"),
    ("auditor", "审计员", "不能修改任何数据"),
]


def sign_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


@pytest.mark.parametrize(("username", "role_label", "can_do"), ROLES)
def test_each_role_reaches_its_dashboard(
    page: Page, username: str, role_label: str, can_do: str
) -> None:
    sign_in(page, username)
    expect(page).to_have_url(re.compile(r"/staff$"))
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()
    expect(page.locator("main")).to_contain_text(role_label)
    expect(page.locator("main")).to_contain_text(can_do)
    shot(page, f"dashboard-{username}")
    page.get_by_role("button", name=re.compile("退出")).click()
    expect(page).to_have_url(re.compile(r"/$"))
    page.goto("/staff")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fstaff|/login\?next=/staff"))


def test_wrong_password_is_refused(page: Page) -> None:
    sign_in(page, "city-admin", "not-the-password")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.get_by_role("alert")).to_have_text("用户名或密码不正确。")
    expect(page.get_by_label("用户名")).to_have_value("city-admin")
    page.goto("/staff")
    expect(page).to_have_url(re.compile(r"/login"))


def test_clerk_is_refused_the_campaign_admin(page: Page) -> None:
    sign_in(page, "clerk-anding")
    expect(page).to_have_url(re.compile(r"/staff$"))
    page.goto("/staff/campaigns/dingxi-2023/edit")
    expect(page.get_by_role("heading", name="无权访问")).to_be_visible()


def test_a_second_factor_is_enrolled_and_signs_in(page: Page) -> None:
    """The auditor enrols a second factor from the QR page (the code computed with pyotp
    from the secret shown, as an authenticator app would), keeps the recovery codes, and
    signs in with password and code; an administrator then resets it (audited)."""
    import pyotp

    sign_in(page, "auditor")
    expect(page).to_have_url(re.compile(r"/staff$"))
    expect(page.locator("#login-notice")).to_contain_text("账号安全")
    page.goto("/staff/account")
    page.get_by_role("link", name="开启二次验证").click()
    expect(page).to_have_url(re.compile(r"/staff/account/otp$"))
    qr = page.get_by_role("img", name="二次验证二维码")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.naturalWidth") > 0
    secret = page.locator("#otp-secret").get_attribute("data-secret")
    assert secret and len(secret) >= 16
    page.get_by_label("动态验证码").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="开启二次验证").click()
    expect(page.get_by_role("heading", name="二次验证已开启")).to_be_visible()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    shot(page, "otp-recovery-codes")
    page.get_by_role("button", name=re.compile("退出")).click()

    sign_in(page, "auditor")
    expect(page).to_have_url(re.compile(r"/login/otp$"))
    page.get_by_label("动态验证码或恢复码").fill("000000")
    page.get_by_role("button", name="验证并登录").click()
    expect(page.get_by_role("alert")).to_contain_text("不正确")
    page.get_by_label("动态验证码或恢复码").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="验证并登录").click()
    expect(page).to_have_url(re.compile(r"/staff$"))
    expect(page.locator("main")).to_contain_text("审计员")
    page.get_by_role("button", name=re.compile("退出")).click()

    # The administrator resets it: the auditor signs in with the password alone again.
    sign_in(page, "city-admin")
    page.goto("/staff/accounts")
    row = page.get_by_role("row", name=re.compile("auditor"))
    row.get_by_role("button", name="重置二次验证").click()
    expect(page.get_by_role("status").first).to_contain_text("已重置账号 auditor 的二次验证")
    page.get_by_role("button", name=re.compile("退出")).click()
    sign_in(page, "auditor")
    expect(page).to_have_url(re.compile(r"/staff$"))


def test_the_page_warns_a_minute_before_an_idle_session_ends(page: Page) -> None:
    """The browser's clock is moved (the server's is not): 29 minutes after the page was
    shown the warning appears, and 继续使用 keeps the session (the server answers 204)."""
    page.clock.install()
    sign_in(page, "reviewer-tongwei")
    expect(page).to_have_url(re.compile(r"/staff$"))
    # The timers are set by a deferred script: the clock moves only once it has run.
    page.wait_for_load_state("load")
    warning = page.locator("#session-warning")
    expect(warning).to_be_hidden()
    page.clock.fast_forward("28:00")
    expect(warning).to_be_hidden()
    page.clock.fast_forward("01:30")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("1 分钟后自动退出")
    shot(page, "idle-warning")
    with page.expect_response(re.compile(r"/staff/session/alive$")) as alive:
        warning.get_by_role("button", name="继续使用").click()
    assert alive.value.status == 204
    expect(warning).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/staff$"))
