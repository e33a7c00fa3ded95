"""Expert review (评审): criteria, the panel, assignments with automatic conflicts of
interest, blind scoring, progress, and the aggregated review scores.

A reviewer only ever sees their own assignments and scores. County clerks see no
scores at all. Arithmetic is exact (see ``review_math``); rounding is for display.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nominations import review_math
from nominations.candidates import shortlisted_in
from nominations.services import NominationError
from nominations.tables import (
    Assignment,
    AssignmentStatus,
    Criterion,
    Nomination,
    PanelMember,
)
from portal import audit, bureaus
from portal.accounts import StaffUser
from portal.audit import Actor
from portal.clock import utc_now
from portal.db import unique_or, write_transaction
from portal.errors import Hidden
from portal.tables import Campaign, Category, Phase, Role, Staff
from portal.text import line_error

TOTAL_POINTS = Decimal(100)
# Criteria can change until scoring starts.
CRITERIA_PHASES = frozenset({Phase.draft, Phase.nominating, Phase.vetting})
REVIEW_SETUP_PHASES = frozenset({Phase.nominating, Phase.vetting, Phase.reviewing})


def review_open(campaign: Campaign, at: dt.datetime | None = None) -> bool:
    """Is scoring open: the reviewing phase and, when set, inside its window?"""
    at = at or utc_now()
    if campaign.phase != Phase.reviewing.value:
        return False
    opens, closes = campaign.reviewing_opens_at, campaign.reviewing_closes_at
    return not ((opens and at < opens) or (closes and at >= closes))


def review_closed(campaign: Campaign) -> bool:
    """Review is over once the campaign has moved past the reviewing phase."""
    order = list(Phase)
    return order.index(Phase(campaign.phase)) > order.index(Phase.reviewing)


# --- criteria -------------------------------------------------------------------------


async def criteria_of(category_id: int) -> list[Criterion]:
    return (
        await Criterion.objects()
        .where(Criterion.category == category_id)
        .order_by(Criterion.position)
        .order_by(Criterion.id)
        .run()
    )


def parse_criteria(rows: list[dict[str, str]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Validate criteria rows (empty rows are skipped); errors keyed ``title-N`` etc."""
    cleaned: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for index, row in enumerate(rows):
        title = (row.get("title") or "").strip()
        guidance = (row.get("guidance") or "").strip()
        raw = (row.get("max_points") or "").strip()
        if not title and not raw and not guidance:
            continue
        if not title or len(title) > 100:
            errors[f"title-{index}"] = "请填写评分项名称（不超过 100 字）。"
        elif hidden := line_error("评分项名称", title):
            errors[f"title-{index}"] = hidden
        try:
            points = review_math.check_points(raw, TOTAL_POINTS)
            if points <= 0:
                raise ValueError("分值须大于 0。")
        except ValueError as exc:
            errors[f"max_points-{index}"] = str(exc) if raw else "请填写满分分值。"
            points = Decimal(0)
        if len(guidance) > 1000:
            errors[f"guidance-{index}"] = "评分说明不能超过 1000 字。"
        cleaned.append({"title": title, "guidance": guidance, "max_points": points})
    if not cleaned:
        errors["criteria"] = "请至少设置一个评分项。"
    elif not errors and sum(c["max_points"] for c in cleaned) != TOTAL_POINTS:
        total = sum(c["max_points"] for c in cleaned)
        errors["criteria"] = (
            f"各评分项满分合计须为 100 分（现为 {review_math.display(total, 1)} 分）。"
        )
    return cleaned, errors


async def save_criteria(actor: Actor, campaign: Campaign, category: Category, rows: list) -> None:
    """Replace a category's criteria (before review starts; totals must be 100)."""
    if Phase(campaign.phase) not in CRITERIA_PHASES:
        raise NominationError("专家评审开始后不能再修改评分标准。")
    cleaned, errors = parse_criteria(rows)
    if errors:
        raise NominationError("请修改标出的问题。", errors)
    before = [(c.title, str(c.max_points)) for c in await criteria_of(category.id)]
    async with write_transaction():
        await Criterion.delete().where(Criterion.category == category.id).run()
        await Criterion.insert(
            *[Criterion(category=category.id, position=i, **c) for i, c in enumerate(cleaned)]
        ).run()
        await audit.record(
            actor,
            "review.criteria",
            category,
            before={"criteria": before},
            after={"criteria": [(c["title"], str(c["max_points"])) for c in cleaned]},
        )


