"""The demo's expert review, finished: the four-criterion demo rubric in every
category, the five demo reviewers on the panel, and every shortlisted candidate scored
by every reviewer not of its county (a harsh and a lenient reviewer among them).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass
from decimal import Decimal

from nominations import review, review_math
from nominations.candidates import shortlisted_in
from nominations.demo.corpus import (
    COMMITTEE,
    JUDICIAL_OFFICE,
    MEDIATOR,
    NAMED_COMMITTEE,
    NAMED_MEDIATOR,
    NAMED_OFFICE,
    SEED,
)
from nominations.demo.plans import office_hours, past_window, utc
from nominations.demo.writer import ACTOR
from nominations.tables import (
    Assignment,
    AssignmentStatus,
    Criterion,
    Nomination,
    PanelMember,
)
from portal import audit
from portal.db import write_transaction
from portal.tables import (
    Campaign,
    Category,
    Staff,
)

# The demo rubric: the same four criteria (totalling 100) in every category, with
# guidance for what each criterion means there.
RUBRIC_POINTS = (("工作实绩", 40), ("创新做法", 20), ("群众满意度", 20), ("典型案例与示范作用", 20))
RUBRIC_GUIDANCE: dict[str, tuple[str, str, str, str]] = {
    JUDICIAL_OFFICE: (
        "司法所指导人民调解、排查化解矛盾纠纷、开展法治宣传等职责的履行成效；"
        "调解案件数量、成功率和司法确认情况。",
        "践行新时代“枫桥经验”的新机制、新方法，如诉调、警调、访调对接和“一站式”"
        "多元化解，是否可复制、可推广。",
        "辖区群众和基层组织对司法所工作的评价；有无因纠纷化解不当引发的投诉、"
        "越级上访或“民转刑”案件。",
        "典型案例是否真实、具体、有说服力；在全县区乃至全市的示范带动作用。",
    ),
    COMMITTEE: (
        "排查调处矛盾纠纷的数量、调解成功率、协议履行率和司法确认情况；"
        "组织、制度、场所等规范化建设。",
        "调解机制和方法的创新，与法院、公安、信访等部门的衔接联动，行业性专业性调解的特色做法。",
        "当事人和群众对调解工作的认可程度，矛盾纠纷就地化解、不上交的成效。",
        "典型案例的代表性和化解难度；经验做法在同类调解组织中的推广价值。",
    ),
    MEDIATOR: (
        "从事调解工作的年限，年度调解案件数量和成功率，“随手调”和司法确认情况。",
        "个人独到的调解方法和工作经验，运用新手段、新方式化解纠纷的情况。",
        "当事人和群众的口碑；热心调解、公道正派、廉洁自律的表现。",
        "亲自调处的典型案例是否有说服力；在传帮带、培养调解骨干方面的示范作用。",
    ),
}


def rubric_rows(key: str) -> list[dict[str, str]]:
    """A category's demo criteria as the criteria form would send them."""
    guidance = RUBRIC_GUIDANCE.get(key, RUBRIC_GUIDANCE[COMMITTEE])
    return [
        {"title": title, "guidance": text, "max_points": str(points)}
        for (title, points), text in zip(RUBRIC_POINTS, guidance, strict=True)
    ]


@dataclass(frozen=True)
class Style:
    """How a demo reviewer scores."""

    bias: float  # points added to a typical total (negative: a harsh reviewer)
    spread: float  # how far apart they put candidates (1: as far as the candidates differ)
    noise: float  # standard deviation of each score, as a share of the criterion's maximum
    pace: tuple[float, float]  # when in the reviewing window they score (shares of it)


HARSH_REVIEWER, LENIENT_REVIEWER = "reviewer-tongwei", "reviewer-weiyuan"
REVIEWERS: dict[str, Style] = {
    "reviewer-anding": Style(0.0, 1.0, 0.04, (0.05, 0.55)),
    HARSH_REVIEWER: Style(-12.0, 1.2, 0.04, (0.1, 0.7)),
    "reviewer-longxi": Style(-2.0, 0.9, 0.05, (0.4, 0.97)),  # scores at the last minute
    LENIENT_REVIEWER: Style(9.0, 0.75, 0.035, (0.02, 0.35)),
    "reviewer-lintao": Style(1.5, 1.1, 0.04, (0.15, 0.8)),
}
# Candidates' quality as a share of full marks: mean, standard deviation, limits.
QUALITY = (0.77, 0.06, 0.6, 0.92)
NAMED_BONUS = 0.06  # the units the city named stand out
IMPRESSION = 0.035  # a reviewer's own view of a candidate, on every criterion alike

