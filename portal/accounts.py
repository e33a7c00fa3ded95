"""Staff accounts: creation, password checks and login throttling."""

from __future__ import annotations

import datetime as dt
import hmac
import math
import time
from dataclasses import dataclass

import anyio.to_thread
from limits import RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from portal import audit
from portal.audit import Actor
from portal.bureaus import bureau_ids_within
from portal.db import unique_or, write_transaction
from portal.errors import Invalid, NotFound, RateLimited
from portal.tables import Bureau, BureauLevel, Role, Staff
from portal.text import line_error

MIN_PASSWORD_LENGTH = 8

# Failed logins allowed per window before further attempts are refused.
FAILED_LOGINS_PER_ACCOUNT = RateLimitItemPerMinute(5, 15)
FAILED_LOGINS_PER_NETWORK = RateLimitItemPerMinute(20, 15)


class AccountError(Invalid):
    """An account cannot be created as asked; the message says why (zh-CN)."""


class LoginFailed(Invalid):
    """Wrong username or password, or an inactive account (never saying which)."""

    def __init__(self) -> None:
        super().__init__("用户名或密码不正确。")


class LoginThrottled(RateLimited):
    """Too many failed attempts; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(f"登录失败次数过多，已暂时锁定。请 {minutes} 分钟后再试。", retry_after)


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


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符。")
    if len(password) > Staff._max_password_length:
        raise AccountError(f"密码不能超过 {Staff._max_password_length} 个字符。")
    if password.isdigit():
        raise AccountError("密码不能全是数字。")


async def create_staff(
    username: str,
    password: str,
    role: Role | str,
    bureau_name: str | None = None,
    display_name: str = "",
    actor: Actor | None = None,
    within: int | None = None,
) -> Staff:
    """Create an active staff account, checking that its role fits its bureau.

    An administrator belongs to a bureau that may run campaigns (a province, city or
    county; default: the top bureau), a clerk to a bureau that nominates to its parent's
    campaigns (required); reviewers and auditors to any bureau (default: the top
    bureau). With ``within`` (an administrator's bureau, on the staff pages) the bureau
    must be that one or below it. With an ``actor`` the creation is audited.
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
    check_password(password)
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
    return (
        await Staff.select(
            Staff.id,
            Staff.username,
            Staff.display_name,
            Staff.role,
            Staff.active,
            Staff.last_login,
            Staff.bureau.name.as_alias("bureau_name"),
            Staff.bureau.position.as_alias("bureau_position"),
        )
        .where(Staff.bureau.is_in(list(await bureau_ids_within(within))))
        .order_by(Staff.bureau.position)
        .order_by(Staff.role)
        .order_by(Staff.username)
        .run()
    )


class LoginGuard:
    """Counts failed logins per account and per client network (moving windows)."""

    def __init__(self, storage: Storage) -> None:
        self._limiter = MovingWindowRateLimiter(storage)

    async def _retry_after(self, item: RateLimitItemPerMinute, key: str) -> int | None:
        if await self._limiter.test(item, "login", key):
            return None
        stats = await self._limiter.get_window_stats(item, "login", key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def check(self, username: str, network: str) -> None:
        """Raise ``LoginThrottled`` when the account or the network is locked."""
        for item, key in (
            (FAILED_LOGINS_PER_ACCOUNT, f"user:{username.lower()}"),
            (FAILED_LOGINS_PER_NETWORK, f"net:{network}"),
        ):
            retry_after = await self._retry_after(item, key)
            if retry_after is not None:
                raise LoginThrottled(retry_after)

    async def failed(self, username: str, network: str) -> None:
        await self._limiter.hit(FAILED_LOGINS_PER_ACCOUNT, "login", f"user:{username.lower()}")
        await self._limiter.hit(FAILED_LOGINS_PER_NETWORK, "login", f"net:{network}")


async def authenticate(guard: LoginGuard, username: str, password: str, network: str) -> int:
    """Check a login attempt and return the staff id.

    Raises ``LoginThrottled`` before checking anything while locked, else
    ``LoginFailed`` on a wrong username or password (counted against both limits).
    The slow hash runs in a worker thread so the event loop keeps serving.
    """
    username = username.strip()[:100]
    await guard.check(username, network)
    row = (
        await Staff.select(
            Staff.id, Staff.password, Staff.active, Staff.bureau.retired_at.as_alias("retired")
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
    if not ok or not row["active"] or row["retired"] is not None:
        await guard.failed(username, network)
        raise LoginFailed
    # Piccolo's column is a naive timestamp: store UTC, pages show it in local time.
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    await Staff.update({Staff.last_login: now}).where(Staff.id == row["id"]).run()
    return row["id"]
