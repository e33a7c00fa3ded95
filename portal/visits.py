"""Page views of the public campaign pages (累计访问量).

A view increments a counter in the shared store (cheap, no database write on the
page's path); a background task moves the counters into ``Campaign.visits``. The
figure shown is the persisted total plus what is still pending in the store.
"""

from __future__ import annotations

import asyncio
import logging

from portal.stores import StateStore, StoreUnavailable
from portal.tables import Campaign

log = logging.getLogger("portal.visits")

FLUSH_INTERVAL = 10.0


def _key(campaign_id: int) -> str:
    return f"visits:{campaign_id}"


async def count_visit(store: StateStore, campaign_id: int) -> None:
    """Count one page view; a store outage never breaks the page."""
    try:
        await store.incr(_key(campaign_id))
    except StoreUnavailable:
        log.warning("visit of campaign %s not counted: store unavailable", campaign_id)


async def visits(store: StateStore, campaign: Campaign) -> int:
    """The campaign's total page views: persisted plus pending."""
    try:
        pending = int(await store.get(_key(campaign.id)) or 0)
    except StoreUnavailable:
        pending = 0
    return campaign.visits + pending


async def flush(store: StateStore) -> int:
    """Move pending counts into the database; return how many views were moved.

    ``get_delete`` takes each counter atomically, so several workers flushing at once
    never count a view twice.
    """
    moved = 0
    for row in await Campaign.select(Campaign.id).run():
        taken = await store.get_delete(_key(row["id"]))
        if not taken or int(taken) == 0:
            continue
        count = int(taken)
        try:
            await (
                Campaign.update({Campaign.visits: Campaign.visits + count})
                .where(Campaign.id == row["id"])
                .run()
            )
        except Exception:
            # Not written: hand the views back so the next flush moves them.
            await store.incr(_key(row["id"]), count)
            raise
        moved += count
    return moved


async def flush_forever(store: StateStore, interval: float = FLUSH_INTERVAL) -> None:
    """The background task: flush every ``interval`` seconds until cancelled."""
    while True:
        await asyncio.sleep(interval)
        try:
            await flush(store)
        except Exception:  # keep the task alive through outages; the counts stay pending
            log.warning("flushing visit counts failed; will retry", exc_info=True)