STRENGTHS = {
    "工作实绩": (
        "矛盾纠纷排查化解成效明显，数据扎实",
        "调解成功率高，工作实绩突出",
        "调解工作量大、质量高",
    ),
    "创新做法": (
        "工作机制有创新，做法可复制可推广",
        "善于运用新方法化解纠纷，特色鲜明",
        "诉调、警调衔接做法有新意",
    ),
    "群众满意度": ("群众认可度高，口碑好", "群众满意度高，基层反映良好", "当事人评价高，公信力强"),
    "典型案例与示范作用": (
        "典型案例说服力强，示范带动作用明显",
        "案例选取典型，具有推广价值",
        "示范作用较好，可供同行借鉴",
    ),
}
WEAKNESSES = {
    "工作实绩": ("工作实绩的数据支撑还可更充分", "实绩材料略显单薄", "案件数量在同类对象中偏少"),
    "创新做法": (
        "创新做法提炼不够，特色不够鲜明",
        "创新举措还需进一步总结提升",
        "做法较常规，亮点不多",
    ),
    "群众满意度": ("群众满意度的佐证材料不足", "群众评价材料可再补充", "群众回访情况反映不够"),
    "典型案例与示范作用": (
        "典型案例的示范意义阐述不足",
        "案例代表性一般，示范作用有待加强",
        "案例叙述较简略",
    ),
}
VERDICTS = (  # (lowest total, phrases), best first
    (90, ("事迹突出，强烈推荐。", "综合表现优秀，推荐命名。", "各方面表现均衡出色。")),
    (80, ("综合表现良好，同意推荐。", "整体较好，符合“枫桥式”标准。", "总体较好，值得肯定。")),
    (70, ("基本符合评选条件。", "总体尚可，建议进一步提炼经验。", "中规中矩。")),
    (0, ("与其他对象相比差距较明显。", "材料较为一般，竞争力不足。", "总体偏弱，建议继续培育。")),
)


def reviewing_window(campaign: Campaign) -> tuple[dt.datetime, dt.datetime]:
    """The campaign's reviewing window in Beijing time (a plausible past one if unset)."""
    return past_window(campaign.reviewing_opens_at, campaign.reviewing_closes_at, 10)