# --- panel and options ----------------------------------------------------------------


async def reviewers() -> list[dict[str, Any]]:
    """Every active reviewer account with their bureau."""
    return (
        await Staff.select(
            Staff.id,
            Staff.username,
            Staff.display_name,
            Staff.bureau.id.as_alias("bureau_id"),
            Staff.bureau.name.as_alias("bureau_name"),
        )
        .where((Staff.role == Role.reviewer.value) & (Staff.active == True))  # noqa: E712
        .order_by(Staff.bureau.position)
        .order_by(Staff.username)
        .run()
    )


async def panel_ids(campaign_id: int) -> set[int]:
    rows = (
        await PanelMember.select(PanelMember.reviewer)
        .where(PanelMember.campaign == campaign_id)
        .run()
    )
    return {r["reviewer"] for r in rows}


async def set_panel(actor: Actor, campaign: Campaign, reviewer_ids: list[int]) -> None:
    """Choose the campaign's reviewers; removed members lose their unscored assignments."""
    if Phase(campaign.phase) not in REVIEW_SETUP_PHASES:
        raise NominationError("当前阶段不能调整评审专家。")
    valid = {r["id"] for r in await reviewers()}
    chosen = {i for i in reviewer_ids if i in valid}
    current = await panel_ids(campaign.id)
    added, removed = chosen - current, current - chosen
    if not added and not removed:
        return
    with unique_or(NominationError("评审专家名单已变化，请刷新页面。")):
        async with write_transaction():
            if removed:
                await (
                    PanelMember.delete()
                    .where(
                        (PanelMember.campaign == campaign.id)
                        & PanelMember.reviewer.is_in(list(removed))
                    )
                    .run()
                )
                await (
                    Assignment.delete()
                    .where(
                        Assignment.reviewer.is_in(list(removed))
                        & Assignment.submitted_at.is_null()
                        & Assignment.nomination.is_in(
                            Nomination.select(Nomination.id).where(
                                Nomination.campaign == campaign.id
                            )
                        )
                    )
                    .run()
                )
            if added:
                await PanelMember.insert(
                    *[PanelMember(campaign=campaign.id, reviewer=i) for i in sorted(added)]
                ).run()
            await audit.record(
                actor,
                "review.panel",
                campaign,
                before={"removed": sorted(removed)},
                after={"added": sorted(added)},
            )


async def set_options(
    actor: Actor, campaign: Campaign, per_candidate: int, standardise: bool
) -> None:
    if review_closed(campaign):
        raise NominationError("专家评审已结束，不能再修改评审设置。")
    if not 0 <= per_candidate <= 50:
        raise NominationError("每个对象的评审人数须在 0 到 50 之间（0 表示全部）。")
    before = {
        "reviewers_per_candidate": campaign.reviewers_per_candidate,
        "standardise_reviews": campaign.standardise_reviews,
    }
    after = {"reviewers_per_candidate": per_candidate, "standardise_reviews": standardise}
    old, new = audit.changed_fields(before, after)
    if not new:
        return
    campaign.reviewers_per_candidate, campaign.standardise_reviews = per_candidate, standardise
    async with write_transaction():
        await campaign.save([Campaign.reviewers_per_candidate, Campaign.standardise_reviews]).run()
        await audit.record(actor, "review.options", campaign, before=old, after=new)


# --- assignments ----------------------------------------------------------------------


async def shortlisted_bureaus(campaign_id: int) -> dict[int, int]:
    rows = (
        await Nomination.select(Nomination.id, Nomination.bureau)
        .where(shortlisted_in(campaign_id))
        .run()
    )
    return {r["id"]: r["bureau"] for r in rows}


