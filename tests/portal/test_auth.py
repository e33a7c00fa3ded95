"""Staff login and logout: sessions, throttling, CSRF, redirects."""

from __future__ import annotations

import pytest

from portal.auth import SESSION_COOKIE
from portal.tables import AuditEntry
from tests.helpers import PASSWORD, login, post_form

pytestmark = pytest.mark.usefixtures("staff")


async def test_login_reaches_dashboard_and_logout_ends_session(client) -> None:
    response = await login(client, "admin")
    assert response.headers["location"] == "/staff"
    page = await client.get("/staff")
    assert page.status_code == 200
    assert "工作台" in page.text and "管理员" in page.text
    response = await post_form(client, "/logout")
    assert response.status_code in (302, 303)
    assert (await client.get("/staff")).status_code in (302, 303)
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).run()]
    assert actions == ["staff.login", "staff.logout"]


async def test_wrong_password_is_refused_with_a_clear_message(client) -> None:
    response = await post_form(client, "/login", {"username": "admin", "password": "wrong-one"})
    assert response.status_code == 400
    assert "用户名或密码不正确" in response.text
    assert "Traceback" not in response.text
    assert SESSION_COOKIE not in client.cookies or client.cookies[SESSION_COOKIE] == "null"
    assert (await client.get("/staff")).status_code in (302, 303)
    # Only the failure itself is recorded (等保 2.0: failed logins are audited).
    actions = await AuditEntry.select(AuditEntry.action).output(as_list=True).run()
    assert actions == ["staff.login_failed"]


async def test_unknown_user_gets_the_same_message(client) -> None:
    response = await post_form(client, "/login", {"username": "nobody", "password": "whatever1"})
    assert response.status_code == 400
    assert "用户名或密码不正确" in response.text


async def test_session_id_is_rotated_at_login(client) -> None:
    # A planted (pre-login) session id must not become the authenticated one.
    planted = "a" * 64
    client.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")
    await login(client, "admin")
    assert client.cookies[SESSION_COOKIE] != planted
    client.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")
    assert (await client.get("/staff")).status_code in (302, 303)


async def test_session_cookie_flags(client) -> None:
    response = await login(client, "admin")
    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and SESSION_COOKIE in v
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # only in production, see test_settings


async def test_failed_logins_lock_the_network(client) -> None:
    for i in range(20):
        await post_form(client, "/login", {"username": f"user{i}", "password": "nope-nope"})
    response = await post_form(client, "/login", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 429


async def test_login_without_csrf_token_is_refused(client) -> None:
    await client.get("/login")
    response = await client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 403
    assert "页面已过期" in response.text
    assert (await client.get("/staff")).status_code in (302, 303)


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"],
)
async def test_login_never_redirects_off_site(client, target: str) -> None:
    response = await post_form(
        client, "/login", {"username": "admin", "password": PASSWORD, "next": target}
    )
    assert response.headers["location"] == "/staff"


async def test_login_returns_to_the_page_asked_for(client) -> None:
    response = await client.get("/staff/audit?action=campaign")
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/login?next=")
    response = await post_form(
        client,
        "/login",
        {"username": "admin", "password": PASSWORD, "next": "/staff/audit?action=campaign"},
    )
    assert response.headers["location"] == "/staff/audit?action=campaign"


async def test_inactive_account_cannot_log_in(client) -> None:
    from portal.tables import Staff

    await Staff.update({Staff.active: False}).where(Staff.username == "admin").run()
    response = await post_form(client, "/login", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 400
