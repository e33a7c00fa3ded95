"""Failed staff logins (等保 2.0 登录失败处理) without a way to keep an official out.

Five failures for an account from one network lock that network out of that account for
``PORTAL_LOGIN_LOCK_MINUTES``; five failures for an account from anywhere make its login
form ask for a CAPTCHA; locks from ``NETWORKS_FOR_ACCOUNT_LOCK`` networks lock the whole
account, except for a login that passes the second factor. So an outsider's guesses
from elsewhere never keep the owner out of their own network, and never keep out an
owner with a second factor at all. A network that fails for many names is throttled as
a whole. Counters live in the shared store (every server process sees them), locks in
the database (an administrator sees and lifts them; the owner is told at the next login).
Counters and locks are kept by the name typed, so a name without an account is treated
alike: nothing here tells whether an account exists.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from piccolo.columns.combination import WhereRaw

from portal import audit
from portal.audit import Actor
from portal.bureaus import bureau_ids_within
from portal.clock import utc_now
from portal.db import write_transaction
from portal.errors import NotFound, RateLimited
from portal.stores import StateStore
from portal.tables import LoginLock, Staff

FAILURES_BEFORE_LOCK = 5  # per account and network
FAILURES_BEFORE_CAPTCHA = 5  # per account, from any network
NETWORKS_FOR_ACCOUNT_LOCK = 3  # networks locked out of an account before it is locked
FAILURES_PER_NETWORK = 20  # per network, for any names: a network guessing names


class LoginThrottled(RateLimited):
    """Locked out for now; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(f"登录失败次数过多，已暂时锁定。请 {minutes} 分钟后再试。", retry_after)


@dataclass(frozen=True)
class Standing:
    """What the guard says of a login attempt before the password is checked."""

    captcha: bool  # the form must carry a correct CAPTCHA
    account_locked: int | None  # seconds left of an account-wide lock, if any


