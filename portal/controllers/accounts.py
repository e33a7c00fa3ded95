"""Staff accounts: administrators list, create, disable and re-enable the accounts of
their bureau and those below it; auditors read them. Another organisation's accounts
do not exist here (404)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from portal import accounts, lockout, otp
from portal.audit import Actor
from portal.auth import requires
from portal.bureaus import subtree
from portal.tables import Role

READERS = requires(Role.city_admin, Role.auditor)
CITY_ADMIN = requires(Role.city_admin)


async def _bureaus(within: int) -> list[dict[str, Any]]:
    """The bureaus an account may be created for: the administrator's and those below."""
    return [{"name": n.name, "level": n.level} for n in await subtree(within) if not n.retired]


class AccountPages(Controller):
    path = "/staff/accounts"
    include_in_schema = False

    @get("/", name="account_list", guards=[READERS])
    async def index(self, request: Request) -> Template:
        listed = await accounts.list_staff(request.user.bureau_id)
        return Template("staff/accounts/list.html", context={"accounts": listed})

    @get("/new", name="account_new", guards=[CITY_ADMIN])
    async def new_form(self, request: Request) -> Template:
        return await self._form(request, {}, "")

    @post("/new", name="account_create", guards=[CITY_ADMIN])
    async def create(self, request: Request, actor: NamedDependency[Actor]) -> Template | Redirect:
        form = await request.form()
        values = {
            key: str(form.get(key) or "") for key in ("username", "display_name", "role", "bureau")
        }
        password = str(form.get("password") or "")
        if password != str(form.get("password2") or ""):
            return await self._form(request, values, "两次输入的密码不一致。", HTTP_400_BAD_REQUEST)
        try:
            staff = await accounts.create_staff(
                values["username"],
                password,
                values["role"],
                values["bureau"] or None,
                values["display_name"],
                actor=actor,
                within=request.user.bureau_id,
                must_change=True,
            )
        except accounts.AccountError as exc:
            return await self._form(request, values, str(exc), HTTP_400_BAD_REQUEST)
        flash(
            request,
            f"已创建账号 {staff.username}。请通过安全渠道把初始密码告知本人；"
            "本人首次登录时须修改密码。",
            "success",
        )
        return Redirect(path="/staff/accounts")

    @post("/{username:str}/active", name="account_active", guards=[CITY_ADMIN])
    async def set_active(
        self, request: Request, actor: NamedDependency[Actor], username: FromPath[str]
    ) -> Redirect:
        active = str((await request.form()).get("active") or "") == "1"
        try:
            staff = await accounts.set_active(actor, username, active, request.user.bureau_id)
        except accounts.AccountError as exc:
            flash(request, str(exc), "error")
        else:
            flash(request, f"已{'启用' if active else '停用'}账号 {staff.username}。", "success")
        return Redirect(path="/staff/accounts")

    @get("/locks", name="account_locks", guards=[READERS])
    async def locks(self, request: Request) -> Template:
        return Template(
            "staff/accounts/locks.html",
            context={"locks": await lockout.list_locks(request.user.bureau_id)},
        )

    @post("/locks/{lock_id:int}/lift", name="account_lock_lift", guards=[CITY_ADMIN])
    async def lift_lock(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        login_guard: NamedDependency[lockout.LoginGuard],
        lock_id: FromPath[int],
    ) -> Redirect:
        lifted = await login_guard.lift(actor, lock_id, request.user.bureau_id)
        where = f"网络 {lifted['network']}" if lifted["network"] else "全部网络"
        flash(request, f"已解除账号 {lifted['username']} 在{where}的登录锁定。", "success")
        return Redirect(path="/staff/accounts/locks")

    @post("/{username:str}/otp-reset", name="account_otp_reset", guards=[CITY_ADMIN])
    async def reset_otp(
        self, request: Request, actor: NamedDependency[Actor], username: FromPath[str]
    ) -> Redirect:
        staff = await otp.reset(actor, username, request.user.bureau_id)
        flash(
            request,
            f"已重置账号 {staff.username} 的二次验证；必须开启的，本人下次登录后重新开启。",
            "success",
        )
        return Redirect(path="/staff/accounts")

    @staticmethod
    async def _form(
        request: Request, values: dict[str, str], error: str, status: int = 200
    ) -> Template:
        return Template(
            "staff/accounts/form.html",
            context={
                "values": values,
                "error": error,
                "roles": Role,
                "bureaus": await _bureaus(request.user.bureau_id),
            },
            status_code=status,
        )
