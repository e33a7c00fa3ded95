"""Revoking a designation (撤销命名) and, rarely, undoing a revocation.

A revocation keeps the register's row: ``revoked_on``, ``revocation_reason`` and
``revoked_by`` are set, the status reads "revoked" from then on, and the register, the
certificate check and the honour list of its year show it with its date and reason
(never erased). Only the organiser's own administrators revoke — the bureau that
designated is the one that may take the title back — and the command line (demo,
maintenance). A revoked designation cannot be revoked again; a revocation is undone
only with a reason, and both are in the audit log with the state before and after.

Each change is one write transaction, guarded by a conditional update (``revoked_on``
still empty, or still set), so two administrators revoking at once give one revocation
and one clear refusal.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from nominations.tables import Nomination
from portal import audit
from portal.accounts import StaffUser
from portal.audit import Actor
from portal.db import write_transaction
from portal.errors import Conflict, Invalid, NotFound
from portal.tables import Role, Staff
from results.register import status_of, today_in
from results.tables import Designation

MAX_REASON = 1000
NOT_FOUND = "找不到该命名记录。"


def chinese_day(day: dt.date) -> str:
    """2024年3月20日."""
    return f"{day.year}年{day.month}月{day.day}日"


def clean_reason(reason: str | None, what: str = "撤销命名的理由") -> str:
    """The reason as typed, or ``Invalid`` saying what is missing (it is published and
    audited, so it must say something)."""
    text = (reason or "").strip().replace("\r\n", "\n")
    if not text:
        raise Invalid(f"请填写{what}。", {"reason": f"请填写{what}。"})
    if len(text) < 4:
        raise Invalid(f"{what}过于简单，请写明事实和依据。", {"reason": "请写明事实和依据。"})
    if len(text) > MAX_REASON:
        message = f"{what}不能超过 {MAX_REASON} 字（现有 {len(text)} 字）。"
        raise Invalid(message, {"reason": message})
    return text


def _as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    return value


async def may_manage(actor: Actor, organiser_id: int) -> bool:
    """Whether ``actor`` may revoke or reinstate a designation of ``organiser_id``: an
    administrator of that very bureau, or the command line."""
    if actor.staff_id is None:
        return True
    row = (
        await Staff.select(Staff.role, Staff.bureau, Staff.active)
        .where(Staff.id == actor.staff_id)
        .first()
        .run()
    )
    return bool(
        row
        and row["active"]
        and row["role"] == Role.city_admin.value
        and row["bureau"] == organiser_id
    )


async def _managed(actor: Actor, designation_id: int) -> Designation:
    designation = await Designation.objects().where(Designation.id == designation_id).first().run()
    if designation is None or not await may_manage(actor, designation.organiser):
        raise NotFound(NOT_FOUND)
    return designation


async def _label(designation: Designation) -> str:
    row = (
        await Nomination.select(Nomination.name)
        .where(Nomination.id == designation.candidate)
        .first()
        .run()
    )
    return f"{designation.certificate_no} {row['name'] if row else ''}".strip()


def _state(designation: Designation, today: dt.date) -> dict[str, Any]:
    revoked_on = _as_date(designation.revoked_on)
    return {
        "status": status_of(_as_date(designation.valid_until), revoked_on, today),
        "revoked_on": revoked_on,
        "revocation_reason": designation.revocation_reason or "",
    }


async def apply_revocation(
    actor: Actor,
    designation: Designation,
    reason: str,
    on: dt.date,
    *,
    via: dict[str, Any] | None = None,
) -> Designation:
    """Inside a write transaction: revoke ``designation`` (already scoped and checked),
    audited. ``via`` is what decided it (a re-check's verdict), kept in the entry."""
    today = today_in()
    before = _state(designation, today)
    done = (
        await Designation.update(
            {
                Designation.revoked_on: on,
                Designation.revocation_reason: reason,
                Designation.revoked_by: actor.staff_id,
            }
        )
        .where((Designation.id == designation.id) & Designation.revoked_on.is_null())
        .returning(Designation.id)
        .run()
    )
    if not done:
        raise Conflict("该称号已被撤销，不能重复撤销。")
    designation.revoked_on, designation.revocation_reason = on, reason
    designation.revoked_by = actor.staff_id
    after = _state(designation, today)
    if via:
        after["via"] = via
    await audit.record(
        actor,
        "designation.revoke",
        ("designation", designation.id),
        before=before,
        after=after,
        label=await _label(designation),
    )
    return designation


def check_day(designation: Designation, on: dt.date | None) -> dt.date:
    """The revocation's date: today if not given; never before the designation, never
    in the future."""
    today = today_in()
    on = on or today
    designated_on = _as_date(designation.designated_on)
    if on > today:
        raise Invalid("撤销日期不能晚于今天。", {"on": "撤销日期不能晚于今天。"})
    if designated_on and on < designated_on:
        message = f"撤销日期不能早于命名日期（{chinese_day(designated_on)}）。"
        raise Invalid(message, {"on": message})
    return on


def refuse_revoked(designation: Designation) -> None:
    revoked_on = _as_date(designation.revoked_on)
    if revoked_on is not None:
        raise Conflict(f"该称号已于{chinese_day(revoked_on)}撤销，不能重复撤销。")


async def revoke(
    actor: Actor, designation_id: int, reason: str, on: dt.date | None = None
) -> Designation:
    """Revoke a designation (撤销命名) on ``on`` (default today, Beijing time) with a
    published reason. Only the organiser's administrators (else ``NotFound``); a revoked
    designation is refused (``Conflict``); audited with the state before and after."""
    reason = clean_reason(reason)
    async with write_transaction():
        designation = await _managed(actor, designation_id)
        refuse_revoked(designation)
        on = check_day(designation, on)
        return await apply_revocation(actor, designation, reason, on)


async def reinstate(actor: Actor, designation_id: int, reason: str) -> Designation:
    """Undo a revocation (恢复命名), only with a reason: the title is valid again for the
    rest of its term. The revocation's date and reason stay in the audit log."""
    reason = clean_reason(reason, "恢复命名的理由")
    async with write_transaction():
        designation = await _managed(actor, designation_id)
        if designation.revoked_on is None:
            raise Conflict("该称号未被撤销，无需恢复。")
        today = today_in()
        before = _state(designation, today)
        done = (
            await Designation.update(
                {
                    Designation.revoked_on: None,
                    Designation.revocation_reason: "",
                    Designation.revoked_by: None,
                }
            )
            .where((Designation.id == designation.id) & Designation.revoked_on.is_not_null())
            .returning(Designation.id)
            .run()
        )
        if not done:
            raise Conflict("该称号未被撤销，无需恢复。")
        designation.revoked_on, designation.revocation_reason = None, ""
        designation.revoked_by = None
        await audit.record(
            actor,
            "designation.reinstate",
            ("designation", designation.id),
            before=before,
            after={**_state(designation, today), "reason": reason},
            label=await _label(designation),
        )
        return designation


# --- what the staff pages read -------------------------------------------------------------


async def organisers_of(user: StaffUser) -> list[int]:
    """The organisers whose designations ``user`` sees on the staff pages: an
    administrator's own bureau; an auditor's bureau and those above it."""
    from portal.campaigns import organisers_seen_by

    return await organisers_seen_by(user)


async def designation_for(user: StaffUser, designation_id: int) -> Designation:
    """A designation the administrator or auditor may see, or ``NotFound``."""
    designation = await Designation.objects().where(Designation.id == designation_id).first().run()
    if designation is None or designation.organiser not in await organisers_of(user):
        raise NotFound(NOT_FOUND)
    return designation
