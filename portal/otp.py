"""The staff's second factor (等保 2.0: two kinds of authentication for administrators):
TOTP codes from an authenticator app (RFC 6238, ``pyotp``), enrolled by scanning a QR
code, and ten one-time recovery codes kept only as hashes.

Required for administrators and auditors in production (``PORTAL_ENV=production``), for
every staff account with ``PORTAL_OTP_ALL_STAFF``; optional elsewhere (development, the
demo). An administrator may reset an account's second factor (audited); its owner then
enrols again. Its owner may replace the recovery codes (with a current code from the
app), e.g. when few are left.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pyotp

from portal import audit
from portal.audit import Actor
from portal.bureaus import bureau_ids_within
from portal.db import write_transaction
from portal.errors import NotFound
from portal.settings import Settings
from portal.stores import StateStore
from portal.tables import Role, Staff

RECOVERY_CODES = 10
ISSUER = "枫桥式评选平台"
# A code is accepted one 30-second step early or late (the phone's clock may drift).
VALID_WINDOW = 1
NEEDED_BY = (Role.city_admin, Role.auditor)


def required(settings: Settings, role: Role | str) -> bool:
    """Whether an account of ``role`` must sign in with a second factor here."""
    if not settings.production:
        return False
    return settings.otp_all_staff or Role(role) in NEEDED_BY


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """What the enrolment QR code holds (``otpauth://totp/…``)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def _digits(code: str) -> str:
    return "".join(c for c in code if not c.isspace())


def code_matches(secret: str, code: str) -> bool:
    """Whether ``code`` is the current TOTP code of ``secret`` (or a step either side)."""
    code = _digits(code)
    return (
        len(code) == 6
        and code.isdigit()
        and pyotp.TOTP(secret).verify(code, valid_window=VALID_WINDOW)
    )


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().lower().replace("-", "").encode()).hexdigest()


def new_recovery_codes() -> tuple[list[str], list[str]]:
    """Ten fresh recovery codes (``xxxxx-xxxxx``, 50 random bits each) and their hashes."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes, [_hash(code) for code in codes]


async def enrol(staff_id: int, secret: str, code: str) -> list[str] | None:
    """Turn the second factor on once ``code`` proves the app holds ``secret``; the
    recovery codes to show once (``None``: the code was wrong)."""
    if not code_matches(secret, code):
        return None
    codes, hashes = new_recovery_codes()
    async with write_transaction():
        row = (
            await Staff.select(Staff.username, Staff.role).where(Staff.id == staff_id).first().run()
        )
        await (
            Staff.update({Staff.otp_secret: secret, Staff.otp_recovery: hashes})
            .where(Staff.id == staff_id)
            .run()
        )
        await audit.record(
            Actor(staff_id=staff_id, name=row["username"], role=row["role"]),
            "staff.otp_enrol",
            ("staff", staff_id),
            label=row["username"],
        )
    return codes


async def verify(store: StateStore, staff_id: int, code: str) -> bool:
    """Whether ``code`` is the account's current TOTP code, used for the first time, or
    one of its unused recovery codes (then used up)."""
    row = await Staff.select(Staff.otp_secret).where(Staff.id == staff_id).first().run()
    if row is None or not row["otp_secret"]:
        return False
    typed = _digits(code)
    if typed.isdigit() and len(typed) == 6:
        return await _fresh_code(store, staff_id, row["otp_secret"], typed)
    return await _use_recovery(staff_id, typed)


async def _fresh_code(store: StateStore, staff_id: int, secret: str, code: str) -> bool:
    """Whether ``code`` is the current TOTP code of ``secret``, seen for the first time:
    a code seen (by a shoulder or a proxy) cannot be replayed within its window."""
    if not code_matches(secret, code):
        return False
    return await store.set_if_absent(f"otp-used:{staff_id}:{code}", "1", expires_in=120)


async def regenerate_recovery(store: StateStore, staff_id: int, code: str) -> list[str] | None:
    """Ten new recovery codes in place of the account's unused ones (audited), once
    ``code`` proves the owner holds the authenticator app: a recovery code does not do.
    ``None``: no second factor, or the code was wrong or used already."""
    row = (
        await Staff.select(Staff.username, Staff.role, Staff.otp_secret)
        .where(Staff.id == staff_id)
        .first()
        .run()
    )
    if row is None or not row["otp_secret"]:
        return None
    if not await _fresh_code(store, staff_id, row["otp_secret"], _digits(code)):
        return None
    codes, hashes = new_recovery_codes()
    async with write_transaction():
        before = await recovery_left(staff_id)
        await Staff.update({Staff.otp_recovery: hashes}).where(Staff.id == staff_id).run()
        await audit.record(
            Actor(staff_id=staff_id, name=row["username"], role=row["role"]),
            "staff.otp_recovery_renew",
            ("staff", staff_id),
            label=row["username"],
            before={"recovery_left": before},
            after={"recovery_left": len(codes)},
        )
    return codes


async def _use_recovery(staff_id: int, code: str) -> bool:
    wanted = _hash(code)
    async with write_transaction():
        row = await _recovery_of(staff_id)
        left = list(row["otp_recovery"] or []) if row else []
        match = next((h for h in left if hmac.compare_digest(h, wanted)), None)
        if match is None:
            return False
        left.remove(match)
        await Staff.update({Staff.otp_recovery: left}).where(Staff.id == staff_id).run()
    return True


async def _recovery_of(staff_id: int) -> dict | None:
    return (
        await Staff.select(Staff.otp_recovery)
        .where(Staff.id == staff_id)
        .output(load_json=True)
        .first()
        .run()
    )


async def recovery_left(staff_id: int) -> int:
    row = await _recovery_of(staff_id)
    return len(row["otp_recovery"] or []) if row else 0


async def reset(actor: Actor, username: str, within: int | None = None) -> Staff:
    """Turn an account's second factor off (audited): its owner enrols again. With
    ``within`` only an account of that bureau or one below it exists."""
    async with write_transaction():
        staff = await Staff.objects().where(Staff.username == username).first().run()
        if staff is None or (
            within is not None and staff.bureau not in await bureau_ids_within(within)
        ):
            raise NotFound("找不到该账号。")
        had = bool(staff.otp_secret)
        await (
            Staff.update({Staff.otp_secret: "", Staff.otp_recovery: []})
            .where(Staff.id == staff.id)
            .run()
        )
        await audit.record(
            actor,
            "staff.otp_reset",
            staff,
            before={"second_factor": had},
            after={"second_factor": False},
        )
    return staff
