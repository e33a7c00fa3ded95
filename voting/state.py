"""Whether a campaign takes votes now, as the public pages say it, and the live counts
they may show."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.phases import ENDED, NOT_STARTED, campaign_window, has_reached
from portal.tables import Campaign, Category, Phase
from portal.templating import localtime
from voting.services import VotingService


@dataclass(frozen=True)
class VotingState:
    """Whether a campaign takes votes now, and how the public pages say so."""

    open: bool
    status: str  # "open", "not_started" or "ended"
    label: str
    message: str


def voting_state(campaign: Campaign, now: dt.datetime) -> VotingState:
    """Open exactly when the voting service accepts votes (``portal.phases``), with what
    the public pages say of it."""
    status = campaign_window(campaign, now)
    tz = campaign.timezone
    if status == NOT_STARTED:
        opens = campaign.voting_opens_at
        when = f"，将于 {localtime(opens, tz)} 开始" if opens else ""
        return VotingState(False, status, "投票未开始", f"网络投票尚未开始{when}。")
    if status == ENDED:
        return VotingState(False, status, "投票已结束", "网络投票已结束，感谢您的关注与参与。")
    closes = campaign.voting_closes_at
    until = f"，截止时间 {localtime(closes, tz)}" if closes else ""
    return VotingState(True, status, "投票进行中", f"网络投票正在进行{until}。")


def counts_public(campaign: Campaign, public_counts: bool) -> bool:
    """Live counts are shown for a category with public counts, from voting on."""
    return public_counts and has_reached(campaign, Phase.voting)


async def public_counts(
    voting: VotingService, campaign: Campaign, categories: list[Category], rows: list[dict]
) -> dict[int, int]:
    """Live counted votes of the candidates in ``rows`` whose category shows them."""
    shown = {c.id for c in categories if counts_public(campaign, c.public_counts)}
    ids = [row["id"] for row in rows if row["category"] in shown]
    if not ids:
        return {}
    return await voting.counts(campaign.id, ids)
