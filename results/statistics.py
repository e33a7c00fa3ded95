"""The figures of a campaign on one page (数据): nominations and designations by category
and nominating bureau, visits and votes per day, the designees' combined work figures,
and the organiser's campaigns year over year.

Every figure is counted from the records when asked for; nothing is typed in. What the
public may see follows the campaign's phase, as the other public pages decide it:

- shortlisted candidates are public in every phase but ``draft`` (their pages are);
- how many were nominated (submitted, whatever vetting made of them; never a draft or a
  withdrawn nomination) once nominations have closed (``vetting`` on);
- votes by day and status from ``voting`` on (the vote page shows the totals live; the
  ledger gives every vote once voting has closed);
- designations and the designees' work figures once the campaign is designated
  (``published`` with its designation date), as the honour list.

A figure not yet public is ``None``; pages show it as "not yet published".
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from piccolo.query.functions.aggregate import Count

from nominations.fields import ENTRUSTED, FIELDS_BY_KEY
from nominations.tables import Nomination, Status
from portal import bureaus, visits
from portal.campaigns import categories_of, nominating_bureaus, organiser_of
from portal.phases import has_reached
from portal.stores import StateStore
from portal.tables import Bureau, Campaign, Category, Phase, VisitDay
from results.tables import Standing, Tally
from voting.tables import Vote, VoteStatus

# Nominations that were put forward: submitted, whatever the vetting made of them.
NOMINATED = (
    Status.submitted.value,
    Status.returned.value,
    Status.shortlisted.value,
    Status.rejected.value,
)
# The work figures a nomination records, as the city's yearly report gives them.
WORK_FIELDS = (
    "disputes_mediated",
    "disputes_resolved",
    "judicial_confirmations",
    "on_the_spot",
    *ENTRUSTED,
)


def field_label(key: str) -> str:
    """A record field's label without its unit: 法院委托移送（件） → 法院委托移送."""
    return FIELDS_BY_KEY[key].label.rsplit("（", 1)[0]


def percent(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in per cent, to one decimal (None when ``whole`` is 0)."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_UP)


# --- what the public may see ------------------------------------------------------------


@dataclass(frozen=True)
class Visibility:
    """Which of a campaign's figures are public now."""

    nominations: bool
    votes: bool
    designations: bool


async def visibility(campaign: Campaign) -> Visibility:
    designated = False
    if campaign.phase == Phase.published.value:
        tally = await Tally.select(Tally.designated_at).where(Tally.campaign == campaign.id).run()
        designated = bool(tally) and tally[0]["designated_at"] is not None
    return Visibility(
        nominations=has_reached(campaign, Phase.vetting),
        votes=has_reached(campaign, Phase.voting),
        designations=designated,
    )


# --- counts by category and bureau -------------------------------------------------------


@dataclass
class Counts:
    """Nominated, shortlisted and designated (None: not public yet)."""

    nominated: int | None = 0
    shortlisted: int = 0
    designated: int | None = 0

    def add(self, other: Counts) -> None:
        if self.nominated is not None and other.nominated is not None:
            self.nominated += other.nominated
        self.shortlisted += other.shortlisted
        if self.designated is not None and other.designated is not None:
            self.designated += other.designated


@dataclass
class BureauRow:
    name: str
    by_category: dict[int, Counts]
    total: Counts


async def _counts(campaign: Campaign, seen: Visibility) -> dict[tuple[int, int], Counts]:
    """Counts per (bureau, category) of the campaign."""
    found: dict[tuple[int, int], Counts] = defaultdict(
        lambda: Counts(0 if seen.nominations else None, 0, 0 if seen.designations else None)
    )
    rows = (
        await Nomination.select(
            Nomination.bureau, Nomination.category, Nomination.status, Count(alias="n")
        )
        .where((Nomination.campaign == campaign.id) & Nomination.status.is_in(list(NOMINATED)))
        .group_by(Nomination.bureau, Nomination.category, Nomination.status)
        .run()
    )
    for row in rows:
        counts = found[(row["bureau"], row["category"])]
        if seen.nominations:
            counts.nominated += row["n"]  # type: ignore[operator]
        if row["status"] == Status.shortlisted.value:
            counts.shortlisted += row["n"]
    if seen.designations:
        for row in (
            await Standing.select(
                Standing.candidate.bureau.as_alias("bureau"), Standing.category, Count(alias="n")
            )
            .where((Standing.campaign == campaign.id) & (Standing.designated == True))  # noqa: E712
            .group_by(Standing.candidate.bureau, Standing.category)
            .run()
        ):
            found[(row["bureau"], row["category"])].designated += row["n"]  # type: ignore[operator]
    return found


async def _bureau_names(campaign: Campaign, ids: set[int]) -> list[tuple[int, str]]:
    """The nominating bureaus in their order (then any other that nominated), named as
    they were when the campaign was published."""
    listed = await nominating_bureaus(campaign)
    known = {b.id for b in listed}
    others = [i for i in ids if i not in known]
    if others:
        listed += await Bureau.objects().where(Bureau.id.is_in(others)).order_by(Bureau.id).run()
    named = []
    for bureau in listed:
        name = bureau.name
        if campaign.finished_at is not None:
            name = (await bureaus.name_at(bureau, campaign.finished_at))[0]
        named.append((bureau.id, name))
    return named


# --- votes and visits per day -------------------------------------------------------------


@dataclass(frozen=True)
class DayVotes:
    day: str
    counted: int
    held: int
    excluded: int

    @property
    def total(self) -> int:
        return self.counted + self.held + self.excluded


def _days(first: str, last: str) -> list[str]:
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


async def votes_by_day(campaign_id: int) -> list[DayVotes]:
    """Recorded votes per local day and status, every day from the first to the last."""
    rows = (
        await Vote.select(Vote.day, Vote.status, Count(alias="n"))
        .where(Vote.campaign == campaign_id)
        .group_by(Vote.day, Vote.status)
        .run()
    )
    if not rows:
        return []
    by_day: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(VoteStatus, 0))
    for row in rows:
        by_day[row["day"]][VoteStatus(row["status"])] += row["n"]
    return [
        DayVotes(day, *(by_day.get(day, {}).get(s, 0) for s in VoteStatus))
        for day in _days(min(by_day), max(by_day))
    ]


