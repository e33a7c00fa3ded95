"""Designees by administrative division, as official documents list them.

A decision or notice lists its names county by county, in the order the organiser
keeps its nominating bureaus (``Bureau.position``, set on the bureaus page), and within
a county by category, each category's names in rank order. A designee whose
nominating bureau is no longer among the organiser's (moved or retired since) comes
after them, by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from nominations.tables import Nomination
from portal.campaigns import nominating_bureaus, organiser_of
from portal.tables import Campaign, Category
from results.services import CategoryRanking, Row


@dataclass
class DivisionGroup:
    """One category's designees of one division."""

    category: Category
    rows: list[Row]


@dataclass
class Division:
    """A nominating bureau's area (安定区) and its designees by category."""

    name: str
    groups: list[DivisionGroup]

    @property
    def count(self) -> int:
        return sum(len(group.rows) for group in self.groups)


@dataclass(frozen=True)
class DivisionOrder:
    """Each candidate's nominating bureau, and each bureau's place in the order."""

    bureau_of: dict[int, int]
    place_of: dict[int, int]

    def key(self, row: Row) -> tuple[int, str, int]:
        """Sort key of a row: its division's place, then its division (by name)."""
        bureau = self.bureau_of.get(row.candidate_id, 0)
        return (self.place_of.get(bureau, len(self.place_of)), row.county, bureau)


async def division_order(campaign: Campaign) -> DivisionOrder:
    """The campaign's candidates' bureaus and the organiser's order of its bureaus."""
    bureau_of = {
        r["id"]: r["bureau"]
        for r in await Nomination.select(Nomination.id, Nomination.bureau)
        .where(Nomination.campaign == campaign.id)
        .run()
    }
    bureaus = await nominating_bureaus(campaign)
    place_of = {bureau.id: place for place, bureau in enumerate(bureaus)}
    if campaign.organiser is not None and campaign.organiser not in place_of:
        # A county campaign's organiser may nominate its own units: it comes first.
        organiser = await organiser_of(campaign)
        if organiser is not None:
            place_of = {organiser.id: -1, **place_of}
    return DivisionOrder(bureau_of, place_of)


def by_division(categories: list[CategoryRanking], order: DivisionOrder) -> list[Division]:
    """The designees of ``categories`` grouped by division in ``order``, then by
    category (in the campaign's category order), each group in rank order."""
    keyed: dict[tuple[int, str, int], dict[int, DivisionGroup]] = {}
    names: dict[tuple[int, str, int], str] = {}
    for item in categories:
        for row in item.designated:
            key = order.key(row)
            names.setdefault(key, row.county)
            groups = keyed.setdefault(key, {})
            groups.setdefault(item.category.id, DivisionGroup(item.category, [])).rows.append(row)
    return [Division(names[key], list(keyed[key].values())) for key in sorted(keyed)]


def in_division_order(rows: list[Row], order: DivisionOrder) -> list[Row]:
    """``rows`` by division in ``order``, rank order within a division (a stable sort)."""
    return sorted(rows, key=order.key)
