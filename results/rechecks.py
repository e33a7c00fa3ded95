"""Yearly re-checks (年度复核) of the designations in their term.

A re-check belongs to an organiser and a year, not to a campaign. Titles are held for
three years, so in any year an organiser holds designations from several campaigns (in
2024 those of 2022 and 2023), and a bureau re-checks them all with one notice, one
deadline and one set of reports from each nominating bureau — as a city bureau's
yearly 复核 does. The re-check of ``year`` covers every designation of the organiser
from a published campaign that is active on the day it opens and was made before
``year`` (a title designated in the year itself has not yet served a year). Opening
one is refused when the organiser has no published campaign at all ("a re-check cannot
be opened for a campaign that is not published") or nothing in its term to re-check;
one re-check per organiser and year (unique index).

Each designee's nominating bureau files a short report: the year's figures (the
nomination's "record" fields), a statement and optional PDF evidence; it may amend it
until the verdict. A report filed first after the deadline is accepted and marked late.
The organiser marks each 合格, 限期整改 (a deadline and a demand, then a follow-up
note and a later verdict) or 撤销 (a reason, after a confirmation step: the
designation is revoked by ``results.revocation`` in the same transaction).
Everything is one write transaction and audited.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from nominations import fields as nomination_fields
from portal import audit
from portal.accounts import StaffUser
from portal.audit import Actor
from portal.campaigns import organisers_seen_by, zone
from portal.clock import utc_now
from portal.db import is_sqlite, unique_or, write_transaction
from portal.errors import Conflict, Invalid, NotFound, Refused
from portal.tables import Bureau, Campaign, Phase, Role
from portal.text import line_error
from results import revocation
from results.register import Entry, entries
from results.tables import (
    Designation,
    Recheck,
    RecheckEvidence,
    RecheckItem,
    RecheckVerdict,
)

TZ = "Asia/Shanghai"
MAX_STATEMENT = 2000
MAX_NOTE = 1000
MAX_INSTRUCTIONS = 2000
NOT_FOUND = "找不到该复核。"
ITEM_NOT_FOUND = "找不到该复核对象。"
FINAL = frozenset({RecheckVerdict.passed.value, RecheckVerdict.revoked.value})


def loaded(value: Any) -> dict[str, Any]:
    """A JSON column's value as a dict (Piccolo hands it over as text unless asked)."""
    if isinstance(value, str):
        value = json.loads(value or "{}")
    return value if isinstance(value, dict) else {}


def for_update(query: Any) -> Any:
    """The item read inside a write transaction, locked on PostgreSQL so two verdicts or
    reports on it queue (SQLite's ``IMMEDIATE`` writer already runs them one at a time)."""
    return query if is_sqlite() else query.lock_rows()


def local_day(now: dt.datetime | None = None) -> dt.date:
    return (now or utc_now()).astimezone(zone(TZ)).date()


def parse_day(raw: Any, label: str, key: str) -> dt.date:
    text = str(raw or "").strip()
    if not text:
        raise Invalid(f"请填写{label}。", {key: f"请填写{label}。"})
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        message = f"{label}格式不正确，请按“2024-03-31”填写。"
        raise Invalid(message, {key: message}) from None


def _text(raw: Any, label: str, key: str, limit: int, *, required: bool = True) -> str:
    text = str(raw or "").strip().replace("\r\n", "\n")
    if required and not text:
        raise Invalid(f"请填写{label}。", {key: f"请填写{label}。"})
    if len(text) > limit:
        message = f"{label}不能超过 {limit} 字（现有 {len(text)} 字）。"
        raise Invalid(message, {key: message})
    return text


# --- opening ----------------------------------------------------------------------------


async def covered(organiser_id: int, year: int, today: dt.date) -> list[dict[str, Any]]:
    """The designations a re-check of ``year`` opened on ``today`` covers: the
    organiser's, from published campaigns, made before ``year``, active on ``today``."""
    rows = (
        await Designation.select(
            Designation.id,
            Designation.designated_on,
            Designation.valid_until,
            Designation.candidate.bureau.as_alias("bureau"),
        )
        .where(
            (Designation.organiser == organiser_id)
            & (Designation.campaign.phase == Phase.published.value)
            & (Designation.year < year)
            & Designation.revoked_on.is_null()
        )
        .order_by(Designation.year)
        .order_by(Designation.serial)
        .run()
    )
    return [r for r in rows if revocation._as_date(r["valid_until"]) >= today]


@dataclass
class Opening:
    year: int
    deadline: dt.date
    title: str
    instructions: str