def _halves(halves: int) -> str:
    """A score given in half points as stored: 25 → "12.5", 24 → "12"."""
    return str(halves // 2) + (".5" if halves % 2 else "")


def review_comment(rng: random.Random, shares: dict[str, float], total: float) -> str:
    """A short remark: the candidate's strongest and weakest criterion, then a verdict."""
    best = max(shares, key=lambda title: shares[title])
    worst = min(shares, key=lambda title: shares[title])
    parts = []
    if total < 70:  # a weak candidate's best side is only relatively good
        parts.append(f"{best}方面相对较好")
    elif best in STRENGTHS:
        parts.append(rng.choice(STRENGTHS[best]))
    if worst in WEAKNESSES and worst != best and (total < 90 or rng.random() < 0.3):
        parts.append(rng.choice(WEAKNESSES[worst]))
    verdict = next(phrases for lowest, phrases in VERDICTS if total >= lowest)
    head = "；".join(parts)
    return (head + "。" if head else "") + rng.choice(verdict)


@dataclass
class Scoring:
    """One demo reviewer's scoring of one candidate, before it is stored."""

    nomination: int
    reviewer: int
    scores: dict[str, str]
    comment: str
    submitted_at: dt.datetime | None = None


def plan_scores(
    candidates: dict[int, tuple[int, bool]],
    assignments: dict[int, list[int]],
    styles: dict[int, Style],
    criteria: dict[int, list[tuple[int, str, int]]],
    window: tuple[dt.datetime, dt.datetime],
) -> list[Scoring]:
    """Plausible, deterministic scores for every assignment.

    ``candidates`` maps a nomination id to its category id and whether the city named
    it; ``assignments`` a nomination id to its reviewers' ids; ``styles`` a reviewer id
    to their style; ``criteria`` a category id to its criteria (id, title, maximum in
    half points). Each candidate has an underlying quality (and strengths per
    criterion) that every reviewer sees, shifted by the reviewer's bias and taste and
    blurred by their own impression and noise, so the panel broadly agrees.
    """
    rng = random.Random(SEED + 2)  # noqa: S311 - demo data, not secrets
    mean, sd, low, high = QUALITY
    depth = max((len(c) for c in criteria.values()), default=0)
    taste = {rid: [rng.gauss(0, 0.025) for _ in range(depth)] for rid in sorted(styles)}
    out: list[Scoring] = []
    for nid in sorted(assignments):
        category, named = candidates[nid]
        quality = min(high, max(low, rng.gauss(mean, sd))) + (NAMED_BONUS if named else 0)
        profile = [rng.gauss(0, 0.05) for _ in criteria[category]]
        for rid in assignments[nid]:
            style = styles[rid]
            impression = rng.gauss(0, IMPRESSION)  # how this reviewer took to the candidate
            scores, shares, total = {}, {}, 0
            for index, (cid, title, top) in enumerate(criteria[category]):
                share = (
                    mean
                    + style.spread * (quality + profile[index] - mean)
                    + style.bias / 100
                    + taste[rid][index]
                    + impression
                    + rng.gauss(0, style.noise)
                )
                halves = min(top, max(0, round(min(1.0, max(0.2, share)) * top)))
                scores[str(cid)] = _halves(halves)
                shares[title] = halves / top if top else 0.0
                total += halves
            comment = review_comment(rng, shares, total / 2)
            out.append(Scoring(nid, rid, scores, comment))
    opens, closes = window
    span, last = closes - opens, closes - dt.timedelta(minutes=1)
    for rid in sorted(styles):
        mine = [s for s in out if s.reviewer == rid]
        start, end = styles[rid].pace
        times = sorted(
            office_hours(rng, opens + span * rng.uniform(start, end), opens, last) for _ in mine
        )
        for scoring, at in zip(mine, times, strict=True):
            scoring.submitted_at = at
    return out


async def _has_assignments(campaign: Campaign) -> bool:
    return await Assignment.exists().where(Assignment.nomination.campaign == campaign.id).run()


async def ensure_demo_review(campaign: Campaign) -> None:
    """The demo campaign's expert review, finished (idempotent).

    Does nothing if any of the campaign's candidates has been assigned already.
    Otherwise, in one transaction: the demo rubric for every category without
    criteria, the five demo reviewers on the panel, every shortlisted candidate
    assigned to every reviewer not of its bureau (``review_math.plan_assignments``),
    and submitted scores for all of them inside the reviewing window.
    """
    if await _has_assignments(campaign):
        return
    staff = {
        row["username"]: row
        for row in await Staff.select(Staff.id, Staff.username, Staff.bureau)
        .where(Staff.username.is_in(list(REVIEWERS)))
        .run()
    }
    missing = [name for name in REVIEWERS if name not in staff]
    if missing:
        raise RuntimeError(f"the demo reviewers are missing: {missing}")
    categories = (
        await Category.select(Category.id, Category.key)
        .where(Category.campaign == campaign.id)
        .order_by(Category.position)
        .order_by(Category.id)
        .run()
    )
    rubrics = {}
    for category in categories:
        cleaned, errors = review.parse_criteria(rubric_rows(category["key"]))
        if errors:
            raise AssertionError(f"demo rubric of {category['key']}: {errors}")
        rubrics[category["id"]] = cleaned
    window = reviewing_window(campaign)
    reviewers = {row["id"]: row["bureau"] for row in staff.values()}
    styles = {row["id"]: REVIEWERS[name] for name, row in staff.items()}
    named = {NAMED_OFFICE, NAMED_COMMITTEE, NAMED_MEDIATOR}

    async with write_transaction():
        if await _has_assignments(campaign):  # another process loaded the demo meanwhile
            return
        have = {
            row["category"]
            for row in await Criterion.select(Criterion.category)
            .where(Criterion.category.is_in([c["id"] for c in categories] or [-1]))
            .run()
        }
        new_criteria = [
            Criterion(category=cat_id, position=position, **criterion)
            for cat_id, cleaned in rubrics.items()
            if cat_id not in have
            for position, criterion in enumerate(cleaned)
        ]
        if new_criteria:
            await Criterion.insert(*new_criteria).run()
        criteria: dict[int, list[tuple[int, str, int]]] = {}
        for row in (
            await Criterion.select(
                Criterion.id, Criterion.category, Criterion.title, Criterion.max_points
            )
            .where(Criterion.category.is_in(list(rubrics) or [-1]))
            .order_by(Criterion.position)
            .order_by(Criterion.id)
            .run()
        ):
            top = int(Decimal(row["max_points"]) * 2)
            criteria.setdefault(row["category"], []).append((row["id"], row["title"], top))

        panel = await review.panel_ids(campaign.id)
        new_members = [
            PanelMember(campaign=campaign.id, reviewer=rid)
            for rid in sorted(reviewers)
            if rid not in panel
        ]
        if new_members:
            await PanelMember.insert(*new_members).run()

        nominations = (
            await Nomination.select(
                Nomination.id, Nomination.name, Nomination.category, Nomination.bureau
            )
            .where(shortlisted_in(campaign.id))
            .run()
        )
        nominations = [n for n in nominations if n["category"] in criteria]
        plan = review_math.plan_assignments(
            {n["id"]: n["bureau"] for n in nominations}, reviewers, None
        )
        scorings = plan_scores(
            {n["id"]: (n["category"], n["name"] in named) for n in nominations},
            plan.assignments,
            styles,
            criteria,
            window,
        )
        assigned_at = utc(window[0] - dt.timedelta(days=1))
        if scorings:
            await Assignment.insert(
                *[
                    Assignment(
                        nomination=s.nomination,
                        reviewer=s.reviewer,
                        status=AssignmentStatus.assigned.value,
                        scores=json.dumps(s.scores),
                        comment=s.comment,
                        submitted_at=utc(s.submitted_at),
                        created_at=assigned_at,
                        updated_at=utc(s.submitted_at),
                    )
                    for s in scorings
                ]
            ).run()
        campaign.reviewers_per_candidate, campaign.standardise_reviews = 0, False
        await (
            Campaign.update(
                {Campaign.reviewers_per_candidate: 0, Campaign.standardise_reviews: False}
            )
            .where(Campaign.id == campaign.id)
            .run()
        )
        await audit.record(
            ACTOR,
            "review.assign",
            campaign,
            after={
                "criteria": len(new_criteria),
                "panel": len(new_members),
                "new": len(scorings),
                "short": len(plan.short),
                "submitted": len(scorings),
            },
        )
