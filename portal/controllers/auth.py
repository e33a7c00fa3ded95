"""Staff login and logout."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from portal import audit
from portal.accounts import LoginFailed, LoginGuard, LoginThrottled, authenticate, load_staff
from portal.auth import actor_of, safe_next, start_session
from portal.errors import retry_headers, status_of
from portal.network import client_network


def _login_page(
    next_url: str, username: str = "", error: str = "", status: int = 200, **kw
) -> Template:
    return Template(
        "auth/login.html",
        context={"next": next_url, "username": username, "error": error},
        status_code=status,
        **kw,
    )


class AuthPages(Controller):
    include_in_schema = False

    @get("/login", name="login")
    async def login_form(
        self, request: Request, next: FromQuery[str | None] = None
    ) -> Template | Redirect:
        target = safe_next(next)
        if request.user is not None:
            return Redirect(path=target)
        return _login_page(target)

    @post("/login", name="login_submit")
    async def login(
        self, request: Request, login_guard: NamedDependency[LoginGuard]
    ) -> Template | Redirect:
        form = await request.form()
        username = str(form.get("username") or "").strip()
        password = str(form.get("password") or "")
        target = safe_next(str(form.get("next") or ""))
        if not username or not password:
            return _login_page(target, username, "请输入用户名和密码。", HTTP_400_BAD_REQUEST)
        try:
            staff_id = await authenticate(login_guard, username, password, client_network(request))
        except (LoginThrottled, LoginFailed) as exc:
            return _login_page(
                target, username, exc.message, status_of(exc), headers=retry_headers(exc)
            )
        start_session(request, staff_id)
        request.scope["user"] = await load_staff(staff_id)
        await audit.record(actor_of(request), "staff.login", ("staff", staff_id), label=username)
        return Redirect(path=target)

    @post("/logout", name="logout")
    async def logout(self, request: Request) -> Redirect:
        if request.user is not None:
            await audit.record(
                actor_of(request),
                "staff.logout",
                ("staff", request.user.id),
                label=request.user.username,
            )
        request.clear_session()
        return Redirect(path="/")
