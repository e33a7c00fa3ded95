"""Staff identity and sessions (issue 19, 等保 2.0): failed logins lock a network out of
an account, not the account out of its owner; sessions end when idle, when old, when the
account signs in elsewhere and at logout; the second factor (TOTP and recovery codes).

Sessions and failure counters live in the shared store: the tests that touch them run
on the in-process store and on Redis.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pyotp
import pytest

from portal import auth
from portal.passwords import PasswordRefused, check_password, expired
from portal.tables import AuditEntry, LoginLock, Role, Staff
from tests.conftest import close_limits, redis_stores, running
from tests.helpers import PASSWORD, login, post_form

pytestmark = pytest.mark.usefixtures("staff")

ANSWER = "TESTWORD"  # PORTAL_CAPTCHA_TEST_ANSWER of these tests' apps
WRONG = "Wrong-password-1"


@pytest.fixture(params=["memory", "redis"])
async def portal(request: pytest.FixtureRequest, db: None, settings, apps):  # type: ignore[no-untyped-def]
    """The app on the in-process store, then on Redis, answering CAPTCHAs with ``ANSWER``."""
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    app = apps.get(dataclasses.replace(settings, captcha_test_answer=ANSWER), redis_url)
    async with running(app):
        yield app
    await apps.forget(app)


@contextlib.asynccontextmanager
async def browser(app, ip: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """A client of ``app`` from the address ``ip`` (its own cookies: one browser)."""
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver.local", follow_redirects=False
    ) as client:
        yield client


async def attempt(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """A login as the form sends it, answering the CAPTCHA when the page shows one."""
    page = await client.get("/login")
    data = {"username": username, "password": password}
    response = await post_form(client, "/login", {**data, "captcha_id": "x", "captcha_answer": ""})
    if "captcha_id" in response.text and "请正确输入图片中的验证码" in response.text:
        captcha_id = re.search(r'name="captcha_id" value="([^"]+)"', response.text).group(1)
        data |= {"captcha_id": captcha_id, "captcha_answer": ANSWER}
        response = await post_form(client, "/login", data)
    del page
    return response


async def fail_five(app, username: str, ip: str) -> None:  # type: ignore[no-untyped-def]
    async with browser(app, ip) as client:
        for _ in range(5):
            response = await attempt(client, username, WRONG)
            assert response.status_code == 400, response.text[:300]


# --- password policy --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Short-1", "至少需要 10 个字符"),
        ("onlylowercase", "至少 3 类"),
        ("ALLUPPER12345", "至少 3 类"),
        ("Clerk-zhang-99", "不能与用户名相同"),
        ("P@ssw0rd123", "常见密码"),
        ("Woaini1314!", "常见密码"),
    ],
)
def test_weak_passwords_are_refused(password: str, message: str) -> None:
    with pytest.raises(PasswordRefused, match=message):
        check_password(password, "clerk-zhang")


def test_good_passwords_pass_and_age() -> None:
    check_password("Mediation-2024", "clerk-zhang")
    check_password("调解员 anding 2024", "clerk-zhang")  # other scripts count as symbols
    now = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    assert not expired(now - dt.timedelta(days=90), 90, now)
    assert expired(now - dt.timedelta(days=91), 90, now)
    assert not expired(None, 90, now)


async def test_an_old_password_must_be_changed_at_login(client) -> None:
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=91)
    await Staff.update({Staff.password_changed_at: long_ago}).where(Staff.username == "clerk").run()
    response = await login(client, "clerk")
    assert response.headers["location"] == "/staff/account/password"
    page = await client.get("/staff/account/password")
    assert "已超过有效期" in page.text
    same = await post_form(
        client,
        "/staff/account/password",
        {"current_password": PASSWORD, "new_password": PASSWORD, "new_password2": PASSWORD},
    )
    assert same.status_code == 400 and "不能与当前密码相同" in same.text
    fresh = "Fresh-secret-77"
    done = await post_form(
        client,
        "/staff/account/password",
        {"current_password": PASSWORD, "new_password": fresh, "new_password2": fresh},
    )
    assert done.status_code in (302, 303)
    assert (await client.get("/staff")).status_code == 200
    assert await AuditEntry.count().where(AuditEntry.action == "staff.password").run() == 1


async def test_fixture_and_demo_accounts_need_no_first_change(client) -> None:
    row = await Staff.select(Staff.must_change_password).where(Staff.username == "admin").first()
    assert row == {"must_change_password": False}
    assert (await login(client, "admin")).headers["location"] == "/staff"


# --- failed logins ----------------------------------------------------------------------


async def test_five_failures_ask_for_a_captcha_and_lock_that_network_only(portal) -> None:
    async with browser(portal, "198.51.100.7") as attacker:
        for _ in range(5):
            response = await post_form(attacker, "/login", {"username": "clerk", "password": WRONG})
            assert response.status_code == 400
        # Now the form asks for a CAPTCHA for this account; without it the password is
        # not even looked at.
        assert 'name="captcha_id"' in response.text
        refused = await post_form(attacker, "/login", {"username": "clerk", "password": PASSWORD})
        assert refused.status_code == 400 and "验证码" in refused.text
        # The right password with the CAPTCHA: this network is locked out of the account.
        locked = await attempt(attacker, "clerk", PASSWORD)
        assert locked.status_code == 429 and "已暂时锁定" in locked.text
        assert int(locked.headers["retry-after"]) > 0
    # The owner, elsewhere, still signs in (answering the CAPTCHA).
    async with browser(portal, "203.0.113.20") as owner:
        response = await attempt(owner, "clerk", PASSWORD)
        assert response.status_code in (302, 303), response.text[:300]
        home = await owner.get("/staff")
        assert "此后登录失败 5 次" in home.text
        assert "账号曾被临时锁定（198.51.100.7）" in home.text
    locks = await LoginLock.select(LoginLock.username, LoginLock.network).run()
    assert locks == [{"username": "clerk", "network": "198.51.100.7"}]
    assert await AuditEntry.count().where(AuditEntry.action == "staff.lock").run() == 1


async def test_an_attackers_failures_from_many_networks_do_not_keep_out_an_owner_with_otp(
    portal,
) -> None:
    secret = pyotp.random_base32()
    await Staff.update({Staff.otp_secret: secret}).where(Staff.username == "admin").run()
    for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        await fail_five(portal, "admin", ip)
    networks = {r["network"] for r in await LoginLock.select(LoginLock.network).run()}
    assert networks == {"198.51.100.1", "198.51.100.2", "198.51.100.3", ""}  # "" : account
    async with browser(portal, "203.0.113.5") as owner:
        # A wrong password under the account lock says only "locked".
        wrong = await attempt(owner, "admin", WRONG)
        assert wrong.status_code == 429
        response = await attempt(owner, "admin", PASSWORD)
        assert response.headers["location"] == "/login/otp"
        done = await post_form(owner, "/login/otp", {"code": pyotp.TOTP(secret).now()})
        assert done.headers["location"] == "/staff"
        assert (await owner.get("/staff")).status_code == 200


async def test_the_account_lock_stops_a_password_alone_and_says_nothing_of_existence(
    portal,
) -> None:
    answers = {}
    for name in ("reviewer", "no-such-person"):
        for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
            await fail_five(portal, name, ip)
        async with browser(portal, "203.0.113.9") as client:
            right = await attempt(client, name, PASSWORD)
            wrong = await attempt(client, name, WRONG)
        answers[name] = [
            (r.status_code, re.sub(r"\d+ 分钟", "", _error(r))) for r in (right, wrong)
        ]
    assert answers["reviewer"] == answers["no-such-person"]
    assert answers["reviewer"][0][0] == 429


def _error(response: httpx.Response) -> str:
    found = re.search(r'id="login-error">([^<]*)<', response.text)
    return found.group(1) if found else ""


async def test_unknown_and_known_names_fail_alike(portal) -> None:
    seen = []
    for name in ("clerk", "nobody-here"):
        async with browser(portal, "198.51.100.50") as client:
            statuses = [(await attempt(client, name, WRONG)).status_code for _ in range(6)]
            last = await attempt(client, name, PASSWORD if name == "clerk" else WRONG)
            seen.append((statuses, last.status_code, _error(last).split("请")[0]))
    assert seen[0] == seen[1]


async def test_a_lock_holds_across_two_server_processes(db, settings, redis_url) -> None:  # type: ignore[no-untyped-def]
    """Two apps (as two server processes) on one Redis: failures on one lock the other."""
    from portal.app import create_app

    prefix = f"two{uuid.uuid4().hex}"
    tuned = dataclasses.replace(settings, captcha_test_answer=ANSWER)
    first = create_app(tuned, stores=redis_stores(redis_url, prefix))
    second = create_app(tuned, stores=redis_stores(redis_url, prefix))
    try:
        async with running(first), running(second):
            await fail_five(first, "clerk", "198.51.100.77")
            async with browser(second, "198.51.100.77") as client:
                locked = await attempt(client, "clerk", PASSWORD)
                assert locked.status_code == 429
            async with browser(second, "203.0.113.77") as client:
                # Elsewhere the owner needs the CAPTCHA the first process asked for.
                first_try = await post_form(
                    client, "/login", {"username": "clerk", "password": PASSWORD}
                )
                assert first_try.status_code == 400 and 'name="captcha_id"' in first_try.text
                assert (await attempt(client, "clerk", PASSWORD)).status_code in (302, 303)
                assert (await client.get("/staff")).status_code == 200
                # A login through the other process ends this session.
                async with browser(first, "203.0.113.78") as elsewhere:
                    await attempt(elsewhere, "clerk", PASSWORD)
                    assert (await elsewhere.get("/staff")).status_code == 200
                ended = await client.get("/staff")
                assert ended.status_code in (302, 303)
                assert "已在其他地方登录" in (await client.get(ended.headers["location"])).text
    finally:
        for app in (first, second):
            await app.state.stores.state.delete_all()
            await close_limits(app.state.stores)


async def test_administrators_see_and_lift_locks_and_it_is_audited(portal) -> None:
    await fail_five(portal, "clerk", "198.51.100.9")
    async with browser(portal) as admin:
        await login(admin, "admin")
        page = await admin.get("/staff/accounts/locks")
        assert "<td>198.51.100.9</td>" in page.text and "<code>clerk</code>" in page.text
        lock_id = (await LoginLock.select(LoginLock.id).first().run())["id"]
        lifted = await post_form(admin, f"/staff/accounts/locks/{lock_id}/lift")
        assert lifted.status_code in (302, 303)
        assert "<td>198.51.100.9</td>" not in (await admin.get("/staff/accounts/locks")).text
        again = await post_form(admin, f"/staff/accounts/locks/{lock_id}/lift")
        assert again.status_code == 404
    entry = await AuditEntry.objects().where(AuditEntry.action == "staff.unlock").first().run()
    assert entry.actor_name == "admin" and entry.object_label == "clerk"
    async with browser(portal, "198.51.100.9") as owner:
        assert (await attempt(owner, "clerk", PASSWORD)).status_code in (302, 303)
    async with browser(portal) as auditor:
        await login(auditor, "auditor")
        assert (await auditor.get("/staff/accounts/locks")).status_code == 200
        refused = await post_form(auditor, f"/staff/accounts/locks/{lock_id}/lift")
        assert refused.status_code == 403


# --- sessions ---------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The sessions' clock, moved by the test (``clock.now += seconds``)."""

    class Clock:
        now = auth.clock()

        def __call__(self) -> float:
            return self.now

    moved = Clock()
    monkeypatch.setattr(auth, "clock", moved)
    return moved