async def campaign_assignments(campaign_id: int) -> list[dict[str, Any]]:
    return (
        await Assignment.select(
            *Assignment.all_columns(),
            Assignment.reviewer.username.as_alias("reviewer_name"),
            Assignment.reviewer.display_name.as_alias("reviewer_label"),
            Assignment.reviewer.bureau.as_alias("reviewer_bureau"),
            Assignment.nomination.category.as_alias("category"),
        )
        .where(Assignment.nomination.campaign == campaign_id)
        .order_by(Assignment.id)
        .output(load_json=True)
        .run()
    )


async def tree_conflicts(
    campaign: Campaign, candidates: dict[int, int], reviewers: dict[int, int]
) -> dict[int, list[int]]:
    """Conflicts along the tree, beyond the same bureau: for each candidate (id →
    nominating bureau), the reviewers (id → bureau) whose bureau lies below the
    nominating bureau — a county's expert in a province's campaign, for a candidate of
    that county's city. Above a nominating bureau there is only the organiser (its
    direct superior) and the bureaus above that: they run the campaign, no party to it."""
    parent_of = await bureaus.parents()
    conflicts: dict[int, list[int]] = defaultdict(list)
    for cid, nominated_by in candidates.items():
        for rid, own in reviewers.items():
            if nominated_by in bureaus.chain_up(parent_of, own)[1:]:
                conflicts[cid].append(rid)
    return conflicts


async def auto_assign(actor: Actor, campaign: Campaign) -> review_math.Plan:
    """Assign every shortlisted candidate to panel members without a conflict:
    every eligible member, or ``reviewers_per_candidate`` each, balanced."""
    if Phase(campaign.phase) not in REVIEW_SETUP_PHASES:
        raise NominationError("当前阶段不能分配评审任务。")
    candidates = await shortlisted_bureaus(campaign.id)
    panel = await panel_ids(campaign.id)
    if not panel:
        raise NominationError("请先选择评审专家。")
    reviewer_bureaus = {
        r["id"]: r["bureau"]
        for r in await Staff.select(Staff.id, Staff.bureau).where(Staff.id.is_in(list(panel))).run()
    }
    existing: dict[int, list[int]] = defaultdict(list)
    excluded: dict[int, list[int]] = defaultdict(list)
    for row in await campaign_assignments(campaign.id):
        if row["nomination"] not in candidates or row["reviewer"] not in reviewer_bureaus:
            continue  # e.g. a former panel member's submitted score: kept, not planned
        target = existing if row["status"] == AssignmentStatus.assigned.value else excluded
        target[row["nomination"]].append(row["reviewer"])
    for cid, reviewers in (await tree_conflicts(campaign, candidates, reviewer_bureaus)).items():
        excluded[cid].extend(reviewers)
    per = campaign.reviewers_per_candidate or None
    plan = review_math.plan_assignments(candidates, reviewer_bureaus, per, existing, excluded)
    new = [
        (cid, rid)
        for cid, rids in plan.assignments.items()
        for rid in rids
        if rid not in existing.get(cid, [])
    ]
    with unique_or(NominationError("分配结果已变化，请刷新页面后重试。")):
        async with write_transaction():
            if new:
                await Assignment.insert(
                    *[Assignment(nomination=cid, reviewer=rid) for cid, rid in new]
                ).run()
            await audit.record(
                actor,
                "review.assign",
                campaign,
                after={"new": len(new), "short": len(plan.short)},
            )
    return plan


