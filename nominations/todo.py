"""What nominations and the expert review ask of a staff member now (the staff home's
to-dos): a clerk's drafts and returned nominations, the city's vetting queue and
unscored reviews, a reviewer's candidates to score. Each in the user's scope only: a
clerk's own county, an administrator's own organisation's campaigns."""

from __future__ import annotations

from collections import Counter

from nominations.review import REVIEW_SETUP_PHASES
from nominations.services import VETTING_PHASES
from nominations.tables import Assignment, AssignmentStatus, Nomination, Status
from portal.accounts import StaffUser
from portal.campaigns import list_campaigns
from portal.tables import Campaign, Phase, Role
from portal.todo import Todo


async def _campaigns(user: StaffUser, phases: set[Phase]) -> dict[int, Campaign]:
    values = {phase.value for phase in phases}
    return {c.id: c for c in await list_campaigns(user) if c.phase in values}


async def _clerk(user: StaffUser) -> list[Todo]:
    campaigns = await _campaigns(user, set(VETTING_PHASES))
    if not campaigns:
        return []
    rows = (
        await Nomination.select(
            Nomination.id,
            Nomination.campaign,
            Nomination.name,
            Nomination.status,
            Nomination.decision_reason,
            Nomination.category.title.as_alias("category"),
        )
        .where(
            Nomination.campaign.is_in(list(campaigns))
            & (Nomination.bureau == user.bureau_id)
            & Nomination.status.is_in([Status.draft.value, Status.returned.value])
        )
        .order_by(Nomination.id)
        .run()
    )
    found = []
    for row in rows:
        campaign = campaigns[row["campaign"]]
        name = row["name"] or "（未填写名称）"
        href = f"/staff/nominations/{row['id']}"
        if row["status"] == Status.draft.value:
            if campaign.phase != Phase.nominating.value:
                continue  # the window has closed: a draft can no longer be submitted
            found.append(
                Todo(
                    f"{campaign.title}：草稿「{name}」（{row['category']}）尚未报送",
                    href,
                    campaign.nominating_closes_at,
                    campaign.timezone,
                    "推荐申报截止",
                    campaign=campaign.slug,
                )
            )
        else:
            found.append(
                Todo(
                    f"{campaign.title}：「{name}」（{row['category']}）被退回修改，"
                    f"退回意见：{row['decision_reason']}",
                    href,
                    campaign.reviewing_opens_at,
                    campaign.timezone,
                    "专家评审开始",
                    campaign=campaign.slug,
                )
            )
    return found


async def _unscored(where: object) -> list[dict]:
    return (
        await Assignment.select(
            Assignment.reviewer,
            Assignment.nomination.campaign.as_alias("campaign"),
        )
        .where(
            where  # type: ignore[arg-type]
            & (Assignment.status == AssignmentStatus.assigned.value)
            & Assignment.submitted_at.is_null()
            & (Assignment.waived_reason == "")
        )
        .run()
    )


async def _city_admin(user: StaffUser) -> list[Todo]:
    found: list[Todo] = []
    vetting = await _campaigns(user, set(VETTING_PHASES))
    if vetting:
        rows = (
            await Nomination.select(Nomination.campaign)
            .where(
                Nomination.campaign.is_in(list(vetting))
                & (Nomination.status == Status.submitted.value)
            )
            .run()
        )
        for campaign_id, count in sorted(Counter(r["campaign"] for r in rows).items()):
            campaign = vetting[campaign_id]
            found.append(
                Todo(
                    f"{campaign.title}：{count} 份已报送的推荐待审核",
                    f"/staff/nominations?campaign={campaign.slug}&status=submitted",
                    campaign.reviewing_opens_at,
                    campaign.timezone,
                    "专家评审开始",
                    campaign=campaign.slug,
                )
            )
    reviewing = await _campaigns(user, {Phase.reviewing})
    if reviewing:
        rows = await _unscored(Assignment.nomination.campaign.is_in(list(reviewing)))
        for campaign_id, campaign in reviewing.items():
            mine = [r for r in rows if r["campaign"] == campaign_id]
            if not mine:
                continue
            experts = len({r["reviewer"] for r in mine})
            found.append(
                Todo(
                    f"{campaign.title}：{experts} 位评审专家尚有 {len(mine)} 份评分未提交",
                    f"/staff/review/campaigns/{campaign.slug}",
                    campaign.reviewing_closes_at,
                    campaign.timezone,
                    "专家评审截止",
                    campaign=campaign.slug,
                )
            )
    return found


async def _reviewer(user: StaffUser) -> list[Todo]:
    """The candidates to score in a review that is open, and those already assigned in
    one that has not opened yet (to read their materials ahead, by the opening)."""
    campaigns = await _campaigns(user, set(REVIEW_SETUP_PHASES))
    if not campaigns:
        return []
    rows = await _unscored(
        (Assignment.reviewer == user.id) & Assignment.nomination.campaign.is_in(list(campaigns))
    )
    found = []
    for campaign_id, count in sorted(Counter(r["campaign"] for r in rows).items()):
        campaign = campaigns[campaign_id]
        if campaign.phase == Phase.reviewing.value:
            text, deadline, label = (
                f"{campaign.title}：{count} 个候选对象待您评分",
                campaign.reviewing_closes_at,
                "专家评审截止",
            )
        else:
            text, deadline, label = (
                f"{campaign.title}：已分配给您 {count} 个候选对象，专家评审开始后评分，"
                "可先查阅推荐材料",
                campaign.reviewing_opens_at,
                "专家评审开始",
            )
        found.append(
            Todo(text, "/staff/review", deadline, campaign.timezone, label, campaign=campaign.slug)
        )
    return found


async def reminders(user: StaffUser) -> list[Todo]:
    """What nominations and the review ask of ``user`` now (``Extensions.staff_reminders``)."""
    if user.role is Role.county_clerk:
        return await _clerk(user)
    if user.role is Role.city_admin:
        return await _city_admin(user)
    if user.role is Role.reviewer:
        return await _reviewer(user)
    return []