async def test_an_idle_session_ends_with_a_message(portal, clock) -> None:
    async with browser(portal) as client:
        await login(client, "clerk")
        clock.now += 29 * 60
        assert (await client.get("/staff")).status_code == 200
        clock.now += 29 * 60  # each request counts as activity
        assert (await client.get("/staff")).status_code == 200
        clock.now += 31 * 60
        response = await client.get("/staff")
        assert response.status_code in (302, 303) and response.headers["location"].startswith(
            "/login"
        )
        page = await client.get(response.headers["location"])
        assert "超过 30 分钟未操作" in page.text


async def test_the_idle_limit_is_the_setting_and_the_page_warns(db, settings, apps, clock) -> None:  # type: ignore[no-untyped-def]
    app = apps.get(dataclasses.replace(settings, session_idle_minutes=5))
    async with running(app), browser(app) as client:
        await login(client, "clerk")
        page = await client.get("/staff")
        assert 'data-idle-seconds="300"' in page.text and "session-timeout.js" in page.text
        assert "1 分钟后自动退出" in page.text
        clock.now += 4 * 60
        assert (await client.get(auth.SESSION_ALIVE_PATH)).status_code == 204
        clock.now += 4 * 60
        assert (await client.get("/staff")).status_code == 200
        clock.now += 6 * 60
        ended = await client.get(auth.SESSION_ALIVE_PATH)
        assert ended.status_code in (302, 303) and ended.headers["location"].startswith("/login")
    await apps.forget(app)


