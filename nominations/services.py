"""Nominations: drafting, submitting within the county's cap, vetting, and who may see what.

Rules live here; controllers only parse requests and render. Every change is audited,
and the audit entries of a nomination are its timeline.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from nominations import conditions, fields
from nominations.designees import designees, taken
from nominations.tables import (
    HOLDS_PLACE,
    Assignment,
    AssignmentStatus,
    Document,
    DocumentKind,
    Nomination,
    Status,
)
from portal import audit, messages
from portal.accounts import StaffUser
from portal.audit import Actor
from portal.campaigns import seen_by
from portal.clock import utc_now
from portal.db import is_unique_violation, unique_or, write_transaction
from portal.errors import Hidden, Invalid
from portal.tables import (
    PHASE_ORDER,
    AuditEntry,
    Bureau,
    BureauLevel,
    Campaign,
    Category,
    Phase,
    Role,
)
from portal.zones import local_text

EDITABLE_BY_COUNTY = frozenset({Status.draft, Status.returned})
DECIDED = frozenset({Status.shortlisted, Status.rejected})
# The refusal where a category accepts only the nominating bureau's designees.
DESIGNEES_ONLY = "该类别只接受本单位命名且在有效期内的对象，请从已命名对象中选择。"
ALREADY_PUT_FORWARD = "该命名对象已在本次评选中推荐，不能重复推荐。"
# Phases in which the city vets (decides on) nominations.
VETTING_PHASES = frozenset({Phase.nominating, Phase.vetting})
DECISIONS = {"shortlist": Status.shortlisted, "return": Status.returned, "reject": Status.rejected}
PLACE_ATTEMPTS = 5


class NominationError(Invalid):
    """A request the rules refuse. ``errors`` maps fields to zh-CN messages."""


@dataclass
class Files:
    """Checked files already stored under random names, to attach in one transaction."""

    photo: tuple[str, str] | None = None  # (photo, thumbnail)
    documents: list[tuple[str, str, int]] = field(default_factory=list)  # (stored, name, size)

    def names(self) -> list[str]:
        return [*(self.photo or ()), *(stored for stored, _, _ in self.documents)]


@dataclass(frozen=True)
class Context:
    """A nomination with what the pages need around it."""

    nomination: Nomination
    campaign: Campaign
    category: Category
    bureau: Bureau


def nominating_open(campaign: Campaign, at: dt.datetime | None = None) -> bool:
    """Is the nomination window open (phase and, when set, the window's times)?"""
    at = at or utc_now()
    if campaign.phase != Phase.nominating.value:
        return False
    opens, closes = campaign.nominating_opens_at, campaign.nominating_closes_at
    return not ((opens and at < opens) or (closes and at >= closes))


def window_message(campaign: Campaign, at: dt.datetime | None = None) -> str:
    """Why nominating is closed, precisely: not open yet (from when) or ended (since
    when), the time in the campaign's zone named as people name it (北京时间)."""
    at = at or utc_now()
    phase = Phase(campaign.phase)
    opens, closes = campaign.nominating_opens_at, campaign.nominating_closes_at
    step = PHASE_ORDER.index(phase) - PHASE_ORDER.index(Phase.nominating)
    if step < 0 or (step == 0 and opens and at < opens):
        if opens and at < opens:
            return f"推荐申报未开放：申报于{local_text(opens, campaign.timezone)}开始。"
        return "推荐申报未开放：评选活动还在筹备中，尚未进入推荐申报阶段。"
    if closes and at >= closes:
        return f"推荐申报已结束：申报已于{local_text(closes, campaign.timezone)}截止。"
    return f"推荐申报已结束：评选活动已进入{phase.label}阶段。"


# --- visibility -----------------------------------------------------------------------


def may_read(user: StaffUser, nomination: Nomination) -> bool:
    """City staff and auditors read every nomination; a clerk only their county's."""
    if user.role in (Role.city_admin, Role.auditor):
        return True
    return user.role is Role.county_clerk and nomination.bureau == user.bureau_id


def sees_phone_in_full(user: StaffUser, bureau_id: int) -> bool:
    """Whether ``user`` sees a nomination's phone numbers whole: its own bureau's clerk,
    who typed them. Everyone else sees them masked (138****1234); the organiser's
    administrator may reveal them one nomination at a time, audited."""
    return user.role is Role.county_clerk and bureau_id == user.bureau_id


def scope_query(user: StaffUser, query: Any) -> Any:
    """Restrict a nomination query to what the user may read."""
    if user.role in (Role.city_admin, Role.auditor):
        return query
    if user.role is Role.county_clerk:
        return query.where(Nomination.bureau == user.bureau_id)
    return query.where(Nomination.id == -1)


async def load(user: StaffUser, nomination_id: int) -> Context:
    """The nomination with its campaign, category and bureau, if this user may read it.

    Another county's nomination is reported as missing (404), not forbidden, so its
    existence is not revealed.
    """
    nomination = await Nomination.objects().where(Nomination.id == nomination_id).first().run()
    if nomination is None:
        raise Hidden(nomination_id)
    if not may_read(user, nomination) and not await assigned_to(user, nomination.id):
        raise Hidden(nomination_id)
    campaign = await Campaign.objects().where(Campaign.id == nomination.campaign).first().run()
    if user.role in (Role.city_admin, Role.auditor) and not await seen_by(user, campaign):  # type: ignore[arg-type]
        raise Hidden(nomination_id)  # another organisation's campaign
    category = await Category.objects().where(Category.id == nomination.category).first().run()
    bureau = await Bureau.objects().where(Bureau.id == nomination.bureau).first().run()
    return Context(nomination, campaign, category, bureau)  # type: ignore[arg-type]


async def assigned_to(user: StaffUser, nomination_id: int) -> bool:
    """Is this reviewer assigned (without a declared conflict) to score the nomination?"""
    if user.role is not Role.reviewer:
        return False
    return (
        await Assignment.exists()
        .where(
            (Assignment.nomination == nomination_id)
            & (Assignment.reviewer == user.id)
            & (Assignment.status == AssignmentStatus.assigned.value)
        )
        .run()
    )


def may_edit(user: StaffUser, ctx: Context) -> bool:
    """Counties edit their drafts and returned nominations; after that only the city."""
    status = Status(ctx.nomination.status)
    if user.role is Role.city_admin:
        return status is not Status.withdrawn and ctx.campaign.phase != Phase.published.value
    return (
        user.role is Role.county_clerk
        and ctx.nomination.bureau == user.bureau_id
        and status in EDITABLE_BY_COUNTY
    )


# --- values ---------------------------------------------------------------------------


def values_of(nomination: Nomination) -> dict[str, Any]:
    return {f.key: getattr(nomination, f.key) for f in fields.FIELDS}


def form_values_of(nomination: Nomination) -> dict[str, Any]:
    """The nomination's fields and declaration answers as its edit form sends them."""
    values = values_of(nomination)
    values.update({f"declaration-{k}": v for k, v in answers_of(nomination).items()})
    return values


def answers_of(nomination: Nomination | dict[str, Any]) -> dict[str, str]:
    """The nominee's answers to the category's declarations (stored JSON, read back)."""
    raw = (
        nomination.get("declarations") if isinstance(nomination, dict) else nomination.declarations
    )
    if isinstance(raw, str):
        try:
            raw = json.loads(raw or "{}")
        except ValueError:
            raw = {}
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def conditions_of(category: Category | dict[str, Any]) -> list[conditions.Condition]:
    """The category's recommendation conditions (none when it sets none)."""
    if isinstance(category, dict):
        return conditions.stored(category.get("conditions"), category["kind"])
    return conditions.stored(category.conditions, category.kind)


def outcomes_of(category: Category, nomination: Nomination) -> list[conditions.Outcome]:
    """How the nomination stands on each of its category's conditions."""
    return conditions.evaluate(
        conditions_of(category), values_of(nomination), answers_of(nomination)
    )


def check_conditions(
    category: Category, data: dict[str, Any]
) -> tuple[list[conditions.Outcome], dict[str, str]]:
    """The conditions against a form as it is now (not saved): the outcomes, and the
    format errors of the figures (a figure in error counts as not yet answered)."""
    values, errors = fields.clean(category.kind, data)
    values = {k: (None if k in errors else v) for k, v in values.items()}
    rules = conditions_of(category)
    answers = conditions.declarations_from(data, rules)
    return conditions.evaluate(rules, values, answers), errors


def _stored(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    """Cleaned values as columns: empty texts as "", empty numbers as NULL."""
    stored = {}
    for spec in fields.FIELDS:
        value = values.get(spec.key) if spec.applies_to(kind) else None
        if value is None and spec.kind not in ("int", "date"):
            value = ""
        stored[spec.key] = value
    return stored


def check_complete(kind: str, nomination: Nomination, documents: int) -> dict[str, str]:
    """Everything submitting needs, each problem at its field."""
    values = values_of(nomination)
    _, errors = fields.clean(kind, values)
    errors.update({k: v for k, v in fields.missing(kind, values).items() if k not in errors})
    if not nomination.photo:
        errors["photo"] = "请上传照片。"
    if documents == 0:
        errors["documents"] = "请上传至少一份 PDF 格式的证明材料。"
    return errors


# --- drafting -------------------------------------------------------------------------


async def nominating_bureau(user: StaffUser, campaign: Campaign) -> Bureau:
    """The clerk's bureau, if it nominates to the campaign: a direct subordinate of the
    organiser (a county for a city's campaign, a city for a province's). A campaign made
    before campaigns had an organiser takes its nominations from the counties."""
    bureau = await Bureau.objects().where(Bureau.id == user.bureau_id).first().run()
    if bureau is None:
        raise NominationError("只有推荐单位经办人可以推荐。")
    if campaign.organiser is None:
        if bureau.level != BureauLevel.county.value:
            raise NominationError("只有推荐单位经办人可以推荐。")
    elif bureau.parent != campaign.organiser:
        raise NominationError("本单位不是该评选活动主办单位的直接下级单位，不能向该活动推荐。")
    return bureau


async def create_draft(
    actor: Actor,
    user: StaffUser,
    category: Category,
    data: dict[str, Any],
    files: Files | None = None,
) -> Nomination:
    """A county clerk starts a nomination for their own county (a draft may be incomplete)."""
    if user.role is not Role.county_clerk:
        raise NominationError("只有推荐单位经办人可以推荐。")
    campaign = await Campaign.objects().where(Campaign.id == category.campaign).first().run()
    if campaign is None or not nominating_open(campaign):
        raise NominationError(window_message(campaign) if campaign else "找不到评选活动。")
    bureau = await nominating_bureau(user, campaign)
    values, errors = fields.clean(category.kind, data)
    if errors:
        raise NominationError("请修改标出的问题后再保存。", errors)
    nomination = Nomination(
        campaign=campaign.id,
        category=category.id,
        bureau=bureau.id,
        status=Status.draft.value,
        created_by=user.id,
        declarations=conditions.declarations_from(data, conditions_of(category)),
        **_stored(category.kind, values),
    )
    # A designee picked by two drafts at once: the unique index keeps the first.
    with unique_or(NominationError(ALREADY_PUT_FORWARD)):
        async with write_transaction():
            nomination.designation = await _designation(campaign, category, bureau, data)
            await nomination.save().run()
            await audit.record(actor, "nomination.create", nomination, after={"status": "draft"})
            await _attach(actor, nomination, files)
    return nomination


async def _designation(
    campaign: Campaign, category: Category, bureau: Bureau, data: dict[str, Any]
) -> int | None:
    """The earlier designation a new nomination is picked from (``data["designation"]``):
    one of the bureau's current designees not yet put forward to the campaign; required
    where the category accepts only designees."""
    raw = str(data.get("designation") or "").strip()
    if not raw:
        if category.requires_designation:
            raise NominationError(DESIGNEES_ONLY)
        return None
    chosen = int(raw) if raw.isdigit() else 0
    if chosen not in {d.nomination_id for d in await designees(bureau.id, category, campaign)}:
        raise NominationError("所选对象不是本单位在有效期内命名的对象，请重新选择。")
    if await taken(campaign, [chosen]):
        raise NominationError(ALREADY_PUT_FORWARD)
    return chosen


async def create_drafts(
    actor: Actor, user: StaffUser, category: Category, rows: list[dict[str, Any]]
) -> list[Nomination]:
    """Drafts from an imported workbook: all rows in one transaction, or none."""
    if user.role is not Role.county_clerk:
        raise NominationError("只有推荐单位经办人可以导入推荐对象。")
    if category.requires_designation:
        raise NominationError(f"{DESIGNEES_ONLY}该类别不能从表格导入。")
    campaign = await Campaign.objects().where(Campaign.id == category.campaign).first().run()
    if campaign is None or not nominating_open(campaign):
        raise NominationError(window_message(campaign) if campaign else "找不到评选活动。")
    bureau = await nominating_bureau(user, campaign)
    created = []
    async with write_transaction():
        for values in rows:
            nomination = Nomination(
                campaign=campaign.id,
                category=category.id,
                bureau=bureau.id,
                status=Status.draft.value,
                created_by=user.id,
                **_stored(category.kind, values),
            )
            await nomination.save().run()
            created.append(nomination)
        await audit.record(
            actor,
            "nomination.import",
            ("category", category.id),
            after={"drafts": len(created), "county": bureau.short_name},
            label=category.title,
        )
    return created


async def update(
    actor: Actor, user: StaffUser, ctx: Context, data: dict[str, Any], files: Files | None = None
) -> list[str]:
    """Save edited fields and attach new files in one transaction (audited with what
    changed); returns the names of stored files the new photo replaced."""
    if not may_edit(user, ctx):
        raise NominationError("当前状态下不能修改该推荐对象。")
    values, errors = fields.clean(ctx.category.kind, data)
    if errors:
        raise NominationError("请修改标出的问题后再保存。", errors)
    nomination = ctx.nomination
    stored: dict[str, Any] = _stored(ctx.category.kind, values)
    rules = conditions_of(ctx.category)
    if any(c.is_declaration for c in rules):
        stored["declarations"] = conditions.declarations_from(data, rules)
    before = {k: getattr(nomination, k) for k in stored}
    if "declarations" in before:
        before["declarations"] = answers_of(nomination)
    old, new = audit.changed_fields(before, stored)
    replaced = [n for n in (nomination.photo, nomination.thumbnail) if n and files and files.photo]
    async with write_transaction():
        if new:
            for key, value in stored.items():
                setattr(nomination, key, value)
            nomination.updated_at = utc_now()
            await nomination.save().run()
            await audit.record(actor, "nomination.update", nomination, before=old, after=new)
        await _attach(actor, nomination, files)
    return replaced


async def _attach(actor: Actor, nomination: Nomination, files: Files | None) -> None:
    """Within the caller's transaction: the new photo and documents."""
    if not files:
        return
    if files.photo:
        nomination.photo, nomination.thumbnail = files.photo
        await nomination.save([Nomination.photo, Nomination.thumbnail]).run()
        await audit.record(actor, "nomination.photo", nomination, after={"photo": "已更新"})
    for stored_name, filename, size in files.documents:
        await Document.insert(
            Document(
                nomination=nomination.id,
                stored_name=stored_name,
                filename=filename[:200],
                size=size,
            )
        ).run()
        await audit.record(actor, "nomination.document", nomination, after={"added": filename})


async def remove_document(actor: Actor, user: StaffUser, ctx: Context, document_id: int) -> str:
    """Remove a document; returns its stored name so the caller deletes the file."""
    if not may_edit(user, ctx):
        raise NominationError("当前状态下不能修改该推荐对象。")
    document = await documents_of(ctx.nomination.id, document_id)
    if not document:
        raise Hidden(document_id)
    async with write_transaction():
        await Document.delete().where(Document.id == document_id).run()
        await audit.record(
            actor, "nomination.document", ctx.nomination, before={"removed": document[0].filename}
        )
    return document[0].stored_name


async def documents_of(
    nomination_id: int, document_id: int | None = None, kind: DocumentKind | None = None
) -> list[Document]:
    """The nomination's documents (one by id, or those of one kind)."""
    query = Document.objects().where(Document.nomination == nomination_id)
    if document_id is not None:
        query = query.where(Document.id == document_id)
    if kind is not None:
        query = query.where(Document.kind == kind.value)
    return await query.order_by(Document.id).run()


# --- submitting within the cap --------------------------------------------------------


async def submit(actor: Actor, user: StaffUser, ctx: Context) -> Nomination:
    """Submit a draft (within the window) or resubmit a returned nomination.

    The nomination takes a numbered place 1..cap of its county in its category; a
    unique index on the places makes the cap exact even for simultaneous submissions.
    """
    nomination, campaign, category = ctx.nomination, ctx.campaign, ctx.category
    status = Status(nomination.status)
    if user.role is not Role.county_clerk or nomination.bureau != user.bureau_id:
        raise NominationError("只有本单位经办人可以报送。")
    if status not in EDITABLE_BY_COUNTY:
        raise NominationError(f"「{Status.label_of(status)}」状态的推荐对象不能报送。")
    if status is Status.draft and not nominating_open(campaign):
        raise NominationError(window_message(campaign))
    if status is Status.returned and Phase(campaign.phase) not in VETTING_PHASES:
        raise NominationError("审核已结束，不能再次报送。")
    materials = await documents_of(nomination.id, kind=DocumentKind.material)
    errors = check_complete(category.kind, nomination, len(materials))
    if category.requires_designation and nomination.designation is None:
        errors["designation"] = DESIGNEES_ONLY
    if errors:
        raise NominationError("推荐材料不完整，请补充标出的内容后再报送。", errors)
    unmet = conditions.unmet(outcomes_of(category, nomination))
    if unmet and campaign.conditions_mode != "flag":
        message = conditions.refusal(unmet)
        raise NominationError(message, {"conditions": message})
    for _ in range(PLACE_ATTEMPTS):
        try:
            return await _take_place_and_submit(actor, ctx, status, unmet)
        except Exception as exc:
            if not is_unique_violation(exc):
                raise
            # Another submission took the same place a moment earlier: look again.
    raise NominationError("同时报送的人较多，请稍后重试。")


async def _take_place_and_submit(
    actor: Actor, ctx: Context, status: Status, unmet: list[conditions.Outcome]
) -> Nomination:
    nomination, category = ctx.nomination, ctx.category
    async with write_transaction():
        # Re-read inside the transaction: the nomination and the places held now.
        current = await Nomination.objects().where(Nomination.id == nomination.id).first().run()
        if current is None or current.status != status.value:
            raise NominationError("该推荐对象的状态已变化，请刷新页面。")
        place = current.place
        if place is None:
            rows = (
                await Nomination.select(Nomination.place)
                .where(
                    (Nomination.category == category.id)
                    & (Nomination.bureau == nomination.bureau)
                    & Nomination.place.is_not_null()
                )
                .run()
            )
            taken = {r["place"] for r in rows}
            free = [n for n in range(1, category.county_cap + 1) if n not in taken]
            if not free:
                raise NominationError(
                    f"本单位在「{category.title}」已报送 {len(taken)} 个，"
                    f"达到上限 {category.county_cap} 个，不能再报送。"
                )
            place = free[0]
        nomination.place = place
        nomination.status = Status.submitted.value
        nomination.submitted_at = utc_now()
        nomination.updated_at = utc_now()
        await (
            Nomination.update(
                {
                    Nomination.place: place,
                    Nomination.status: Status.submitted.value,
                    Nomination.submitted_at: nomination.submitted_at,
                    Nomination.updated_at: nomination.updated_at,
                }
            )
            .where(Nomination.id == nomination.id)
            .run()
        )
        action = "nomination.resubmit" if status is Status.returned else "nomination.submit"
        after: dict[str, Any] = {"status": "submitted"}
        if unmet:  # the campaign lets it through, flagged to the organiser
            after["conditions_unmet"] = [o.condition.wording for o in unmet]
        await audit.record(actor, action, nomination, before={"status": status.value}, after=after)
    return nomination


async def withdraw(actor: Actor, user: StaffUser, ctx: Context, reason: str = "") -> Nomination:
    """A county takes back its nomination before the city decides; its place is freed."""
    nomination = ctx.nomination
    if user.role is not Role.county_clerk or nomination.bureau != user.bureau_id:
        raise NominationError("只有本单位经办人可以撤回。")
    status = Status(nomination.status)
    if status not in (Status.submitted, Status.returned):
        raise NominationError(f"「{Status.label_of(status)}」状态的推荐对象不能撤回。")
    return await _set_status(actor, nomination, status, Status.withdrawn, reason.strip())


async def decide(actor: Actor, ctx: Context, decision: str, reason: str = "") -> Nomination:
    """The city's decision: shortlist (入围), return for revision, or reject (with a reason)."""
    if decision not in DECISIONS:
        raise NominationError("未知的审核决定。")
    nomination, campaign = ctx.nomination, ctx.campaign
    if Phase(campaign.phase) not in VETTING_PHASES:
        raise NominationError("只有在推荐申报和资格审核阶段可以审核。")
    status = Status(nomination.status)
    if status is not Status.submitted:
        raise NominationError(f"只有已报送的推荐对象可以审核（当前：{Status.label_of(status)}）。")
    goal = DECISIONS[decision]
    reason = reason.strip()
    if goal is not Status.shortlisted and not reason:
        label = "退回意见" if goal is Status.returned else "不通过理由"
        raise NominationError(f"请填写{label}。", {"reason": f"请填写{label}。"})
    if len(reason) > 2000:
        raise NominationError("意见不能超过 2000 字。", {"reason": "意见不能超过 2000 字。"})
    return await _set_status(actor, nomination, status, goal, reason)


async def shortlist_many(actor: Actor, campaign: Campaign, ids: list[int]) -> int:
    """Shortlist several submitted nominations at once; returns how many changed."""
    if Phase(campaign.phase) not in VETTING_PHASES:
        raise NominationError("只有在推荐申报和资格审核阶段可以审核。")
    rows = (
        await Nomination.objects()
        .where(
            Nomination.id.is_in(ids or [-1])
            & (Nomination.campaign == campaign.id)
            & (Nomination.status == Status.submitted.value)
        )
        .run()
    )
    for nomination in rows:
        await _set_status(actor, nomination, Status.submitted, Status.shortlisted, "")
    return len(rows)


async def _set_status(
    actor: Actor, nomination: Nomination, old: Status, new: Status, reason: str
) -> Nomination:
    stamp = utc_now()
    changes: dict[Any, Any] = {
        Nomination.status: new.value,
        Nomination.updated_at: stamp,
        Nomination.decision_reason: reason,
    }
    if new not in HOLDS_PLACE:
        changes[Nomination.place] = None  # rejected or withdrawn: the place is freed
    if new in DECIDED or new is Status.returned:
        changes[Nomination.decided_at] = stamp
    if new is Status.shortlisted:
        changes[Nomination.shortlisted_at] = stamp
    async with write_transaction():
        updated = (
            await Nomination.update(changes)
            .where((Nomination.id == nomination.id) & (Nomination.status == old.value))
            .returning(Nomination.id)
            .run()
        )
        if not updated:
            raise NominationError("该推荐对象的状态已变化，请刷新页面。")
        after: dict[str, Any] = {"status": new.value}
        if reason:
            after["reason"] = reason
        await audit.record(
            actor, f"nomination.{new.value}", nomination, before={"status": old.value}, after=after
        )
        if new in TOLD_TO_COUNTY:
            await _tell_county(nomination, new, reason)
    messages.wake()  # committed: any mail may go now
    for column, value in changes.items():
        setattr(nomination, column._meta.name, value)
    return nomination


# Decisions the nominating county's clerks are told of by an in-site message.
TOLD_TO_COUNTY = {
    Status.returned: "被退回修改",
    Status.shortlisted: "已通过资格审核入围",
    Status.rejected: "未通过资格审核",
}


async def _tell_county(nomination: Nomination, new: Status, reason: str) -> None:
    """Message the nominating bureau's clerks of the city's decision (in its transaction)."""
    campaign = (
        await Campaign.select(Campaign.title)
        .where(Campaign.id == nomination.campaign)
        .first()
        .run()
    )
    name = nomination.name or "（未填写名称）"
    subject = f"{campaign['title'] if campaign else ''}：「{name}」{TOLD_TO_COUNTY[new]}"
    if new is Status.returned:
        body = f"退回意见：{reason}\n请修改后重新报送。"
    elif new is Status.rejected:
        body = f"不通过理由：{reason}"
    else:
        body = "该推荐对象已入围，将进入专家评审。"
    await messages.notify_bureaus(
        [nomination.bureau],
        subject,
        body,
        f"/staff/nominations/{nomination.id}",
        roles=[Role.county_clerk],
    )


# --- timeline and overview ------------------------------------------------------------


async def timeline(user: StaffUser, nomination_id: int) -> list[dict[str, Any]]:
    """The nomination's history as ``user`` may see it, oldest first: the audit entries
    about it. The expert review is blind: who reviews a candidate is the city's to know,
    so others do not see the review's entries."""
    entries = (
        await AuditEntry.select(
            AuditEntry.at,
            AuditEntry.actor_name,
            AuditEntry.actor_role,
            AuditEntry.action,
            AuditEntry.before,
            AuditEntry.after,
        )
        .where(
            (AuditEntry.object_type == Nomination._meta.tablename)
            & (AuditEntry.object_id == str(nomination_id))
        )
        .order_by(AuditEntry.id)
        .output(load_json=True)
        .run()
    )
    if user.role in (Role.city_admin, Role.auditor):
        return entries
    return [e for e in entries if not e["action"].startswith("review.")]


async def listed(
    user: StaffUser,
    campaign_id: int,
    *,
    category: int | None = None,
    county: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """The campaign's nominations ``user`` may read, filtered for the list page (a clerk
    sees only their own bureau's, whatever county is asked for)."""
    query = Nomination.select(
        Nomination.id,
        Nomination.name,
        Nomination.status,
        Nomination.category,
        Nomination.bureau,
        Nomination.submitted_at,
        Nomination.updated_at,
        *(getattr(Nomination, f.key) for f in fields.FIELDS if f.kind == "int"),
        Nomination.declarations,
        Nomination.bureau.short_name.as_alias("county"),
        Nomination.category.title.as_alias("category_title"),
    ).where(Nomination.campaign == campaign_id)
    query = scope_query(user, query)
    if category:
        query = query.where(Nomination.category == category)
    if county and user.role is not Role.county_clerk:
        query = query.where(Nomination.bureau.short_name == county)
    if status in {s.value for s in Status}:
        query = query.where(Nomination.status == status)
    return await query.order_by(Nomination.category).order_by(Nomination.id).run()


async def county_counts(campaign_id: int) -> dict[tuple[int, int], int]:
    """Places held per (category, bureau)."""
    rows = (
        await Nomination.select(Nomination.category, Nomination.bureau, Nomination.place)
        .where((Nomination.campaign == campaign_id) & Nomination.place.is_not_null())
        .run()
    )
    counts: dict[tuple[int, int], int] = {}
    for row in rows:
        key = (row["category"], row["bureau"])
        counts[key] = counts.get(key, 0) + 1
    return counts


async def status_counts(campaign_id: int) -> dict[tuple[int, str], int]:
    """Nominations per (category, status)."""
    rows = (
        await Nomination.select(Nomination.category, Nomination.status)
        .where(Nomination.campaign == campaign_id)
        .run()
    )
    counts: dict[tuple[int, str], int] = {}
    for row in rows:
        key = (row["category"], row["status"])
        counts[key] = counts.get(key, 0) + 1
    return counts


async def undecided_count(campaign_id: int) -> int:
    """Nominations still awaiting the city's decision or the county's revision."""
    return (
        await Nomination.count()
        .where(
            (Nomination.campaign == campaign_id)
            & Nomination.status.is_in([Status.submitted.value, Status.returned.value])
        )
        .run()
    )
