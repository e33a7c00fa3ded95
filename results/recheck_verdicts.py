"""The organiser's verdict on each designee of a re-check (复核结论).

合格 and 限期整改 need the bureau's report; 限期整改 names a deadline and what must be
put right, and later the follow-up (整改情况) with its verdict: 合格, or 撤销. 撤销 —
at once or after a failed rectification — needs a reason and, on the pages, a
confirmation step; it revokes the designation (``results.revocation``) in the same
transaction. Only the organiser's administrators decide; every verdict is audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from portal import audit
from portal.audit import Actor
from portal.clock import utc_now
from portal.db import write_transaction
from portal.errors import Conflict, Invalid, NotFound, Refused
from results import revocation
from results.rechecks import ITEM_NOT_FOUND, MAX_NOTE, for_update, local_day, parse_day
from results.tables import Designation, Recheck, RecheckItem, RecheckVerdict

PASSED, RECTIFY, REVOKED = (
    RecheckVerdict.passed.value,
    RecheckVerdict.rectify.value,
    RecheckVerdict.revoked.value,
)


def _note(raw: Any, label: str, *, required: bool) -> str:
    text = str(raw or "").strip().replace("\r\n", "\n")
    if required and not text:
        raise Invalid(f"请填写{label}。", {"note": f"请填写{label}。"})
    if len(text) > MAX_NOTE:
        message = f"{label}不能超过 {MAX_NOTE} 字（现有 {len(text)} 字）。"
        raise Invalid(message, {"note": message})
    return text


async def _managed_item(actor: Actor, recheck_id: int, item_id: int) -> tuple[Recheck, RecheckItem]:
    recheck = await Recheck.objects().where(Recheck.id == recheck_id).first().run()
    item = await for_update(
        RecheckItem.objects().where(
            (RecheckItem.id == item_id) & (RecheckItem.recheck == recheck_id)
        )
    ).first()
    if recheck is None or item is None or not await revocation.may_manage(actor, recheck.organiser):
        raise NotFound(ITEM_NOT_FOUND)
    return recheck, item


def _state(item: RecheckItem) -> dict[str, Any]:
    return {
        "verdict": item.verdict,
        "verdict_note": item.verdict_note,
        "rectify_by": item.rectify_by,
        "followup": item.followup,
        "followup_verdict": item.followup_verdict,
    }


async def decide(
    actor: Actor,
    recheck_id: int,
    item_id: int,
    verdict: str,
    note: str = "",
    rectify_by: Any = None,
    now: dt.datetime | None = None,
) -> RecheckItem:
    """合格 (``passed``, a note optional) or 限期整改 (``rectify``: a deadline after
    today and the demand) on a reported designee awaiting its verdict. 撤销 goes
    through ``revoke_item``."""
    now = now or utc_now()
    if verdict not in (PASSED, RECTIFY):
        raise Invalid("请选择复核结论：合格或限期整改（撤销命名须另行确认）。")
    label = "整改要求" if verdict == RECTIFY else "复核意见"
    note = _note(note, label, required=verdict == RECTIFY)
    deadline = None
    if verdict == RECTIFY:
        deadline = parse_day(rectify_by, "整改期限", "rectify_by")
        if deadline <= local_day(now):
            raise Invalid("整改期限须晚于今天。", {"rectify_by": "整改期限须晚于今天。"})
    async with write_transaction():
        recheck, item = await _managed_item(actor, recheck_id, item_id)
        if item.verdict != RecheckVerdict.pending.value:
            raise Conflict("该对象已作出复核结论。")
        if item.reported_at is None:
            raise Refused("推荐单位尚未报送复核报告，不能作出合格或限期整改的结论。")
        before = _state(item)
        item.verdict, item.verdict_note, item.rectify_by = verdict, note, deadline
        item.decided_at, item.decided_by = now, actor.staff_id
        await item.save(
            [
                RecheckItem.verdict,
                RecheckItem.verdict_note,
                RecheckItem.rectify_by,
                RecheckItem.decided_at,
                RecheckItem.decided_by,
            ]
        ).run()
        await audit.record(
            actor,
            f"recheck.{verdict}",
            ("recheck_item", item.id),
            before=before,
            after=_state(item),
            label=recheck.title,
        )
    return item


async def follow_up(
    actor: Actor,
    recheck_id: int,
    item_id: int,
    note: str,
    now: dt.datetime | None = None,
) -> RecheckItem:
    """Close a 限期整改 as rectified: what was put right (required), verdict 合格.
    A failed rectification is revoked through ``revoke_item``."""
    now = now or utc_now()
    note = _note(note, "整改情况", required=True)
    async with write_transaction():
        recheck, item = await _managed_item(actor, recheck_id, item_id)
        if item.verdict != RECTIFY or item.followup_verdict:
            raise Conflict("该对象不在整改中，不能登记整改结果。")
        before = _state(item)
        item.followup, item.followup_verdict, item.followup_at = note, PASSED, now
        await item.save(
            [RecheckItem.followup, RecheckItem.followup_verdict, RecheckItem.followup_at]
        ).run()
        await audit.record(
            actor,
            "recheck.rectified",
            ("recheck_item", item.id),
            before=before,
            after=_state(item),
            label=recheck.title,
        )
    return item


def revocable(item: RecheckItem) -> bool:
    """Whether the item may still end in 撤销: awaiting its verdict, or in rectification."""
    return item.verdict == RecheckVerdict.pending.value or (
        item.verdict == RECTIFY and not item.followup_verdict
    )


async def revoke_item(
    actor: Actor,
    recheck_id: int,
    item_id: int,
    reason: str,
    on: dt.date | None = None,
    now: dt.datetime | None = None,
) -> RecheckItem:
    """撤销: the re-check's verdict (or a failed rectification's) and the designation's
    revocation on ``on`` (default today) with the published ``reason``, together."""
    now = now or utc_now()
    reason = revocation.clean_reason(reason)
    async with write_transaction():
        recheck, item = await _managed_item(actor, recheck_id, item_id)
        if not revocable(item):
            raise Conflict("该对象已作出复核结论，不能撤销命名。")
        designation = (
            await Designation.objects().where(Designation.id == item.designation).first().run()
        )
        revocation.refuse_revoked(designation)
        on = revocation.check_day(designation, on or local_day(now))
        before = _state(item)
        if item.verdict == RECTIFY:
            item.followup, item.followup_verdict, item.followup_at = reason, REVOKED, now
        else:
            item.verdict, item.verdict_note = REVOKED, reason
            item.decided_at, item.decided_by = now, actor.staff_id
        await item.save(
            [
                RecheckItem.verdict,
                RecheckItem.verdict_note,
                RecheckItem.decided_at,
                RecheckItem.decided_by,
                RecheckItem.followup,
                RecheckItem.followup_verdict,
                RecheckItem.followup_at,
            ]
        ).run()
        # One audit entry for the one decision: the revocation, naming the re-check.
        await revocation.apply_revocation(
            actor,
            designation,
            reason,
            on,
            via={"recheck": recheck.id, "item": item.id, "before": before, "after": _state(item)},
        )
    return item