async def test_a_session_ends_after_its_absolute_lifetime(portal, clock) -> None:
    async with browser(portal) as client:
        await login(client, "clerk")
        for _ in range(24):  # busy all day: 24 × 29 minutes = 11 h 36 min
            clock.now += 29 * 60
            assert (await client.get("/staff")).status_code == 200
        clock.now += 29 * 60
        response = await client.get("/staff")
        assert response.status_code in (302, 303)
        assert "已满 12 小时" in (await client.get(response.headers["location"])).text


async def test_a_second_login_ends_the_first_session(portal) -> None:
    async with browser(portal, "203.0.113.1") as first, browser(portal, "203.0.113.2") as second:
        await login(first, "clerk")
        assert (await first.get("/staff")).status_code == 200
        await login(second, "clerk")
        response = await first.get("/staff")
        assert response.status_code in (302, 303)
        page = await first.get(response.headers["location"])
        assert "已在其他地方登录" in page.text
        assert (await first.get("/staff")).status_code in (302, 303)
        assert (await second.get("/staff")).status_code == 200


async def test_logout_ends_the_session_on_the_server(portal) -> None:
    async with browser(portal) as client:
        await login(client, "clerk")
        cookie = client.cookies[auth.SESSION_COOKIE]
        sessions = portal.state.stores.state.with_namespace("sessions")
        assert await sessions.get(cookie) is not None
        await post_form(client, "/logout")
    assert await sessions.get(cookie) is None
    async with browser(portal) as replay:
        replay.cookies.set(auth.SESSION_COOKIE, cookie, domain="testserver.local")
        assert (await replay.get("/staff")).status_code in (302, 303)


