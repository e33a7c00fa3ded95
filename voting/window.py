"""When a campaign takes votes: one predicate for the whole portal.

The voting service accepts a vote, the public pages say "投票进行中", the ledger is
published and the tally may run all by the same rule, so that no page ever promises a
vote the service would refuse, and the ledger appears exactly when votes stop.
"""

from __future__ import annotations

import datetime as dt

from portal.tables import PHASE_ORDER, Campaign, Phase

NOT_STARTED = "not_started"
OPEN = "open"
ENDED = "ended"

_VOTING = PHASE_ORDER.index(Phase.voting)
_AFTER_VOTING = frozenset(phase.value for phase in PHASE_ORDER[_VOTING + 1 :])


def window_status(
    phase: str, opens: dt.datetime | None, closes: dt.datetime | None, now: dt.datetime
) -> str:
    """Where ``now`` falls for a campaign in ``phase`` with this voting window:
    ``"not_started"``, ``"open"`` or ``"ended"``.

    Votes are taken only in the voting phase, from ``opens`` (if set) until ``closes``
    (if set, exclusive). Voting has ended once the campaign has moved past the voting
    phase, or once ``closes`` has passed within it.
    """
    if phase == Phase.voting.value:
        if closes is not None and now >= closes:
            return ENDED
        if opens is not None and now < opens:
            return NOT_STARTED
        return OPEN
    return ENDED if phase in _AFTER_VOTING else NOT_STARTED


def campaign_window(campaign: Campaign, now: dt.datetime) -> str:
    """``window_status`` of a campaign's phase and voting window."""
    return window_status(campaign.phase, campaign.voting_opens_at, campaign.voting_closes_at, now)


def voting_has_closed(campaign: Campaign, now: dt.datetime) -> bool:
    """Whether the campaign's voting is over, so that its ledger is public and it may be
    tallied: the campaign has moved on to tallying (or later), or its window has ended."""
    return campaign_window(campaign, now) == ENDED
