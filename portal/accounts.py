"""Staff accounts: creation, password checks and logins (failures: portal/lockout.py)."""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import anyio.to_thread

from portal import audit
from portal.audit import Actor
from portal.bureaus import bureau_ids_within
from portal.db import unique_or, write_transaction
from portal.errors import Invalid, NotFound
from portal.lockout import LoginGuard, LoginThrottled
from portal.passwords import PasswordRefused, check_password
from portal.tables import Bureau, BureauLevel, Role, Staff
from portal.text import line_error

# Staff's own login times are shown in Beijing time, as the login notice says them.
BEIJING = ZoneInfo("Asia/Shanghai")


class AccountError(Invalid):
    """An account cannot be created as asked; the message says why (zh-CN)."""


class LoginFailed(Invalid):
    """Wrong username or password, or an inactive account (never saying which)."""

    def __init__(self) -> None:
        super().__init__("用户名或密码不正确。")


@dataclass(frozen=True)
class StaffUser:
    """The signed-in staff member as the request sees them."""

    id: int
    username: str
    display_name: str
    role: Role
    bureau_id: int
    bureau_name: str
    bureau_level: BureauLevel
    # The area the user's bureau nominates for (XX县); empty for the top bureau.
    county: str
    # Whether the user's bureau is the installation's top bureau (no parent).
    top: bool = False

    @property
    def role_label(self) -> str:
        return Role(self.role).label

    @property
    def label(self) -> str:
        return self.display_name or self.username


async def load_staff(staff_id: int) -> StaffUser | None:
    """The active staff member with this id, with their bureau (not retired)."""
    row = (
        await Staff.select(
            Staff.id,
            Staff.username,
            Staff.display_name,
            Staff.role,
            Staff.bureau.id.as_alias("bureau_id"),
            Staff.bureau.name.as_alias("bureau_name"),
            Staff.bureau.level.as_alias("bureau_level"),
            Staff.bureau.short_name.as_alias("short_name"),
            Staff.bureau.parent.as_alias("bureau_parent"),
        )
        # An account of a retired bureau is kept for history but signs in no more.
        .where(
            (Staff.id == staff_id)
            & (Staff.active == True)  # noqa: E712
            & Staff.bureau.retired_at.is_null()
        )
        .first()
        .run()
    )
    if row is None:
        return None
    return StaffUser(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        role=Role(row["role"]),
        bureau_id=row["bureau_id"],
        bureau_name=row["bureau_name"],
        bureau_level=BureauLevel(row["bureau_level"]),
        county=row["short_name"] if row["bureau_parent"] is not None else "",
        top=row["bureau_parent"] is None,
    )


async def find_bureau(name: str) -> Bureau | None:
    """A bureau by its full name (XX县司法局) or its short name (XX县)."""
    return (
        await Bureau.objects()
        .where((Bureau.name == name) | ((Bureau.short_name == name) & (Bureau.short_name != "")))
        .first()
        .run()
    )