async def add_assignment(
    actor: Actor, campaign: Campaign, nomination_id: int, reviewer_id: int
) -> None:
    """A city admin assigns one more reviewer by hand (never one of the same bureau)."""
    candidates = await shortlisted_bureaus(campaign.id)
    if nomination_id not in candidates:
        raise NominationError("只能为已入围的对象分配评审专家。")
    if reviewer_id not in await panel_ids(campaign.id):
        raise NominationError("请先把该专家加入评审专家名单。")
    reviewer = await Staff.objects().where(Staff.id == reviewer_id).first().run()
    conflicts = await tree_conflicts(
        campaign, {nomination_id: candidates[nomination_id]}, {reviewer.id: reviewer.bureau}
    )
    if reviewer.bureau == candidates[nomination_id]:
        raise NominationError("回避规则：不能把本单位推荐的对象分配给该专家。")
    if conflicts.get(nomination_id):
        raise NominationError("回避规则：不能把专家所在单位的上级单位推荐的对象分配给该专家。")
    with unique_or(NominationError("该专家已分配了这个对象，或已声明回避。")):
        async with write_transaction():
            assignment = Assignment(nomination=nomination_id, reviewer=reviewer_id)
            await assignment.save().run()
            await audit.record(
                actor,
                "review.assignment.add",
                ("nomination", nomination_id),
                after={"reviewer": reviewer.username},
            )


async def remove_assignment(actor: Actor, assignment: Assignment) -> None:
    if assignment.submitted_at is not None:
        raise NominationError("已提交的评分不能撤销分配，请先退回评分。")
    reviewer = await Staff.objects().where(Staff.id == assignment.reviewer).first().run()
    async with write_transaction():
        await Assignment.delete().where(Assignment.id == assignment.id).run()
        await audit.record(
            actor,
            "review.assignment.remove",
            ("nomination", assignment.nomination),
            before={"reviewer": reviewer.username if reviewer else assignment.reviewer},
        )


async def load_assignment(
    user: StaffUser, assignment_id: int
) -> tuple[Assignment, Nomination, Campaign, Category]:
    """An assignment as this user may see it: reviewers only their own (else 404)."""
    assignment = await Assignment.objects().where(Assignment.id == assignment_id).first().run()
    if assignment is None:
        raise Hidden(assignment_id)
    if user.role is Role.reviewer:
        if assignment.reviewer != user.id:
            raise Hidden(assignment_id)
    elif user.role not in (Role.city_admin, Role.auditor):
        raise Hidden(assignment_id)
    nomination = (
        await Nomination.objects().where(Nomination.id == assignment.nomination).first().run()
    )
    campaign = await Campaign.objects().where(Campaign.id == nomination.campaign).first().run()
    category = await Category.objects().where(Category.id == nomination.category).first().run()
    return assignment, nomination, campaign, category  # type: ignore[return-value]


async def declare_conflict(
    actor: Actor, user: StaffUser, assignment: Assignment, reason: str
) -> None:
    """A reviewer declares a conflict of interest: unassigned, shown to the city admin."""
    if user.role is not Role.reviewer or assignment.reviewer != user.id:
        raise NominationError("只能对分配给自己的对象声明回避。")
    reason = reason.strip()
    if not reason:
        raise NominationError("请说明回避理由。", {"conflict_reason": "请说明回避理由。"})
    if assignment.submitted_at is not None:
        raise NominationError("评分已提交，不能再声明回避。")
    async with write_transaction():
        await (
            Assignment.update(
                {
                    Assignment.status: AssignmentStatus.conflict.value,
                    Assignment.conflict_reason: reason[:1000],
                    Assignment.scores: "{}",
                    Assignment.updated_at: utc_now(),
                }
            )
            .where(Assignment.id == assignment.id)
            .run()
        )
        await audit.record(
            actor,
            "review.conflict",
            ("nomination", assignment.nomination),
            after={"reason": reason[:1000]},
        )


# --- scoring --------------------------------------------------------------------------


def stored_scores(assignment: Assignment | dict) -> dict[str, str]:
    raw = assignment["scores"] if isinstance(assignment, dict) else assignment.scores
    if isinstance(raw, str):
        raw = json.loads(raw or "{}")
    return dict(raw or {})


