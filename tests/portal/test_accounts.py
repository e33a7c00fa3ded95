"""Staff accounts on the web: city admins create, disable and re-enable; auditors read."""

from __future__ import annotations

import pytest

from portal.tables import AuditEntry, Staff
from tests.helpers import PASSWORD, login, post_form

pytestmark = pytest.mark.usefixtures("staff")

NEW_CLERK = {
    "username": "clerk-zhang",
    "display_name": "漳县经办人",
    "role": "county_clerk",
    "bureau": "漳县司法局",
    "password": "A-good-password",
    "password2": "A-good-password",
}


async def test_city_admin_creates_an_account_that_can_log_in(client) -> None:
    await login(client, "admin")
    response = await post_form(client, "/staff/accounts/new", NEW_CLERK)
    assert response.status_code in (302, 303)
    listing = await client.get("/staff/accounts")
    assert "clerk-zhang" in listing.text and "漳县司法局" in listing.text
    entry = await AuditEntry.objects().where(AuditEntry.action == "staff.create").first().run()
    assert entry.actor_name == "admin" and entry.object_label == "clerk-zhang"
    await post_form(client, "/logout")
    # An account an administrator made changes its password at the first login: until
    # then every staff page leads to the password form.
    response = await login(client, "clerk-zhang", "A-good-password")
    assert response.headers["location"] == "/staff/account/password"
    blocked = await client.get("/staff/nominations")
    assert (blocked.status_code, blocked.headers["location"]) == (303, "/staff/account/password")
    form = await client.get("/staff/account/password")
    assert "首次登录" in form.text
    changed = await post_form(
        client,
        "/staff/account/password",
        {
            "current_password": "A-good-password",
            "new_password": "Zhang-own-choice-9",
            "new_password2": "Zhang-own-choice-9",
        },
    )
    assert changed.status_code in (302, 303)
    page = await client.get("/staff")
    assert "漳县" in page.text
    await post_form(client, "/logout")
    # The new password opens the account straight to its home page.
    again = await login(client, "clerk-zhang", "Zhang-own-choice-9")
    assert again.headers["location"] == "/staff"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"password2": "something-else"}, "两次输入的密码不一致"),
        ({"password": "Short-1", "password2": "Short-1"}, "密码至少需要 10 个字符"),
        ({"password": "12345678901", "password2": "12345678901"}, "至少 3 类"),
        ({"password": "Clerk-zhang-1", "password2": "Clerk-zhang-1"}, "不能与用户名相同"),
        ({"password": "Admin@12345", "password2": "Admin@12345"}, "常见密码"),
        ({"bureau": "定西市司法局"}, "经办人必须属于下级单位"),
        ({"username": "admin"}, "用户名「admin」已存在"),
        ({"username": "has space"}, "用户名不能为空、不能含空格"),
        ({"role": "mayor"}, "未知角色"),
        ({"bureau": "不存在的单位"}, "找不到单位"),
    ],
)
async def test_bad_accounts_are_refused_and_nothing_is_written(client, change, message) -> None:
    await login(client, "admin")
    before = await Staff.count().run(), await AuditEntry.count().run()
    response = await post_form(client, "/staff/accounts/new", {**NEW_CLERK, **change})
    assert response.status_code == 400
    assert message in response.text
    assert 'value="漳县经办人"' in response.text  # what was typed is kept
    assert (await Staff.count().run(), await AuditEntry.count().run()) == before


async def test_disabling_an_account_ends_its_open_session(client, app) -> None:
    import httpx

    transport = httpx.ASGITransport(app=app, client=("127.0.0.2", 40001))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as clerk:
        await login(clerk, "clerk")
        assert (await clerk.get("/staff")).status_code == 200

        await login(client, "admin")
        response = await post_form(client, "/staff/accounts/clerk/active", {"active": "0"})
        assert response.status_code in (302, 303)
        assert (await clerk.get("/staff")).status_code in (302, 303)  # signed out at once
        refused = await post_form(clerk, "/login", {"username": "clerk", "password": PASSWORD})
        assert refused.status_code == 400

        await post_form(client, "/staff/accounts/clerk/active", {"active": "1"})
        await login(clerk, "clerk")
    actions = [
        r["action"]
        for r in await AuditEntry.select(AuditEntry.action)
        .where(AuditEntry.action == "staff.active")
        .run()
    ]
    assert actions == ["staff.active", "staff.active"]


async def test_nobody_disables_their_own_account(client) -> None:
    await login(client, "admin")
    response = await post_form(client, "/staff/accounts/admin/active", {"active": "0"})
    assert response.status_code in (302, 303)
    page = await client.get("/staff/accounts")
    assert "不能停用自己的账号" in page.text
    assert await Staff.exists().where((Staff.username == "admin") & (Staff.active == True)).run()  # noqa: E712


async def test_unknown_account_is_404(client) -> None:
    await login(client, "admin")
    response = await post_form(client, "/staff/accounts/nobody/active", {"active": "0"})
    assert response.status_code == 404


async def test_auditor_reads_the_accounts_but_cannot_create(client) -> None:
    await login(client, "auditor")
    page = await client.get("/staff/accounts")
    assert page.status_code == 200
    assert 'href="/staff/accounts/new"' not in page.text
    assert "/active" not in page.text  # no enable/disable buttons
    response = await post_form(client, "/staff/accounts/new", NEW_CLERK)
    assert response.status_code == 403
    assert not await Staff.exists().where(Staff.username == "clerk-zhang").run()
