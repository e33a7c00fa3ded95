"""What the public notice asks of a city administrator now: objections received and not
yet handled, with the end of the notice period as their deadline."""

from __future__ import annotations

from collections import Counter

from portal.accounts import StaffUser
from portal.campaigns import list_campaigns
from portal.tables import Phase, Role
from portal.todo import Todo
from results.objections import notice_period
from results.tables import OBJECTION_HANDLED, Objection

NOTICE_PHASES = frozenset({Phase.notice.value, Phase.published.value})


async def reminders(user: StaffUser) -> list[Todo]:
    """Objections to handle per campaign of the administrator's organisation."""
    if user.role is not Role.city_admin:
        return []
    campaigns = {c.id: c for c in await list_campaigns(user) if c.phase in NOTICE_PHASES}
    if not campaigns:
        return []
    rows = (
        await Objection.select(Objection.campaign)
        .where(
            Objection.campaign.is_in(list(campaigns))
            & Objection.status.not_in([status.value for status in OBJECTION_HANDLED])
        )
        .run()
    )
    found = []
    for campaign_id, count in sorted(Counter(r["campaign"] for r in rows).items()):
        campaign = campaigns[campaign_id]
        period = await notice_period(campaign)
        found.append(
            Todo(
                f"{campaign.title}：{count} 件异议待办理",
                f"/staff/results/{campaign.slug}/objections",
                period.ends_at if period else None,
                campaign.timezone,
                "公示期结束",
                campaign=campaign.slug,
            )
        )
    return found