async def visits_by_day(campaign_id: int) -> list[tuple[str, int]]:
    """Page views per local day, as recorded since per-day counting began."""
    rows = (
        await VisitDay.select(VisitDay.day, VisitDay.visits)
        .where(VisitDay.campaign == campaign_id)
        .order_by(VisitDay.day)
        .run()
    )
    if not rows:
        return []
    counts = {row["day"]: row["visits"] for row in rows}
    return [(day, counts.get(day, 0)) for day in _days(rows[0]["day"], rows[-1]["day"])]


# --- the designees' work figures ----------------------------------------------------------


@dataclass
class WorkFigures:
    """The designees' figures added up; ``reported`` counts designees with any figure."""

    designees: int = 0
    reported: int = 0
    sums: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WORK_FIELDS, 0))

    def add(self, row: dict) -> None:
        self.designees += 1
        if any(row.get(key) is not None for key in WORK_FIELDS):
            self.reported += 1
        for key in WORK_FIELDS:
            self.sums[key] += row.get(key) or 0

    @property
    def mediated(self) -> int:
        return self.sums["disputes_mediated"]

    @property
    def resolved(self) -> int:
        return self.sums["disputes_resolved"]

    @property
    def success_rate(self) -> Decimal | None:
        return percent(self.resolved, self.mediated)

    @property
    def on_the_spot_share(self) -> Decimal | None:
        return percent(self.sums["on_the_spot"], self.mediated)

    @property
    def entrusted(self) -> list[tuple[str, str, int]]:
        """(key, label, count) of each source of entrusted cases."""
        return [(key, field_label(key), self.sums[key]) for key in ENTRUSTED]

    @property
    def entrusted_total(self) -> int:
        return sum(self.sums[key] for key in ENTRUSTED)


async def designees_work(campaign_id: int) -> dict[int, WorkFigures]:
    """The designees' work figures per category id (only designated candidates)."""
    rows = (
        await Standing.select(
            Standing.category,
            *(getattr(Standing.candidate, key).as_alias(key) for key in WORK_FIELDS),
        )
        .where((Standing.campaign == campaign_id) & (Standing.designated == True))  # noqa: E712
        .run()
    )
    found: dict[int, WorkFigures] = defaultdict(WorkFigures)
    for row in rows:
        found[row["category"]].add(row)
    return found


# --- one campaign ---------------------------------------------------------------------------


@dataclass
class CategoryRow:
    category: Category
    counts: Counts
    work: WorkFigures | None


@dataclass
class CampaignStatistics:
    campaign: Campaign
    organiser: str
    seen: Visibility
    categories: list[CategoryRow]
    total: Counts
    bureaus: list[BureauRow]
    votes: list[DayVotes] | None
    visits: int
    visit_days: list[tuple[str, int]]
    work: WorkFigures | None
    series: list[YearPoint] = field(default_factory=list)

    @property
    def vote_totals(self) -> DayVotes | None:
        if self.votes is None:
            return None
        return DayVotes(
            "",
            sum(d.counted for d in self.votes),
            sum(d.held for d in self.votes),
            sum(d.excluded for d in self.votes),
        )

    @property
    def visits_by_day_total(self) -> int:
        return sum(n for _, n in self.visit_days)

    @property
    def visits_unattributed(self) -> int:
        """Views not in a day's row: before per-day counting began, or still pending."""
        return max(0, self.visits - self.visits_by_day_total)


