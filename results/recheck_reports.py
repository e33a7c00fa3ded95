"""A nominating bureau's report on one designee in a re-check (复核报告).

The clerk of the designee's nominating bureau files the year's figures (the nomination
form's "record" fields, checked as that form checks them), a statement and optional
PDF evidence (checked by content before this is called, as nomination documents are).
A report may be amended until the organiser's verdict; the first filing after the
deadline is accepted and marked late, and stays so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from nominations import fields as nomination_fields
from portal import audit
from portal.accounts import StaffUser
from portal.audit import Actor
from portal.clock import utc_now
from portal.db import write_transaction
from portal.errors import Invalid, NotFound, Refused
from portal.tables import Role
from results import revocation
from results.rechecks import (
    ITEM_NOT_FOUND,
    MAX_STATEMENT,
    for_update,
    loaded,
    local_day,
    record_fields,
)
from results.tables import (
    Designation,
    Recheck,
    RecheckEvidence,
    RecheckItem,
    RecheckVerdict,
)

MAX_EVIDENCE = 10


def check_report(kind: str, values: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The report's figures and statement, or ``Invalid`` with the field errors."""
    keys = [f.key for f in record_fields(kind)]
    cleaned, errors = nomination_fields.clean(kind, {k: values.get(k) for k in keys})
    errors = {k: v for k, v in errors.items() if k in keys}
    figures = {k: cleaned.get(k) for k in keys}
    for f in record_fields(kind):
        if f.required and figures.get(f.key) is None and f.key not in errors:
            errors[f.key] = f"请填写{f.label.split('（')[0]}。"
    statement = str(values.get("statement") or "").strip().replace("\r\n", "\n")
    if not statement:
        errors["statement"] = "请填写年度工作情况说明。"
    elif len(statement) > MAX_STATEMENT:
        errors["statement"] = f"情况说明不能超过 {MAX_STATEMENT} 字（现有 {len(statement)} 字）。"
    if errors:
        raise Invalid("报告有误，请按提示修改后再报送。", errors)
    return figures, statement


async def file_report(
    actor: Actor,
    user: StaffUser,
    recheck_id: int,
    item_id: int,
    values: dict[str, Any],
    evidence: list[tuple[str, str, int]] | None = None,
    now: dt.datetime | None = None,
) -> RecheckItem:
    """File (or amend) the report on one designee: only the clerk of its nominating
    bureau, before the verdict. ``evidence`` are stored PDFs ``(name, filename, size)``
    to attach. Returns the item; ``item.late`` says whether it came after the deadline."""
    now = now or utc_now()
    evidence = evidence or []
    async with write_transaction():
        item = await for_update(
            RecheckItem.objects().where(
                (RecheckItem.id == item_id) & (RecheckItem.recheck == recheck_id)
            )
        ).first()
        if item is None or user.role is not Role.county_clerk or item.bureau != user.bureau_id:
            raise NotFound(ITEM_NOT_FOUND)
        if item.verdict != RecheckVerdict.pending.value:
            raise Refused("主办单位已作出复核结论，报告不能再修改。")
        designation = (
            await Designation.select(
                Designation.revoked_on, Designation.category.kind.as_alias("kind")
            )
            .where(Designation.id == item.designation)
            .first()
            .run()
        )
        if designation["revoked_on"] is not None:
            raise Refused("该称号已被撤销，无需报送复核报告。")
        figures, statement = check_report(designation["kind"], values)
        held = await RecheckEvidence.count().where(RecheckEvidence.item == item.id)
        if held + len(evidence) > MAX_EVIDENCE:
            raise Invalid(
                f"每份报告最多附 {MAX_EVIDENCE} 份证明材料（已有 {held} 份）。",
                {"evidence": f"每份报告最多附 {MAX_EVIDENCE} 份证明材料。"},
            )
        recheck = await Recheck.objects().where(Recheck.id == recheck_id).first().run()
        before = {
            "figures": loaded(item.figures),
            "statement": item.statement,
            "reported_at": item.reported_at,
        }
        first = item.reported_at is None
        if first:
            item.late = local_day(now) > revocation._as_date(recheck.deadline)
        item.figures = figures
        item.statement = statement
        item.reported_at = now
        item.reported_by = actor.staff_id
        await item.save(
            [
                RecheckItem.figures,
                RecheckItem.statement,
                RecheckItem.reported_at,
                RecheckItem.reported_by,
                RecheckItem.late,
            ]
        ).run()
        for stored, filename, size in evidence:
            await (
                RecheckEvidence(
                    item=item.id,
                    stored_name=stored,
                    filename=filename[:200],
                    size=size,
                    uploaded_at=now,
                    uploaded_by=actor.staff_id,
                )
                .save()
                .run()
            )
        await audit.record(
            actor,
            "recheck.report" if first else "recheck.report.amend",
            ("recheck_item", item.id),
            before=before,
            after={
                "figures": figures,
                "statement": statement,
                "late": item.late,
                "evidence": [name for _, name, _ in evidence],
            },
            label=recheck.title,
        )
    return item