# --- the second factor ------------------------------------------------------------------


async def enrol(client: httpx.AsyncClient) -> tuple[str, list[str]]:
    page = await client.get("/staff/account/otp")
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page.text).group(1)
    qr = await client.get("/staff/account/otp/qr.png")
    assert qr.headers["content-type"] == "image/png" and qr.headers["cache-control"] == "no-store"
    wrong = await post_form(client, "/staff/account/otp", {"code": "000000"})
    assert wrong.status_code == 400
    done = await post_form(client, "/staff/account/otp", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", done.text)
    return secret, codes


async def test_enrolment_then_login_with_a_code_and_with_recovery_codes(portal) -> None:
    async with browser(portal) as client:
        await login(client, "reviewer")
        secret, codes = await enrol(client)
        assert len(codes) == 10 == len(set(codes))
        stored = (
            await Staff.select(Staff.otp_secret, Staff.otp_recovery)
            .where(Staff.username == "reviewer")
            .output(load_json=True)
            .first()
            .run()
        )
        assert stored["otp_secret"] == secret
        assert len(stored["otp_recovery"]) == 10
        assert not set(codes) & set(stored["otp_recovery"])  # hashes only
        await post_form(client, "/logout")

        response = await login(client, "reviewer")
        assert response.headers["location"] == "/login/otp"
        assert (await client.get("/staff")).status_code in (302, 303)  # not signed in yet
        bad = await post_form(client, "/login/otp", {"code": "123456"})
        assert bad.status_code == 400 and "不正确" in bad.text
        code = pyotp.TOTP(secret).now()
        assert (await post_form(client, "/login/otp", {"code": code})).status_code in (302, 303)
        assert (await client.get("/staff")).status_code == 200
        await post_form(client, "/logout")

        # The same code is not accepted twice; a recovery code once only.
        await login(client, "reviewer")
        assert (await post_form(client, "/login/otp", {"code": code})).status_code == 400
        assert (await post_form(client, "/login/otp", {"code": codes[0]})).status_code in (302, 303)
        await post_form(client, "/logout")
        await login(client, "reviewer")
        assert (await post_form(client, "/login/otp", {"code": codes[0]})).status_code == 400
    actions = {r["action"] for r in await AuditEntry.select(AuditEntry.action).run()}
    assert "staff.otp_enrol" in actions


async def test_the_owner_replaces_the_recovery_codes_with_a_current_code(portal) -> None:
    async with browser(portal) as client:
        await login(client, "reviewer")
        secret, old = await enrol(client)
        page = await client.get("/staff/account/otp")
        assert "/staff/account/otp/recovery" in page.text and "更换恢复码" in page.text

        # Neither a wrong code nor a recovery code does: each is refused, changes nothing
        # and counts as a failure.
        for code in ("123456", old[0]):
            refused = await post_form(client, "/staff/account/otp/recovery", {"code": code})
            assert refused.status_code == 400 and "验证码不正确或已使用" in refused.text
        stored = await _stored_recovery("reviewer")
        assert len(stored) == 10

        # A fresh code of the next step gets ten new codes; the old ones no longer work.
        fresh = pyotp.TOTP(secret).at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
        renewed = await post_form(client, "/staff/account/otp/recovery", {"code": fresh})
        assert renewed.status_code == 200 and "恢复码已更换" in renewed.text
        new = re.findall(r"<code>([0-9a-f]{5}-[0-9a-f]{5})</code>", renewed.text)
        assert len(set(new)) == 10 and not set(new) & set(old)
        assert len(set(await _stored_recovery("reviewer")) - set(stored)) == 10
        # The code is not taken twice.
        again = await post_form(client, "/staff/account/otp/recovery", {"code": fresh})
        assert again.status_code == 400
        await post_form(client, "/logout")
        await login(client, "reviewer")
        assert (await post_form(client, "/login/otp", {"code": old[1]})).status_code == 400
        assert (await post_form(client, "/login/otp", {"code": new[0]})).status_code in (302, 303)
    entries = (
        await AuditEntry.select(AuditEntry.actor_name, AuditEntry.before, AuditEntry.after)
        .where(AuditEntry.action == "staff.otp_recovery_renew")
        .output(load_json=True)
        .run()
    )
    assert [(e["actor_name"], e["before"], e["after"]) for e in entries] == [
        ("reviewer", {"recovery_left": 10}, {"recovery_left": 10})
    ]


async def test_guessing_codes_for_new_recovery_codes_locks_like_failed_logins(portal) -> None:
    async with browser(portal) as client:
        await login(client, "reviewer")
        secret, _ = await enrol(client)
        for _ in range(5):
            await post_form(client, "/staff/account/otp/recovery", {"code": "000000"})
        assert await LoginLock.exists().where(LoginLock.username == "reviewer").run()
        fresh = pyotp.TOTP(secret).at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
        refused = await post_form(client, "/staff/account/otp/recovery", {"code": fresh})
        assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert (
        not await AuditEntry.exists().where(AuditEntry.action == "staff.otp_recovery_renew").run()
    )


async def _stored_recovery(username: str) -> list[str]:
    row = (
        await Staff.select(Staff.otp_recovery)
        .where(Staff.username == username)
        .output(load_json=True)
        .first()
        .run()
    )
    return row["otp_recovery"]


async def test_an_administrator_resets_a_second_factor_audited(portal) -> None:
    secret = pyotp.random_base32()
    await Staff.update({Staff.otp_secret: secret}).where(Staff.username == "clerk").run()
    async with browser(portal) as admin:
        await login(admin, "admin")
        listing = await admin.get("/staff/accounts")
        assert "/staff/accounts/clerk/otp-reset" in listing.text
        assert secret not in listing.text
        reset = await post_form(admin, "/staff/accounts/clerk/otp-reset")
        assert reset.status_code in (302, 303)
    row = await Staff.select(Staff.otp_secret).where(Staff.username == "clerk").first().run()
    assert row["otp_secret"] == ""
    entry = await AuditEntry.objects().where(AuditEntry.action == "staff.otp_reset").first().run()
    assert entry.actor_name == "admin" and entry.object_label == "clerk"
    async with browser(portal) as clerk:
        assert (await login(clerk, "clerk")).headers["location"] == "/staff"


def test_the_second_factor_is_required_where_the_issue_says(settings) -> None:  # type: ignore[no-untyped-def]
    from portal.otp import required

    production = dataclasses.replace(settings, env="production")
    everyone = dataclasses.replace(production, otp_all_staff=True)
    assert [required(production, r) for r in Role] == [True, False, False, True]
    assert all(required(everyone, r) for r in Role)
    assert not any(required(settings, r) for r in Role)  # development, test, the demo


async def test_in_production_an_administrator_enrols_before_working(db, settings, apps) -> None:  # type: ignore[no-untyped-def]
    origin = "https://testserver.local"
    app = apps.get(dataclasses.replace(settings, env="production", public_url=origin))
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url=origin) as client:
            response = await login(client, "admin")
            assert response.headers["location"] == "/staff/account/otp"
            blocked = await client.get("/staff/accounts")
            assert blocked.headers["location"] == "/staff/account/otp"
            await enrol(client)
            assert (await client.get("/staff/accounts")).status_code == 200
            # A clerk is not asked (PORTAL_OTP_ALL_STAFF is off).
            await post_form(client, "/logout")
            assert (await login(client, "clerk")).headers["location"] == "/staff"
    await apps.forget(app)


