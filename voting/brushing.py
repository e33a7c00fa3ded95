"""Vote brushing (刷票) checks: rules that hold suspicious votes for a city admin.

Each rule looks at the vote being cast against recent activity kept in the shared
store (fixed-window counters, so the checks cost a few atomic increments and never a
database query on the vote path). A vote that trips any rule is recorded as ``held``:
it is in the ledger, but does not count until a city admin releases it.
"""

from __future__ import annotations

import datetime as dt

from portal.stores import StateStore

# A burst: more than this many votes for one candidate from one network in ten minutes.
NETWORK_BURST = 10
BURST_WINDOW = 600

RULE_LABELS = {
    "network_burst": "同一网络短时间内集中投票",
}


class BrushingChecks:
    """The rules, evaluated for every vote before it is recorded."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    async def assess(
        self,
        *,
        campaign_id: int,
        candidate_id: int,
        network: str,
        agent_hash: str,
        voter_cookie: str,
        now: dt.datetime,
        timezone: str,
    ) -> list[str]:
        """The names of the rules this vote trips (empty: it counts)."""
        flags = []
        window = int(now.timestamp()) // BURST_WINDOW
        burst = await self.store.incr(
            f"bn:{candidate_id}:{network}:{window}", 1, expires_in=BURST_WINDOW * 2
        )
        if burst > NETWORK_BURST:
            flags.append("network_burst")
        return flags