async def create_staff(
    username: str,
    password: str,
    role: Role | str,
    bureau_name: str | None = None,
    display_name: str = "",
    actor: Actor | None = None,
    within: int | None = None,
    must_change: bool = False,
) -> Staff:
    """Create an active staff account, checking that its role fits its bureau.

    An administrator belongs to a bureau that may run campaigns (a province, city or
    county; default: the top bureau), a clerk to a bureau that nominates to its parent's
    campaigns (required); reviewers and auditors to any bureau (default: the top
    bureau). With ``within`` (an administrator's bureau, on the staff pages) the bureau
    must be that one or below it. With an ``actor`` the creation is audited. With
    ``must_change`` (an administrator's or the command line's new account) its owner
    must change the password at the first login.
    """
    try:
        role = Role(role)
    except ValueError as exc:
        raise AccountError(
            f"未知角色 {role!r}；可选：{', '.join(r.value for r in Role)}。"
        ) from exc
    username = username.strip()
    if not username or len(username) > 100 or any(c.isspace() for c in username):
        raise AccountError("用户名不能为空、不能含空格，且不超过 100 个字符。")
    display_name = display_name.strip()
    for label, value in (("用户名", username), ("姓名", display_name)):
        if hidden := line_error(label, value):
            raise AccountError(hidden)
    try:
        check_password(password, username)
    except PasswordRefused as exc:
        raise AccountError(exc.message) from exc
    if bureau_name:
        bureau = await find_bureau(bureau_name)
        if bureau is None or bureau.retired_at is not None:
            raise AccountError(f"找不到单位「{bureau_name}」。")
        if within is not None and bureau.id not in await bureau_ids_within(within):
            raise AccountError(f"找不到单位「{bureau_name}」。")
    elif role is Role.county_clerk:
        raise AccountError("经办人必须指定所属单位（--bureau）。")
    else:
        bureau = (
            await Bureau.objects()
            .where(Bureau.parent.is_null() & Bureau.retired_at.is_null())
            .order_by(Bureau.id)
            .first()
            .run()
        )
        if bureau is None:
            raise AccountError("尚未导入单位：请先运行 portal bureaus import 导入单位。")
    if role is Role.city_admin and bureau.level == BureauLevel.township:
        raise AccountError("管理员须属于主办评选活动的省、市、县司法行政机关，不能属于司法所。")
    if role is Role.county_clerk and bureau.parent is None:
        raise AccountError("经办人必须属于下级单位，向上级单位主办的活动推荐。")
    taken = AccountError(f"用户名「{username}」已存在。")
    if await Staff.exists().where(Staff.username == username).run():
        raise taken
    hashed = await anyio.to_thread.run_sync(Staff.hash_password, password)
    staff = Staff(
        username=username,
        password=hashed,
        role=role.value,
        bureau=bureau.id,
        display_name=display_name[:100],
        active=True,
        password_changed_at=dt.datetime.now(dt.UTC),
        must_change_password=must_change,
    )
    with unique_or(taken):
        async with write_transaction():
            await staff.save().run()
            if actor is not None:
                await audit.record(
                    actor,
                    "staff.create",
                    staff,
                    after={"role": role.value, "bureau": bureau.name, "name": staff.display_name},
                )
    return staff