def test_the_account_settings_are_read_from_the_environment(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from portal.settings import ConfigError, Settings

    base = {"PORTAL_VAR_DIR": str(tmp_path)}
    default = Settings.from_env(base)
    assert (default.session_idle_minutes, default.session_max_hours) == (30, 12)
    assert (default.password_max_age_days, default.login_lock_minutes) == (90, 15)
    assert default.otp_all_staff is False
    tuned = Settings.from_env(
        {
            **base,
            "PORTAL_SESSION_IDLE_MINUTES": "10",
            "PORTAL_SESSION_MAX_HOURS": "8",
            "PORTAL_PASSWORD_MAX_AGE_DAYS": "30",
            "PORTAL_LOGIN_LOCK_MINUTES": "60",
            "PORTAL_OTP_ALL_STAFF": "1",
        }
    )
    assert (tuned.session_idle_minutes, tuned.session_max_hours) == (10, 8)
    assert (tuned.password_max_age_days, tuned.login_lock_minutes) == (30, 60)
    assert tuned.otp_all_staff is True
    for bad in ("0", "-5", "half an hour"):
        with pytest.raises(ConfigError, match="PORTAL_SESSION_IDLE_MINUTES"):
            Settings.from_env({**base, "PORTAL_SESSION_IDLE_MINUTES": bad})


async def test_the_staff_home_shows_the_last_login_and_failures_since(portal) -> None:
    async with browser(portal, "203.0.113.30") as first:
        await login(first, "clerk")
        home = await first.get("/staff")
        assert "这是本账号的首次登录" in home.text and "上次登录" not in home.text
    async with browser(portal, "198.51.100.31") as stranger:
        await attempt(stranger, "clerk", WRONG)
        await attempt(stranger, "clerk", WRONG)
    async with browser(portal, "203.0.113.32") as again:
        response = await login(again, "clerk")
        landing = await again.get(response.headers["location"])
        assert "上次登录：" in landing.text and "网络 203.0.113.30" in landing.text
        assert "此后登录失败 2 次" in landing.text
        account = await again.get("/staff/account")
        assert "网络 203.0.113.30" in account.text and "此后登录失败 2 次" in account.text
    row = (
        await Staff.select(Staff.last_login_network, Staff.failed_logins)
        .where(Staff.username == "clerk")
        .first()
        .run()
    )
    assert row == {"last_login_network": "203.0.113.32", "failed_logins": 0}


async def test_an_account_made_on_the_command_line_changes_its_password_first(client) -> None:
    from portal.cli import _createuser

    await _createuser("cli-made", "Command-line-7", "reviewer", None)
    row = await Staff.select(Staff.must_change_password).where(Staff.username == "cli-made")
    assert row == [{"must_change_password": True}]
    response = await login(client, "cli-made", "Command-line-7")
    assert response.headers["location"] == "/staff/account/password"
    entry = await AuditEntry.objects().where(AuditEntry.action == "staff.create").first().run()
    assert entry.actor_name == "命令行"