async def save_scores(
    actor: Actor,
    user: StaffUser,
    assignment: Assignment,
    campaign: Campaign,
    category: Category,
    data: dict[str, Any],
    comment: str,
    submit: bool,
) -> None:
    """Save a reviewer's scores as a draft, or submit them (all criteria, then locked)."""
    if user.role is not Role.reviewer or assignment.reviewer != user.id:
        raise NominationError("只能为分配给自己的对象评分。")
    if assignment.status != AssignmentStatus.assigned.value:
        raise NominationError("您已声明回避，不能评分。")
    if assignment.submitted_at is not None:
        raise NominationError("评分已提交并锁定；如需修改，请联系主办单位管理员退回。")
    if not review_open(campaign):
        raise NominationError("不在专家评审时间内，不能评分。")
    criteria = await criteria_of(category.id)
    scores: dict[str, str] = {}
    errors: dict[str, str] = {}
    for criterion in criteria:
        raw = str(data.get(f"c{criterion.id}") or "").strip()
        if not raw:
            if submit:
                errors[f"c{criterion.id}"] = f"请为「{criterion.title}」打分。"
            continue
        try:
            scores[str(criterion.id)] = str(review_math.check_points(raw, criterion.max_points))
        except ValueError as exc:
            errors[f"c{criterion.id}"] = str(exc)
    comment = comment.strip()
    if len(comment) > 2000:
        errors["comment"] = "评语不能超过 2000 字。"
    if errors:
        raise NominationError("请修改标出的问题。", errors)
    if not criteria:
        raise NominationError("该类别尚未设置评分标准。")
    stamp = utc_now()
    total = review_math.reviewer_total(Decimal(v) for v in scores.values())
    async with write_transaction():
        updated = (
            await Assignment.update(
                {
                    Assignment.scores: json.dumps(scores),
                    Assignment.comment: comment,
                    Assignment.updated_at: stamp,
                    Assignment.submitted_at: stamp if submit else None,
                }
            )
            .where((Assignment.id == assignment.id) & Assignment.submitted_at.is_null())
            .returning(Assignment.id)
            .run()
        )
        if not updated:
            raise NominationError("评分已提交并锁定。")
        if submit:
            await audit.record(
                actor,
                "review.submit",
                ("nomination", assignment.nomination),
                after={"total": str(total)},
            )


async def reopen(actor: Actor, assignment: Assignment, reason: str) -> None:
    """A city admin unlocks a submitted score for the reviewer to change (with a reason)."""
    reason = reason.strip()
    if not reason:
        raise NominationError("请填写退回评分的理由。", {"reason": "请填写退回评分的理由。"})
    if assignment.submitted_at is None:
        raise NominationError("该评分尚未提交。")
    async with write_transaction():
        await (
            Assignment.update({Assignment.submitted_at: None, Assignment.updated_at: utc_now()})
            .where(Assignment.id == assignment.id)
            .run()
        )
        await audit.record(
            actor,
            "review.reopen",
            ("nomination", assignment.nomination),
            after={"reason": reason[:1000]},
        )


async def waive(actor: Actor, assignment: Assignment, reason: str) -> None:
    """A city admin waives a missing score so the candidate is scored by the others."""
    reason = reason.strip()
    if not reason:
        raise NominationError("请填写免除该评分的理由。", {"reason": "请填写免除该评分的理由。"})
    if assignment.submitted_at is not None:
        raise NominationError("该评分已提交，无需免除。")
    async with write_transaction():
        await (
            Assignment.update(
                {Assignment.waived_reason: reason[:1000], Assignment.updated_at: utc_now()}
            )
            .where(Assignment.id == assignment.id)
            .run()
        )
        await audit.record(
            actor,
            "review.waive",
            ("nomination", assignment.nomination),
            after={"reason": reason[:1000]},
        )


# --- progress and results -------------------------------------------------------------


@dataclass
class CandidateResult:
    nomination_id: int
    name: str
    county: str
    category: int
    assigned: int
    submitted: int
    missing: list[str]
    review_score: Decimal | None