async def change_password(staff_id: int, current: str, new: str) -> None:
    """The owner sets a new password: the current one must be right, the new one must
    meet the policy and differ from it (audited). Clears a pending must-change."""
    row = (
        await Staff.select(Staff.username, Staff.password, Staff.role)
        .where(Staff.id == staff_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("找不到该账号。")
    stored = row["password"]
    if len(current) > Staff._max_password_length:
        raise AccountError("当前密码不正确。")
    _, iterations, salt, _ = Staff.split_stored_password(stored)
    candidate = await anyio.to_thread.run_sync(Staff.hash_password, current, salt, int(iterations))
    if not hmac.compare_digest(candidate, stored):
        raise AccountError("当前密码不正确。")
    if new == current:
        raise AccountError("新密码不能与当前密码相同。")
    try:
        check_password(new, row["username"])
    except PasswordRefused as exc:
        raise AccountError(exc.message) from exc
    hashed = await anyio.to_thread.run_sync(Staff.hash_password, new)
    async with write_transaction():
        await (
            Staff.update(
                {
                    Staff.password: hashed,
                    Staff.password_changed_at: dt.datetime.now(dt.UTC),
                    Staff.must_change_password: False,
                }
            )
            .where(Staff.id == staff_id)
            .run()
        )
        await audit.record(
            Actor(staff_id=staff_id, name=row["username"], role=row["role"]),
            "staff.password",
            ("staff", staff_id),
            label=row["username"],
        )


async def set_active(actor: Actor, username: str, active: bool, within: int | None = None) -> Staff:
    """Enable or disable an account (audited); nobody disables their own. With
    ``within`` only an account of that bureau or one below it exists.

    A disabled account cannot log in, and its open sessions stop working at once
    (every request reloads the signed-in account and skips inactive ones).
    """
    async with write_transaction():
        staff = await Staff.objects().where(Staff.username == username).first().run()
        if staff is None or (
            within is not None and staff.bureau not in await bureau_ids_within(within)
        ):
            raise NotFound("找不到该账号。")
        if actor.staff_id == staff.id and not active:
            raise AccountError("不能停用自己的账号。")
        if staff.active != active:
            staff.active = active
            await staff.save([Staff.active]).run()
            await audit.record(
                actor,
                "staff.active",
                staff,
                before={"active": not active},
                after={"active": active},
            )
    return staff


async def list_staff(within: int) -> list[dict]:
    """The accounts of the bureau ``within`` and those below it, ordered by bureau then
    role."""
    rows = (
        await Staff.select(
            Staff.id,
            Staff.username,
            Staff.display_name,
            Staff.role,
            Staff.active,
            Staff.last_login,
            Staff.last_login_network,
            Staff.otp_secret,
            Staff.bureau.name.as_alias("bureau_name"),
            Staff.bureau.position.as_alias("bureau_position"),
        )
        .where(Staff.bureau.is_in(list(await bureau_ids_within(within))))
        .order_by(Staff.bureau.position)
        .order_by(Staff.role)
        .order_by(Staff.username)
        .run()
    )
    for row in rows:  # whether, never what: the secret stays in the database
        row["otp_on"] = bool(row.pop("otp_secret"))
    return rows


async def authenticate(guard: LoginGuard, username: str, password: str, network: str) -> Verified:
    """Check a login's password and return the account it opens (``Verified``).

    Raises ``LoginThrottled`` before checking anything while this network is locked out
    of the account, else ``LoginFailed`` on a wrong username or password (counted). While
    the whole account is locked only an account with a second factor gets past the
    password (``Verified.otp``), and every other answer is the lock's, so a locked name
    says nothing of its password or of whether it exists. The caller asks for the second
    factor, then ends with ``signed_in``. The slow hash runs in a worker thread so the
    event loop keeps serving.
    """
    username = username.strip()[:100]
    standing = await guard.standing(username, network)
    row = (
        await Staff.select(
            Staff.id,
            Staff.password,
            Staff.active,
            Staff.otp_secret,
            Staff.bureau.retired_at.as_alias("retired"),
        )
        .where(Staff.username == username)
        .first()
        .run()
    )
    stored = row["password"] if row else None
    ok = False
    if stored and len(password) <= Staff._max_password_length:
        _, iterations, salt, _ = Staff.split_stored_password(stored)
        candidate = await anyio.to_thread.run_sync(
            Staff.hash_password, password, salt, int(iterations)
        )
        ok = hmac.compare_digest(candidate, stored)
    elif len(password) <= Staff._max_password_length:
        # Same work for an unknown user, so timing does not reveal which names exist.
        await anyio.to_thread.run_sync(Staff.hash_password, password)
    ok = ok and row is not None and row["active"] and row["retired"] is None
    if not ok:
        await guard.failed(username, network)
    if standing.account_locked is not None and not (ok and row["otp_secret"]):
        raise LoginThrottled(standing.account_locked)
    if not ok:
        raise LoginFailed
    return Verified(row["id"], bool(row["otp_secret"]))


@dataclass(frozen=True)
class Verified:
    """A login whose password was right: the account, and whether it has a second factor."""

    staff_id: int
    otp: bool


@dataclass(frozen=True)
class LoginNotice:
    """What the owner is told at login: the previous login's time and network, the
    failed attempts since, and the locks put on the account since."""

    previous_at: dt.datetime | None
    previous_network: str
    failures: int
    locks: list[dict]

    def lines(self) -> list[str]:
        """The notice as sentences (zh-CN)."""
        said = []
        if self.previous_at is not None:
            at = self.previous_at
            at = (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(BEIJING)
            where = f"，网络 {self.previous_network}" if self.previous_network else ""
            said.append(f"上次登录：{at:%Y-%m-%d %H:%M}{where}。")
        else:
            said.append("这是本账号的首次登录。")
        said.append(f"此后登录失败 {self.failures} 次。")
        if self.locks:
            networks = "、".join(lock["network"] or "全部网络" for lock in self.locks)
            said.append(
                f"期间因多次登录失败，账号曾被临时锁定（{networks}）。"
                "如非本人操作，请修改密码并告知管理员。"
            )
        return said


async def signed_in(guard: LoginGuard, staff_id: int, network: str) -> LoginNotice:
    """Record a completed login (the time and network, failures cleared) and return what
    the owner is told of the time since the previous one."""
    from portal.lockout import locks_since

    row = (
        await Staff.select(
            Staff.username, Staff.last_login, Staff.last_login_network, Staff.failed_logins
        )
        .where(Staff.id == staff_id)
        .first()
        .run()
    )
    notice = LoginNotice(
        row["last_login"],
        row["last_login_network"],
        row["failed_logins"],
        await locks_since(row["username"], row["last_login"]),
    )
    # Piccolo's column is a naive timestamp: store UTC, pages show it in local time.
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    await (
        Staff.update(
            {Staff.last_login: now, Staff.last_login_network: network[:64], Staff.failed_logins: 0}
        )
        .where(Staff.id == staff_id)
        .run()
    )
    await guard.succeeded(row["username"], network)
    return notice
