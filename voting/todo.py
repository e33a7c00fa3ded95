"""What the brushing review asks of a city administrator now: votes that brushing checks
held, to release or exclude before the result goes into public notice."""

from __future__ import annotations

from collections import Counter

from piccolo.query.functions.aggregate import Count

from portal.accounts import StaffUser
from portal.campaigns import list_campaigns
from portal.tables import Phase, Role
from portal.todo import Todo
from voting.tables import Vote, VoteStatus

# Held votes can be decided until the notice opens (voting.moderation).
DECIDING_PHASES = frozenset({Phase.voting.value, Phase.tallying.value})


async def reminders(user: StaffUser) -> list[Todo]:
    """Held votes per campaign of the administrator's organisation."""
    if user.role is not Role.city_admin:
        return []
    campaigns = {c.id: c for c in await list_campaigns(user) if c.phase in DECIDING_PHASES}
    if not campaigns:
        return []
    rows = (
        await Vote.select(Vote.campaign, Count(Vote.id).as_alias("n"))
        .where(Vote.campaign.is_in(list(campaigns)) & (Vote.status == VoteStatus.held.value))
        .group_by(Vote.campaign)
        .run()
    )
    held = Counter({row["campaign"]: row["n"] for row in rows})
    found = []
    for campaign_id, count in sorted(held.items()):
        campaign = campaigns[campaign_id]
        found.append(
            Todo(
                f"{campaign.title}：{count} 张被刷票监测暂扣的投票待核查（放行或剔除），"
                "须在结果公示前处理",
                f"/staff/voting/{campaign.slug}",
                # Votes stop at the window's end; held ones are best decided by then.
                campaign.voting_closes_at,
                campaign.timezone,
                "网络投票结束",
                campaign=campaign.slug,
            )
        )
    return found