def check_opening(values: dict[str, Any], today: dt.date) -> Opening:
    """The opening form's values, or ``Invalid`` with the field errors (zh-CN)."""
    errors: dict[str, str] = {}
    year = None
    try:
        year = int(str(values.get("year") or "").strip())
        if not 2000 <= year <= today.year + 1:
            errors["year"] = f"复核年度须在 2000 至 {today.year + 1} 之间。"
    except ValueError:
        errors["year"] = "请填写复核年度（四位数字，如 2023）。"
    deadline = None
    try:
        deadline = parse_day(values.get("deadline"), "报送截止日期", "deadline")
        if deadline < today:
            errors["deadline"] = "报送截止日期不能早于今天。"
        elif deadline > today + dt.timedelta(days=366):
            errors["deadline"] = "报送截止日期不能晚于一年以后。"
    except Invalid as exc:
        errors.update(exc.errors)
    title, instructions = "", ""
    try:
        title = _text(values.get("title"), "复核名称", "title", 200, required=False)
        if title and (hidden := line_error("复核名称", title)):
            errors["title"] = hidden
    except Invalid as exc:
        errors.update(exc.errors)
    try:
        instructions = _text(
            values.get("instructions"), "复核要求", "instructions", MAX_INSTRUCTIONS, required=False
        )
    except Invalid as exc:
        errors.update(exc.errors)
    if errors:
        raise Invalid("请按提示修改后再提交。", errors)
    assert year is not None and deadline is not None
    return Opening(year, deadline, title, instructions)


async def open_recheck(
    actor: Actor, organiser_id: int, values: dict[str, Any], now: dt.datetime | None = None
) -> Recheck:
    """Open the organiser's re-check of a year (its administrators only): one item per
    covered designation, to be reported on by its nominating bureau by the deadline."""
    now = now or utc_now()
    today = local_day(now)
    opening = check_opening(values, today)
    async with write_transaction():
        if not await revocation.may_manage(actor, organiser_id):
            raise NotFound("找不到该单位。")
        organiser = await Bureau.objects().where(Bureau.id == organiser_id).first().run()
        published = await Campaign.exists().where(
            (Campaign.organiser == organiser_id) & (Campaign.phase == Phase.published.value)
        )
        if not published:
            raise Refused(
                "复核只能针对已正式命名（发布）的评选活动：本单位还没有已正式命名的评选活动，"
                "不能开启复核。"
            )
        rows = await covered(organiser_id, opening.year, today)
        if not rows:
            raise Refused(
                f"本单位没有{opening.year}年以前命名且目前仍在有效期内的称号，无需开启复核。"
            )
        title = (
            opening.title
            or f"{organiser.short_name or organiser.name}{opening.year}年度“枫桥式”命名复核"
        )
        recheck = Recheck(
            organiser=organiser_id,
            year=opening.year,
            title=title,
            instructions=opening.instructions,
            deadline=opening.deadline,
            opened_at=now,
            opened_by=actor.staff_id,
        )
        with unique_or(Conflict(f"{opening.year}年度复核已经开启，不能重复开启。")):
            if await Recheck.exists().where(
                (Recheck.organiser == organiser_id) & (Recheck.year == opening.year)
            ):
                raise Conflict(f"{opening.year}年度复核已经开启，不能重复开启。")
            await recheck.save().run()
        await RecheckItem.insert(
            *[
                RecheckItem(recheck=recheck.id, designation=r["id"], bureau=r["bureau"])
                for r in rows
            ]
        ).run()
        await audit.record(
            actor,
            "recheck.open",
            recheck,
            after={
                "year": opening.year,
                "deadline": opening.deadline,
                "designations": len(rows),
            },
        )
    return recheck


# --- reading ----------------------------------------------------------------------------


@dataclass
class Item:
    """One designation in a re-check as the pages show it."""

    row: RecheckItem
    entry: Entry
    bureau: str
    evidence: list[RecheckEvidence] = field(default_factory=list)

    @property
    def reported(self) -> bool:
        return self.row.reported_at is not None

    @property
    def final(self) -> bool:
        if self.row.verdict in FINAL:
            return True
        return self.row.verdict == RecheckVerdict.rectify.value and bool(self.row.followup_verdict)

    @property
    def verdict_label(self) -> str:
        verdict = self.row.verdict
        if verdict == RecheckVerdict.rectify.value:
            if self.row.followup_verdict == RecheckVerdict.passed.value:
                return "限期整改（整改后合格）"
            if self.row.followup_verdict == RecheckVerdict.revoked.value:
                return "限期整改（整改不到位，撤销命名）"
            return "限期整改（整改中）"
        return RecheckVerdict.label_of(verdict)

    def overdue(self, recheck: Recheck, today: dt.date) -> bool:
        return (
            not self.reported
            and self.row.verdict == RecheckVerdict.pending.value
            and (today > revocation._as_date(recheck.deadline))
        )


@dataclass
class Summary:
    total: int = 0
    reported: int = 0
    late: int = 0
    overdue: int = 0
    passed: int = 0
    rectify: int = 0
    revoked: int = 0
    pending: int = 0

    @property
    def finished(self) -> bool:
        return self.total > 0 and self.pending == 0


def summarise(recheck: Recheck, items: list[Item], today: dt.date) -> Summary:
    s = Summary(total=len(items))
    for item in items:
        s.reported += item.reported
        s.late += item.row.late
        s.overdue += item.overdue(recheck, today)
        verdict = item.row.verdict
        s.passed += verdict == RecheckVerdict.passed.value
        s.rectify += verdict == RecheckVerdict.rectify.value
        s.revoked += verdict == RecheckVerdict.revoked.value
        s.pending += not item.final
    return s


