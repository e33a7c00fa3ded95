"""Page views of the public campaign pages (累计访问量), and of other counted pages.

A view increments a counter in the shared store (cheap, no database write on the
page's path); a background task moves the counters into ``Campaign.visits``. The
figure shown is the persisted total plus what is still pending in the store.

Other tables count views of their own pages the same way: ``register(Story, "story")``
returns the ``Counted`` to pass to ``count_visit`` and ``visits``, and ``flush`` moves
every registered table's counters into its ``visits`` column.

A campaign's views are also added to its ``VisitDay`` row of the day they are flushed
(local to the campaign; flushes run every few seconds, so a view lands on the day it
was made but for those in the last seconds before midnight). Days before this record
began have no rows: their views are only in the total.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from piccolo.table import Table

from portal.campaigns import zone
from portal.clock import utc_now
from portal.db import write_transaction
from portal.stores import StateStore, StoreUnavailable
from portal.tables import Campaign, VisitDay

log = logging.getLogger("portal.visits")

FLUSH_INTERVAL = 10.0


@dataclass(frozen=True)
class Counted:
    """A table whose rows count page views in an integer ``visits`` column."""

    table: type[Table]
    name: str

    def key(self, row_id: int) -> str:
        # Campaigns keep the original key, so counts pending at an upgrade still flush.
        return f"visits:{row_id}" if self.table is Campaign else f"visits:{self.name}:{row_id}"


CAMPAIGNS = Counted(Campaign, "campaign")
_COUNTED: dict[str, Counted] = {CAMPAIGNS.name: CAMPAIGNS}


def register(table: type[Table], name: str) -> Counted:
    """Count views of ``table``'s rows too (it needs an integer ``visits`` column)."""
    counted = Counted(table, name)
    _COUNTED[name] = counted
    return counted


async def count_visit(store: StateStore, row_id: int, counted: Counted = CAMPAIGNS) -> None:
    """Count one page view; a store outage never breaks the page."""
    try:
        await store.incr(counted.key(row_id))
    except StoreUnavailable:
        log.warning("visit of %s %s not counted: store unavailable", counted.name, row_id)


async def visits(store: StateStore, row: Table, counted: Counted = CAMPAIGNS) -> int:
    """The row's total page views: persisted plus pending."""
    try:
        pending = int(await store.get(counted.key(row.id)) or 0)
    except StoreUnavailable:
        pending = 0
    return row.visits + pending  # type: ignore[attr-defined]


async def flush(store: StateStore) -> int:
    """Move pending counts into the database; return how many views were moved.

    ``get_delete`` takes each counter atomically, so several workers flushing at once
    never count a view twice.
    """
    moved = 0
    now = utc_now()
    for counted in list(_COUNTED.values()):
        table = counted.table
        column = table._meta.get_column_by_name("visits")
        by_day = counted is CAMPAIGNS
        columns = [table._meta.primary_key] + ([Campaign.timezone] if by_day else [])
        for row in await table.select(*columns).run():
            key = counted.key(row["id"])
            taken = await store.get_delete(key)
            if not taken or int(taken) == 0:
                continue
            count = int(taken)
            try:
                async with write_transaction():
                    await table.update({column: column + count}).where(table.id == row["id"]).run()
                    if by_day:
                        day = now.astimezone(zone(row["timezone"])).date().isoformat()
                        await add_day(row["id"], day, count)
            except Exception:
                # Not written: hand the views back so the next flush moves them.
                await store.incr(key, count)
                raise
            moved += count
    return moved


async def add_day(campaign_id: int, day: str, count: int) -> None:
    """Add ``count`` views to the campaign's row of ``day`` (made on its first view)."""
    # Raw: PostgreSQL needs the table named in the update's right-hand side, which
    # Piccolo's on_conflict does not write; both engines take this statement.
    await VisitDay.raw(
        "INSERT INTO visit_day (campaign, day, visits) VALUES ({}, {}, {}) "
        "ON CONFLICT (campaign, day) DO UPDATE SET visits = visit_day.visits + excluded.visits",
        campaign_id,
        day,
        count,
    ).run()


async def flush_forever(store: StateStore, interval: float = FLUSH_INTERVAL) -> None:
    """The background task: flush every ``interval`` seconds until cancelled."""
    while True:
        await asyncio.sleep(interval)
        try:
            await flush(store)
        except Exception:  # keep the task alive through outages; the counts stay pending
            log.warning("flushing visit counts failed; will retry", exc_info=True)
