"""Staff login (password, a CAPTCHA after repeated failures, the second factor) and
logout; the rules live in portal/accounts.py, portal/lockout.py, portal/otp.py and the
session's lifetime in portal/auth.py."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.plugins.flash import flash
from litestar.response import Redirect, Response, Template
from litestar.status_codes import HTTP_204_NO_CONTENT, HTTP_400_BAD_REQUEST

from portal import audit, otp
from portal import auth as sessions
from portal.accounts import LoginFailed, authenticate, load_staff, signed_in
from portal.audit import Actor
from portal.auth import (
    ALL_STAFF,
    MUST_PAGES,
    SESSION_ALIVE_PATH,
    actor_of,
    requires,
    safe_next,
    sign_in,
    sign_out,
    start_session,
)
from portal.clock import utc_now
from portal.errors import retry_headers, status_of
from portal.lockout import LoginGuard, LoginThrottled
from portal.network import client_network
from portal.passwords import expired
from portal.tables import Staff

# How long the second step of a login waits for its code.
OTP_STEP_SECONDS = 300


async def _login_page(
    request: Request,
    guard: LoginGuard,
    next_url: str,
    username: str = "",
    error: str = "",
    status: int = 200,
    **kw: Any,
) -> Template:
    """The login form; with a CAPTCHA once ``username`` has failed too often."""
    challenge = None
    captcha = request.app.state.extensions.login_captcha
    if username and captcha is not None and await guard.captcha_needed(username):
        challenge = await captcha.offer(client_network(request))
    return Template(
        "auth/login.html",
        context={"next": next_url, "username": username, "error": error, "challenge": challenge},
        status_code=status,
        **kw,
    )


async def _finish_login(
    request: Request, guard: LoginGuard, staff_id: int, target: str
) -> Redirect:
    """The account is proven: sign it in (ending its older session), tell its owner of the
    time since the last login, and send it where it must go first."""
    settings = request.app.state.settings
    row = (
        await Staff.select(
            Staff.username,
            Staff.role,
            Staff.must_change_password,
            Staff.password_changed_at,
            Staff.otp_secret,
        )
        .where(Staff.id == staff_id)
        .first()
        .run()
    )
    must = None
    if row["must_change_password"] or expired(
        row["password_changed_at"], settings.password_max_age_days, utc_now()
    ):
        must = "password"
    elif otp.required(settings, row["role"]) and not row["otp_secret"]:
        must = "otp"
    network = client_network(request)
    await sign_in(request, staff_id, must)
    notice = await signed_in(guard, staff_id, network)
    request.session["notice"] = notice.lines()
    for line in notice.lines():
        flash(request, line, "error" if notice.locks else "info")
    request.scope["user"] = await load_staff(staff_id)
    await audit.record(actor_of(request), "staff.login", ("staff", staff_id), label=row["username"])
    return Redirect(path=MUST_PAGES[must] if must else target)


class AuthPages(Controller):
    include_in_schema = False

    @get("/login", name="login")
    async def login_form(
        self,
        request: Request,
        login_guard: NamedDependency[LoginGuard],
        next: FromQuery[str | None] = None,
    ) -> Template | Redirect:
        target = safe_next(next)
        if request.user is not None:
            return Redirect(path=target)
        return await _login_page(request, login_guard, target)

    @post("/login", name="login_submit")
    async def login(
        self, request: Request, login_guard: NamedDependency[LoginGuard]
    ) -> Template | Redirect:
        form = await request.form()
        username = str(form.get("username") or "").strip()
        password = str(form.get("password") or "")
        target = safe_next(str(form.get("next") or ""))
        network = client_network(request)
        if not username or not password:
            return await _login_page(
                request, login_guard, target, username, "请输入用户名和密码。", HTTP_400_BAD_REQUEST
            )
        captcha = request.app.state.extensions.login_captcha
        solved = True
        if captcha is not None and await login_guard.captcha_needed(username):
            solved = await captcha.solved(
                str(form.get("captcha_id") or "")[:200], str(form.get("captcha_answer") or "")[:20]
            )
        if not solved:
            # Not counted, and the password is not looked at: the same for every name.
            return await _login_page(
                request,
                login_guard,
                target,
                username,
                "请正确输入图片中的验证码。",
                HTTP_400_BAD_REQUEST,
            )
        try:
            verified = await authenticate(login_guard, username, password, network)
        except (LoginThrottled, LoginFailed) as exc:
            # Every failed or throttled login is audited (the name as typed: it may be no
            # account at all; only the audit log's readers see it).
            await audit.record(
                Actor(staff_id=None, name="未登录", network=network),
                "staff.login_failed",
                ("staff", ""),
                label=username[:100],
                after={"throttled": isinstance(exc, LoginThrottled)},
            )
            return await _login_page(
                request,
                login_guard,
                target,
                username,
                exc.message,
                status_of(exc),
                headers=retry_headers(exc),
            )
        if verified.otp:
            start_session(
                request,
                {"otp_pending": verified.staff_id, "otp_since": sessions.clock(), "next": target},
            )
            return Redirect(path="/login/otp")
        return await _finish_login(request, login_guard, verified.staff_id, target)

    @get("/login/otp", name="login_otp")
    async def otp_form(self, request: Request) -> Template | Redirect:
        if _pending(request) is None:
            return Redirect(path="/login")
        return Template("auth/otp.html", context={"error": ""})

    @post("/login/otp", name="login_otp_submit")
    async def otp_submit(
        self, request: Request, login_guard: NamedDependency[LoginGuard]
    ) -> Template | Redirect:
        staff_id = _pending(request)
        if staff_id is None:
            flash(request, "验证已超时，请重新登录。", "error")
            return Redirect(path="/login")
        code = str((await request.form()).get("code") or "")[:40]
        row = await Staff.select(Staff.username).where(Staff.id == staff_id).first().run()
        network = client_network(request)
        try:
            await login_guard.standing(row["username"], network)
        except LoginThrottled as exc:
            request.clear_session()
            return Template(
                "auth/otp.html",
                context={"error": exc.message, "ended": True},
                status_code=status_of(exc),
                headers=retry_headers(exc),
            )
        if not code.strip() or not await otp.verify(request.app.state.stores.state, staff_id, code):
            await login_guard.failed(row["username"], network)
            return Template(
                "auth/otp.html",
                context={"error": "动态验证码或恢复码不正确，或已使用过。"},
                status_code=HTTP_400_BAD_REQUEST,
            )
        target = safe_next(request.session.get("next"))
        return await _finish_login(request, login_guard, staff_id, target)

    @post("/logout", name="logout")
    async def logout(self, request: Request) -> Redirect:
        if request.user is not None:
            await audit.record(
                actor_of(request),
                "staff.logout",
                ("staff", request.user.id),
                label=request.user.username,
            )
        await sign_out(request)
        return Redirect(path="/")

    @get(SESSION_ALIVE_PATH, name="session_alive", guards=[requires(*ALL_STAFF)])
    async def alive(self) -> Response:
        """Keeps a staff session alive (the idle warning's button): the request itself
        is the activity. Once the session is over, the guard sends it to the login page."""
        return Response(b"", status_code=HTTP_204_NO_CONTENT)


def _pending(request: Request) -> int | None:
    """The account whose password was right and whose code is awaited, if still in time."""
    session = request.session
    staff_id = session.get("otp_pending")
    if not isinstance(staff_id, int):
        return None
    if sessions.clock() - float(session.get("otp_since") or 0) > OTP_STEP_SECONDS:
        return None
    return staff_id