def _name(username: str) -> str:
    # Case and spaces make no fresh key: "CLERK" counts against "clerk".
    return username.strip().lower()[:100]


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class LoginGuard:
    """Counts failed logins in the shared store and keeps the locks they lead to."""

    def __init__(self, store: StateStore, lock_minutes: int = 15) -> None:
        self.store = store
        self.lock_minutes = lock_minutes

    @property
    def window(self) -> int:
        return self.lock_minutes * 60

    async def _active_locks(self, username: str) -> list[dict]:
        return (
            await LoginLock.select(LoginLock.id, LoginLock.network, LoginLock.until)
            .where(
                (LoginLock.username == _name(username))
                & (LoginLock.until > utc_now())
                & LoginLock.lifted_at.is_null()
            )
            .run()
        )

    async def standing(self, username: str, network: str) -> Standing:
        """Raise ``LoginThrottled`` when this network is locked out of the account (or
        throttled for guessing names); else whether a CAPTCHA is needed and whether the
        whole account is locked."""
        name = _name(username)
        net_failures, account_failures = await self.store.get_many(
            [f"login:net:{network}", f"login:fail:{name}"]
        )
        if int(net_failures or 0) >= FAILURES_PER_NETWORK:
            left = await self.store.expires_in(f"login:net:{network}")
            raise LoginThrottled(left or self.window)
        account_left = None
        now = utc_now()
        for lock in await self._active_locks(name):
            left = max(1, math.ceil((_aware(lock["until"]) - now).total_seconds()))
            if lock["network"] == network:
                raise LoginThrottled(left)
            if lock["network"] == "":
                account_left = max(account_left or 0, left)
        return Standing(
            captcha=int(account_failures or 0) >= FAILURES_BEFORE_CAPTCHA,
            account_locked=account_left,
        )

    async def captcha_needed(self, username: str) -> bool:
        """Whether the login form must carry a CAPTCHA for this name."""
        failures = await self.store.get(f"login:fail:{_name(username)}")
        return int(failures or 0) >= FAILURES_BEFORE_CAPTCHA

    async def failed(self, username: str, network: str) -> None:
        """Count a failed attempt, locking the network (and the account) when due."""
        name = _name(username)
        window = self.window
        _, _, pair = await self.store.batch(
            [
                ("incr", f"login:net:{network}", 1, window),
                ("incr", f"login:fail:{name}", 1, window),
                ("incr", f"login:fail:{name}:{network}", 1, window),
            ]
        )
        await (
            Staff.update({Staff.failed_logins: Staff.failed_logins + 1})
            .where(Staff.username == name)
            .run()
        )
        if pair < FAILURES_BEFORE_LOCK:
            return
        async with write_transaction():
            locks = await self._active_locks(name)
            if any(lock["network"] == network for lock in locks):
                return
            await self._lock(name, network)
            networks = {lock["network"] for lock in locks} | {network}
            if "" not in networks and len(networks) >= NETWORKS_FOR_ACCOUNT_LOCK:
                await self._lock(name, "")

    async def _lock(self, name: str, network: str) -> None:
        until = utc_now() + dt.timedelta(minutes=self.lock_minutes)
        lock = LoginLock(username=name, network=network, until=until)
        await lock.save().run()
        staff = await _account_of(name)
        await audit.record(
            Actor(staff_id=None, name="系统", network=network),
            "staff.lock",
            ("staff", staff["id"] if staff else ""),
            label=name,
            after={"network": network or "全部网络", "until": until},
        )

    async def succeeded(self, username: str, network: str) -> None:
        """A login from ``network`` succeeded: its own failures are forgiven (not the
        account's other networks', nor its CAPTCHA, which expire with their window)."""
        await self.store.delete(f"login:fail:{_name(username)}:{network}")

    async def lift(self, actor: Actor, lock_id: int, within: int | None = None) -> dict:
        """End a lock early (audited); with ``within`` only a lock of an account of that
        bureau or one below it exists."""
        async with write_transaction():
            lock = await LoginLock.objects().where(LoginLock.id == lock_id).first().run()
            staff = None
            if lock is not None:
                staff = await _account_of(lock.username)
            if (
                lock is None
                or lock.lifted_at is not None
                or staff is None
                or (within is not None and staff["bureau"] not in await bureau_ids_within(within))
            ):
                raise NotFound("找不到该锁定记录。")
            lock.lifted_at = utc_now()
            lock.lifted_by = actor.name[:100]
            await lock.save([LoginLock.lifted_at, LoginLock.lifted_by]).run()
            await audit.record(
                actor,
                "staff.unlock",
                ("staff", staff["id"]),
                label=lock.username,
                before={"network": lock.network or "全部网络", "until": lock.until},
            )
        keys = [f"login:fail:{lock.username}:{lock.network}"]
        if not lock.network:
            keys.append(f"login:fail:{lock.username}")
        for key in keys:
            await self.store.delete(key)
        return {"username": lock.username, "network": lock.network}


async def _account_of(name: str) -> dict | None:
    """The account a lock's (lower-cased) name stands for, if any."""
    return (
        await Staff.select(Staff.id, Staff.username, Staff.bureau)
        .where(WhereRaw("lower(username) = {}", name))
        .first()
        .run()
    )


async def list_locks(within: int) -> list[dict]:
    """The locks in force on the accounts of the bureau ``within`` and those below it."""
    rows = (
        await LoginLock.select(
            LoginLock.id,
            LoginLock.username,
            LoginLock.network,
            LoginLock.locked_at,
            LoginLock.until,
        )
        .where((LoginLock.until > utc_now()) & LoginLock.lifted_at.is_null())
        .order_by(LoginLock.locked_at, ascending=False)
        .run()
    )
    if not rows:
        return []
    accounts = {
        row["username"].lower(): row
        for row in await Staff.select(Staff.username, Staff.display_name)
        .where(Staff.bureau.is_in(list(await bureau_ids_within(within))))
        .run()
    }
    return [
        {**row, "display_name": accounts[row["username"]]["display_name"]}
        for row in rows
        if row["username"] in accounts
    ]


async def locks_since(username: str, since: dt.datetime | None) -> list[dict]:
    """The locks put on this account since ``since`` (its previous login), for telling
    its owner."""
    query = LoginLock.select(LoginLock.network, LoginLock.locked_at).where(
        LoginLock.username == _name(username)
    )
    if since is not None:
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        query = query.where(LoginLock.locked_at > since)
    return await query.order_by(LoginLock.locked_at).run()