async def campaign_statistics(campaign: Campaign, store: StateStore) -> CampaignStatistics:
    """Everything the statistics page of a public campaign shows, with the series of its
    organiser's campaigns."""
    seen = await visibility(campaign)
    counts = await _counts(campaign, seen)
    categories = await categories_of(campaign.id)
    work = await designees_work(campaign.id) if seen.designations else None
    empty = Counts(0 if seen.nominations else None, 0, 0 if seen.designations else None)
    rows, total = [], Counts(empty.nominated, 0, empty.designated)
    for category in categories:
        row = Counts(empty.nominated, 0, empty.designated)
        for (_, category_id), c in counts.items():
            if category_id == category.id:
                row.add(c)
        total.add(row)
        rows.append(
            CategoryRow(category, row, work.get(category.id, WorkFigures()) if work else None)
        )
    bureau_rows = []
    for bureau_id, name in await _bureau_names(campaign, {b for b, _ in counts}):
        by_category = {
            c.id: counts.get((bureau_id, c.id), Counts(empty.nominated, 0, empty.designated))
            for c in categories
        }
        line = Counts(empty.nominated, 0, empty.designated)
        for c in by_category.values():
            line.add(c)
        bureau_rows.append(BureauRow(name, by_category, line))
    combined = None
    if work is not None:
        combined = WorkFigures()
        for figures in work.values():
            combined.designees += figures.designees
            combined.reported += figures.reported
            for key in WORK_FIELDS:
                combined.sums[key] += figures.sums[key]
    organiser = await organiser_of(campaign)
    stats = CampaignStatistics(
        campaign=campaign,
        organiser=organiser.name if organiser else "",
        seen=seen,
        categories=rows,
        total=total,
        bureaus=bureau_rows,
        votes=await votes_by_day(campaign.id) if seen.votes else None,
        visits=await visits.visits(store, campaign),
        visit_days=await visits_by_day(campaign.id),
        work=combined,
    )
    stats.series = await year_series(campaign, store)
    return stats


# --- year over year -------------------------------------------------------------------------


@dataclass(frozen=True)
class YearPoint:
    """One campaign of the organiser in the series (None: not public yet)."""

    slug: str
    year: int
    title: str
    phase: str
    nominated: int | None
    shortlisted: int
    designated: int | None
    votes: int | None
    visits: int
    mediated: int | None
    resolved: int | None

    @property
    def success_rate(self) -> Decimal | None:
        if self.mediated is None or self.resolved is None:
            return None
        return percent(self.resolved, self.mediated)


async def organiser_campaigns(campaign: Campaign) -> list[Campaign]:
    """The public campaigns of the campaign's organiser, oldest first."""
    where = (
        Campaign.organiser == campaign.organiser
        if campaign.organiser is not None
        else Campaign.organiser.is_null()
    )
    return (
        await Campaign.objects()
        .where(where & (Campaign.phase != Phase.draft.value))
        .order_by(Campaign.year)
        .order_by(Campaign.id)
        .run()
    )


async def year_point(campaign: Campaign, store: StateStore) -> YearPoint:
    """One campaign's headline figures, as public as its phase allows."""
    seen = await visibility(campaign)
    total = Counts(0 if seen.nominations else None, 0, 0 if seen.designations else None)
    for counts in (await _counts(campaign, seen)).values():
        total.add(counts)
    votes = None
    if seen.votes:
        votes = await Vote.count().where(
            (Vote.campaign == campaign.id) & (Vote.status == VoteStatus.counted.value)
        )
    mediated = resolved = None
    if seen.designations:
        work = WorkFigures()
        for figures in (await designees_work(campaign.id)).values():
            for key in ("disputes_mediated", "disputes_resolved"):
                work.sums[key] += figures.sums[key]
        mediated, resolved = work.mediated, work.resolved
    return YearPoint(
        slug=campaign.slug,
        year=campaign.year,
        title=campaign.title,
        phase=campaign.phase,
        nominated=total.nominated,
        shortlisted=total.shortlisted,
        designated=total.designated,
        votes=votes,
        visits=await visits.visits(store, campaign),
        mediated=mediated,
        resolved=resolved,
    )


async def year_series(campaign: Campaign, store: StateStore) -> list[YearPoint]:
    """The headline figures of every public campaign of the organiser, by year."""
    return [await year_point(c, store) for c in await organiser_campaigns(campaign)]


@dataclass
class OrganiserSeries:
    """An organiser's campaigns year over year (the overview page)."""

    organiser: str
    points: list[YearPoint]


async def all_series(store: StateStore, year: int | None = None) -> list[OrganiserSeries]:
    """Every organiser with public campaigns (of ``year``, if given) and its series."""
    query = Campaign.objects().where(Campaign.phase != Phase.draft.value)
    if year is not None:
        query = query.where(Campaign.year == year)
    leaders: dict[int | None, Campaign] = {}
    for campaign in await query.order_by(Campaign.year, ascending=False).run():
        leaders.setdefault(campaign.organiser, campaign)
    found = []
    for campaign in leaders.values():
        organiser = await organiser_of(campaign)
        points = await year_series(campaign, store)
        found.append(OrganiserSeries(organiser.name if organiser else "", points))
    return sorted(found, key=lambda s: s.organiser)


async def public_years() -> list[int]:
    """The years that have public campaigns, newest first."""
    rows = (
        await Campaign.select(Campaign.year)
        .where(Campaign.phase != Phase.draft.value)
        .distinct()
        .order_by(Campaign.year, ascending=False)
        .run()
    )
    return [row["year"] for row in rows]
