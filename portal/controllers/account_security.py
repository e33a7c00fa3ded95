"""A staff member's own account security: the last logins, the password (changed when
due or at first login) and the second factor (enrolled with a QR code; recovery codes
shown once, and replaced by the owner with a current code)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.plugins.flash import flash
from litestar.response import Redirect, Response, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from portal import accounts, otp
from portal.auth import ALL_STAFF, finish_must, requires
from portal.errors import retry_headers, status_of
from portal.lockout import LoginGuard, LoginThrottled
from portal.network import client_network
from portal.passwords import RULES
from portal.tables import Staff
from portal.web.qr import qr_png

STAFF = requires(*ALL_STAFF)


async def _account(staff_id: int) -> dict:
    return (
        await Staff.select(
            Staff.username,
            Staff.role,
            Staff.password_changed_at,
            Staff.must_change_password,
            Staff.otp_secret,
        )
        .where(Staff.id == staff_id)
        .first()
        .run()
    )


def _pending_secret(request: Request) -> str:
    """The secret being enrolled, kept in the session until a code proves it."""
    secret = request.session.get("otp_enrol")
    if not isinstance(secret, str):
        secret = request.session["otp_enrol"] = otp.new_secret()
    return secret


class AccountSecurityPages(Controller):
    path = "/staff/account"
    include_in_schema = False
    guards = [STAFF]

    @get("/", name="my_account")
    async def overview(self, request: Request) -> Template:
        account = await _account(request.user.id)
        settings = request.app.state.settings
        return Template(
            "staff/account.html",
            context={
                "account": account,
                "notice": request.session.get("notice") or [],
                "otp_on": bool(account["otp_secret"]),
                "otp_required": otp.required(settings, account["role"]),
                "recovery_left": await otp.recovery_left(request.user.id),
                "max_age_days": settings.password_max_age_days,
            },
        )

    @get("/password", name="my_password")
    async def password_form(self, request: Request) -> Template:
        return await self._password_page(request, "")

    @post("/password", name="my_password_change")
    async def change_password(self, request: Request) -> Template | Redirect:
        form = await request.form()
        new = str(form.get("new_password") or "")
        if new != str(form.get("new_password2") or ""):
            return await self._password_page(request, "两次输入的新密码不一致。")
        try:
            await accounts.change_password(
                request.user.id, str(form.get("current_password") or ""), new
            )
        except accounts.AccountError as exc:
            return await self._password_page(request, exc.message)
        finish_must(request, "password")
        flash(request, "密码已修改。", "success")
        return Redirect(path="/staff/account")

    @staticmethod
    async def _password_page(request: Request, error: str) -> Template:
        account = await _account(request.user.id)
        return Template(
            "staff/password.html",
            context={
                "error": error,
                "rules": RULES,
                "must": request.session.get("must") == "password",
                "first": account["must_change_password"],
            },
            status_code=HTTP_400_BAD_REQUEST if error else 200,
        )

    @get("/otp", name="my_otp")
    async def otp_form(self, request: Request) -> Template:
        return await self._otp_page(request, "")

    @post("/otp", name="my_otp_enrol")
    async def otp_enrol(self, request: Request) -> Template:
        account = await _account(request.user.id)
        if account["otp_secret"]:
            return await self._otp_page(request, "")
        code = str((await request.form()).get("code") or "")[:20]
        codes = await otp.enrol(request.user.id, _pending_secret(request), code)
        if codes is None:
            return await self._otp_page(request, "验证码不正确：请输入应用中当前显示的 6 位数字。")
        request.session.pop("otp_enrol", None)
        finish_must(request, "otp")
        return Template("staff/otp_codes.html", context={"codes": codes})

    @post("/otp/recovery", name="my_otp_recovery")
    async def otp_recovery(
        self, request: Request, login_guard: NamedDependency[LoginGuard]
    ) -> Template | Redirect:
        """New recovery codes in place of the unused ones, for a current code of the app.
        Wrong codes count as failed logins (a taken-over session cannot guess on)."""
        account = await _account(request.user.id)
        if not account["otp_secret"]:
            return Redirect(path="/staff/account/otp")
        network = client_network(request)
        try:
            await login_guard.standing(account["username"], network)
        except LoginThrottled as exc:
            return await self._otp_page(request, exc.message, status_of(exc), retry_headers(exc))
        code = str((await request.form()).get("code") or "")[:20]
        codes = await otp.regenerate_recovery(request.app.state.stores.state, request.user.id, code)
        if codes is None:
            await login_guard.failed(account["username"], network)
            return await self._otp_page(
                request, "验证码不正确或已使用：请输入身份验证器应用中当前显示的 6 位数字。"
            )
        return Template("staff/otp_codes.html", context={"codes": codes, "renewed": True})

    @get("/otp/qr.png", name="my_otp_qr")
    async def otp_qr(self, request: Request) -> Response:
        uri = otp.provisioning_uri(_pending_secret(request), request.user.username)
        # Not through the QR module's cache: a secret is kept in no process's memory.
        return Response(
            qr_png.__wrapped__(uri), media_type="image/png", headers={"cache-control": "no-store"}
        )

    @staticmethod
    async def _otp_page(
        request: Request,
        error: str,
        status_code: int = HTTP_400_BAD_REQUEST,
        headers: dict[str, str] | None = None,
    ) -> Template:
        account = await _account(request.user.id)
        secret = "" if account["otp_secret"] else _pending_secret(request)
        return Template(
            "staff/otp.html",
            context={
                "error": error,
                "otp_on": bool(account["otp_secret"]),
                "secret": secret,
                "secret_groups": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
                "must": request.session.get("must") == "otp",
                "recovery_left": await otp.recovery_left(request.user.id),
            },
            status_code=status_code if error else 200,
            headers=headers,
        )
