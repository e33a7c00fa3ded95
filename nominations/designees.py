"""Designations from the level below: the units and mediators a nominating bureau has
itself designated, which it may put forward to its parent's campaign.

A higher level often accepts only nominees already designated one level down (a
province's "枫桥式人民调解委员会" takes only committees a city designated). A category
says so with ``requires_designation``; its nomination form then offers the nominating
bureau's current designees, copies the one picked (name, organisation, figures; all
editable) and keeps a link to the earlier nomination, which vetting shows.

The app that keeps designations registers where they come from in ``SOURCES`` (today
``results``: the register of designations, revoked titles left out); nominations only
reads them here and never imports that app.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nominations import fields
from nominations.tables import HOLDS_PLACE, Nomination, Status
from portal.tables import Campaign, Category

# A designation's usual term (任期) when its source states none: it counts in
# campaigns of the years it covers.
TERM_YEARS = 3


@dataclass(frozen=True)
class Designee:
    """One earlier designation: the nomination that won it and where it was won."""

    nomination_id: int
    name: str
    organisation: str
    category: str  # the earlier category's title
    campaign_slug: str
    year: int
    designated_on: dt.date
    document_no: str
    designated_by: str  # the designating bureau's name as it was then
    valid_until: dt.date | None = None  # the term's last day, as the register keeps it

    def current_in(self, year: int) -> bool:
        """Whether the designation's term covers a campaign of ``year`` (the years from
        the designation's to the one before its term ends)."""
        if self.valid_until is None:
            return self.designated_on.year <= year < self.designated_on.year + TERM_YEARS
        ends = self.valid_until + dt.timedelta(days=1)
        return self.designated_on.year <= year < ends.year

    @property
    def described(self) -> str:
        """经XX市司法局2022年12月5日命名为“枫桥式”人民调解委员会（X司发〔2022〕45号）."""
        day = self.designated_on
        text = f"经{self.designated_by}{day.year}年{day.month}月{day.day}日命名为{self.category}"
        return f"{text}（{self.document_no}）" if self.document_no else text


# (bureau id, category kind) -> that bureau's designations of that kind, any year.
Source = Callable[[int, str], Awaitable[list[Designee]]]
SOURCES: list[Source] = []


async def designees(bureau_id: int, category: Category, campaign: Campaign) -> list[Designee]:
    """The bureau's designations of the category's kind current in the campaign's year,
    newest first."""
    found = [d for source in SOURCES for d in await source(bureau_id, category.kind)]
    current = [d for d in found if d.current_in(campaign.year)]
    return sorted(current, key=lambda d: (d.designated_on, -d.nomination_id), reverse=True)


async def taken(campaign: Campaign, ids: list[int], but: int | None = None) -> set[int]:
    """Which of the designations ``ids`` a nomination of the campaign already puts
    forward (withdrawn and rejected nominations free theirs), other than ``but``."""
    if not ids:
        return set()
    query = Nomination.select(Nomination.designation).where(
        (Nomination.campaign == campaign.id)
        & Nomination.designation.is_in(ids)
        & Nomination.status.is_in([s.value for s in (*HOLDS_PLACE, Status.draft)])
    )
    if but is not None:
        query = query.where(Nomination.id != but)
    return {row["designation"] for row in await query.run()}


async def copied(designee: Designee, kind: str) -> dict[str, Any]:
    """The earlier nomination's values of the kind's fields, as a new form starts with."""
    earlier = (
        await Nomination.objects().where(Nomination.id == designee.nomination_id).first().run()
    )
    if earlier is None:
        return {}
    return {f.key: getattr(earlier, f.key) for f in fields.fields_for(kind)}


async def earlier(
    nomination: Nomination, category: Category, campaign: Campaign
) -> Designee | None:
    """The designation a nomination was picked from, if it is still current (None also
    when it was never picked from one: check ``nomination.designation``)."""
    if nomination.designation is None:
        return None
    found = await designees(nomination.bureau, category, campaign)
    return next((d for d in found if d.nomination_id == nomination.designation), None)