async def rechecks_for(user: StaffUser) -> list[Recheck]:
    """The re-checks ``user`` sees: the organisers' they work for (administrators,
    auditors); a clerk those in which its bureau has designees to report on."""
    query = Recheck.objects()
    if user.role is Role.county_clerk:
        ids = [
            r["recheck"]
            for r in await RecheckItem.select(RecheckItem.recheck)
            .where(RecheckItem.bureau == user.bureau_id)
            .distinct()
            .run()
        ]
        query = query.where(Recheck.id.is_in(ids or [-1]))
    elif user.role in (Role.city_admin, Role.auditor):
        query = query.where(Recheck.organiser.is_in(await organisers_seen_by(user)))
    else:
        return []
    return await query.order_by(Recheck.year, ascending=False).order_by(Recheck.id).run()


async def recheck_for(user: StaffUser, recheck_id: int) -> Recheck:
    """A re-check ``user`` may see, or ``NotFound``."""
    for recheck in await rechecks_for(user):
        if recheck.id == recheck_id:
            return recheck
    raise NotFound(NOT_FOUND)


async def items_of(recheck: Recheck, user: StaffUser | None = None) -> list[Item]:
    """The re-check's items in certificate order; a clerk's only its own bureau's."""
    query = RecheckItem.objects().where(RecheckItem.recheck == recheck.id)
    if user is not None and user.role is Role.county_clerk:
        query = query.where(RecheckItem.bureau == user.bureau_id)
    rows = await query.run()
    if not rows:
        return []
    for row in rows:
        row.figures = loaded(row.figures)
    by_id = {e.id: e for e in await entries(ids=[r.designation for r in rows])}
    names = {
        b["id"]: b["name"]
        for b in await Bureau.select(Bureau.id, Bureau.name)
        .where(Bureau.id.is_in(list({r.bureau for r in rows})))
        .run()
    }
    evidence: dict[int, list[RecheckEvidence]] = {}
    for e in (
        await RecheckEvidence.objects()
        .where(RecheckEvidence.item.is_in([r.id for r in rows]))
        .order_by(RecheckEvidence.id)
        .run()
    ):
        evidence.setdefault(e.item, []).append(e)
    items = [
        Item(row, by_id[row.designation], names.get(row.bureau, ""), evidence.get(row.id, []))
        for row in rows
        if row.designation in by_id
    ]
    items.sort(key=lambda i: (i.entry.year, i.entry.certificate_no))
    return items


async def item_for(user: StaffUser, recheck_id: int, item_id: int) -> tuple[Recheck, Item]:
    """One item ``user`` may see (a clerk only its own bureau's), or ``NotFound``."""
    recheck = await recheck_for(user, recheck_id)
    for item in await items_of(recheck, user):
        if item.row.id == item_id:
            return recheck, item
    raise NotFound(ITEM_NOT_FOUND)


def record_fields(kind: str) -> list[nomination_fields.Field]:
    """The year's figures a report gives: the nomination form's "record" group."""
    return [f for f in nomination_fields.fields_for(kind) if f.group == "record"]


# --- reminders for the staff home page ----------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    text: str
    href: str
    urgent: bool = False


async def reminders(user: StaffUser, now: dt.datetime | None = None) -> list[Reminder]:
    """What the re-checks ask of ``user`` now: a clerk's reports due or overdue, an
    administrator's reports overdue and reports awaiting a verdict."""
    today = local_day(now)
    if user.role not in (Role.county_clerk, Role.city_admin):
        return []
    found: list[Reminder] = []
    for recheck in await rechecks_for(user):
        query = RecheckItem.select(
            RecheckItem.reported_at, RecheckItem.verdict, RecheckItem.bureau
        ).where(RecheckItem.recheck == recheck.id)
        if user.role is Role.county_clerk:
            query = query.where(RecheckItem.bureau == user.bureau_id)
        rows = await query.run()
        pending = [r for r in rows if r["verdict"] == RecheckVerdict.pending.value]
        unreported = [r for r in pending if r["reported_at"] is None]
        deadline = revocation._as_date(recheck.deadline)
        href = f"/staff/rechecks/{recheck.id}"
        when = revocation.chinese_day(deadline)
        if unreported and today > deadline:
            found.append(
                Reminder(
                    f"{recheck.title}：{len(unreported)} 份复核报告已逾期未报送（截止日期"
                    f"{when}），逾期报送将标注为“逾期”。",
                    href,
                    urgent=True,
                )
            )
        elif unreported and user.role is Role.county_clerk:
            found.append(
                Reminder(
                    f"{recheck.title}：还有 {len(unreported)} 份复核报告待报送，截止日期{when}。",
                    href,
                )
            )
        waiting = len(pending) - len(unreported)
        if waiting and user.role is Role.city_admin:
            found.append(Reminder(f"{recheck.title}：{waiting} 份复核报告待作出结论。", href))
    return found