async def results(campaign: Campaign) -> dict[int, list[CandidateResult]]:
    """Per category, each shortlisted candidate's review score (None while any assigned
    score is missing and not waived), best first."""
    rows = await campaign_assignments(campaign.id)
    nominations = (
        await Nomination.select(
            Nomination.id,
            Nomination.name,
            Nomination.category,
            Nomination.bureau.short_name.as_alias("county"),
        )
        .where(shortlisted_in(campaign.id))
        .order_by(Nomination.id)
        .run()
    )
    totals: dict[int, dict[tuple[int, int], Decimal]] = defaultdict(dict)
    per_candidate: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        if row["status"] != AssignmentStatus.assigned.value:
            continue
        per_candidate[row["nomination"]].append(row)
        if row["submitted_at"] is not None:
            points = (Decimal(v) for v in stored_scores(row).values())
            totals[row["category"]][(row["reviewer"], row["nomination"])] = (
                review_math.reviewer_total(points)
            )
    if campaign.standardise_reviews:
        totals = {cat: review_math.standardise(t) for cat, t in totals.items()}
    out: dict[int, list[CandidateResult]] = defaultdict(list)
    for n in nominations:
        mine = per_candidate.get(n["id"], [])
        missing = [
            r["reviewer_label"] or r["reviewer_name"]
            for r in mine
            if r["submitted_at"] is None and not r["waived_reason"]
        ]
        scored = [t for (_, cid), t in totals.get(n["category"], {}).items() if cid == n["id"]]
        score = None if missing else review_math.candidate_score(scored)
        out[n["category"]].append(
            CandidateResult(
                nomination_id=n["id"],
                name=n["name"],
                county=n["county"],
                category=n["category"],
                assigned=len(mine),
                submitted=sum(1 for r in mine if r["submitted_at"] is not None),
                missing=missing,
                review_score=score,
            )
        )
    for items in out.values():
        items.sort(key=lambda r: (r.review_score is None, -(r.review_score or 0), r.nomination_id))
    return out


async def progress(campaign: Campaign) -> list[dict[str, Any]]:
    """Per panel member: assigned, submitted, declared conflicts, and whether late."""
    rows = await campaign_assignments(campaign.id)
    panel = await panel_ids(campaign.id)
    staff = {
        r["id"]: r
        for r in await Staff.select(
            Staff.id, Staff.username, Staff.display_name, Staff.bureau.name.as_alias("bureau")
        )
        .where(Staff.id.is_in(list(panel) or [-1]))
        .run()
    }
    closing = campaign.reviewing_closes_at
    nearly_over = closing is not None and utc_now() > closing - dt.timedelta(days=2)
    out = []
    for rid in sorted(panel, key=lambda i: staff[i]["username"]):
        mine = [r for r in rows if r["reviewer"] == rid]
        assigned = [r for r in mine if r["status"] == AssignmentStatus.assigned.value]
        done = sum(1 for r in assigned if r["submitted_at"] is not None)
        out.append(
            {
                "reviewer": staff[rid],
                "assigned": len(assigned),
                "submitted": done,
                "conflicts": [r for r in mine if r["status"] == AssignmentStatus.conflict.value],
                "late": nearly_over and done < len(assigned),
            }
        )
    return out


async def missing_scores(campaign_id: int) -> int:
    """Assigned scores not submitted and not waived (a tally refuses while any remain)."""
    rows = await campaign_assignments(campaign_id)
    return sum(
        1
        for r in rows
        if r["status"] == AssignmentStatus.assigned.value
        and r["submitted_at"] is None
        and not r["waived_reason"]
    )


async def my_assignments(user: StaffUser) -> list[dict[str, Any]]:
    """A reviewer's own assignments, with the candidate's public facts."""
    return (
        await Assignment.select(
            Assignment.id,
            Assignment.status,
            Assignment.submitted_at,
            Assignment.updated_at,
            Assignment.nomination.id.as_alias("nomination_id"),
            Assignment.nomination.name.as_alias("name"),
            Assignment.nomination.bureau.short_name.as_alias("county"),
            Assignment.nomination.category.title.as_alias("category_title"),
            Assignment.nomination.campaign.slug.as_alias("campaign_slug"),
            Assignment.nomination.campaign.title.as_alias("campaign_title"),
            Assignment.nomination.campaign.phase.as_alias("campaign_phase"),
        )
        .where(Assignment.reviewer == user.id)
        .order_by(Assignment.nomination.category)
        .order_by(Assignment.id)
        .run()
    )
