"""The public statistics (数据): a campaign's figures with charts and tables, its workbook,
and the organisers' campaigns year over year."""

from __future__ import annotations

import datetime as dt

import anyio.to_thread
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from portal import visits
from portal.pagecache import cached_page
from portal.sheets import xlsx_response
from portal.stores import Stores
from portal.web.charts import BarChart, Series, bar_chart
from portal.web.lookups import public_campaign
from results import statistics
from results.statistics import CampaignStatistics, Counts, YearPoint
from results.statistics_sheets import figure_tables, series_table, statistics_workbook
from voting.tables import VoteStatus


def short_title(title: str) -> str:
    """A category's title without the shared “枫桥式” (司法所, 人民调解员 …)."""
    return title.replace("“枫桥式”", "") or title


def short_bureau(name: str) -> str:
    """A bureau's name as a tick label: 安定区司法局 → 安定区."""
    for suffix in ("司法局", "司法厅"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def funnel_series(
    seen_nominated: bool, seen_designated: bool, rest: str = "入围未命名"
) -> list[Series]:
    """The stacked parts of a nominated → shortlisted → designated bar."""
    parts = []
    if seen_designated:
        parts.append(Series("designated", "已命名"))
    parts.append(Series("shortlisted", rest if seen_designated else "入围"))
    if seen_nominated:
        parts.append(Series("other", "未入围"))
    return parts


def funnel_values(counts: Counts, seen_nominated: bool, seen_designated: bool) -> list[int]:
    """A bar's parts: designated, shortlisted but not designated, nominated but not
    shortlisted (each only when public); their sum is the bar's top figure."""
    designated = counts.designated or 0
    values = [designated] if seen_designated else []
    values.append(counts.shortlisted - (designated if seen_designated else 0))
    if seen_nominated:
        values.append(max(0, (counts.nominated or 0) - counts.shortlisted))
    return values


def funnel_chart(
    labels: list[str], counts: list[Counts], nominated: bool, designated: bool, **kw: int
) -> BarChart:
    return bar_chart(
        labels,
        funnel_series(nominated, designated),
        [funnel_values(c, nominated, designated) for c in counts],
        unit="个",
        **kw,
    )


def campaign_charts(stats: CampaignStatistics) -> dict[str, BarChart | None]:
    """The page's charts by the key of the table under each."""
    seen = stats.seen
    nominated, designated = seen.nominations, seen.designations
    charts: dict[str, BarChart | None] = {
        "categories": funnel_chart(
            [short_title(r.category.title) for r in stats.categories],
            [r.counts for r in stats.categories],
            nominated,
            designated,
            tick_width=8,
        ),
        "bureaus": funnel_chart(
            [short_bureau(b.name) for b in stats.bureaus],
            [b.total for b in stats.bureaus],
            nominated,
            designated,
            tick_width=5,
        ),
        "votes": None,
        "visits": None,
        "work": None,
        "series": series_chart(stats.series),
    }
    if stats.votes:
        charts["votes"] = bar_chart(
            [d.day[5:] for d in stats.votes],
            [Series(s.value, s.label) for s in VoteStatus],
            [[d.counted, d.held, d.excluded] for d in stats.votes],
            unit="票",
        )
    if stats.visit_days:
        charts["visits"] = bar_chart(
            [day[5:] for day, _ in stats.visit_days],
            [Series("visits", "访问量")],
            [[n] for _, n in stats.visit_days],
            unit="次",
        )
    if stats.work is not None and stats.work.entrusted_total:
        charts["work"] = bar_chart(
            [label.removesuffix("委托移送") for _, label, _ in stats.work.entrusted],
            [Series("entrusted", "委托移送")],
            [[n] for _, _, n in stats.work.entrusted],
            unit="件",
            tick_width=6,
        )
    return charts


def series_chart(points: list[YearPoint]) -> BarChart | None:
    """Each year's nominated → shortlisted → designated bar; a part not public that year
    is drawn as nothing (the table says 未公布)."""
    if not points:
        return None
    values = [
        [
            p.designated or 0,
            p.shortlisted - (p.designated or 0),
            max(0, (p.nominated or 0) - p.shortlisted),
        ]
        for p in points
    ]
    # A year not designated yet has all its shortlisted in the middle part.
    series = funnel_series(True, True, rest="其余入围")
    return bar_chart([f"{p.year}年" for p in points], series, values, unit="个")


class StatisticsPages(Controller):
    include_in_schema = False

    @get("/campaigns/{slug:str}/statistics", name="statistics")
    async def campaign(
        self, request: Request, stores: NamedDependency[Stores], slug: FromPath[str]
    ) -> Response:
        async def render() -> tuple[Template, int]:
            campaign = await public_campaign(slug)
            stats = await statistics.campaign_statistics(campaign, stores.state)
            return (
                Template(
                    "results/statistics.html",
                    context={
                        "campaign": campaign,
                        "stats": stats,
                        "tables": figure_tables(stats),
                        "charts": campaign_charts(stats),
                        "short_title": short_title,
                    },
                ),
                campaign.id,
            )

        async def count(campaign_id: int) -> None:
            await visits.count_visit(stores.state, campaign_id)

        return await cached_page(request, render, count)

    @get("/campaigns/{slug:str}/statistics.xlsx", name="statistics_workbook")
    async def workbook(self, stores: NamedDependency[Stores], slug: FromPath[str]) -> Response:
        campaign = await public_campaign(slug)
        stats = await statistics.campaign_statistics(campaign, stores.state)
        content = await anyio.to_thread.run_sync(
            statistics_workbook, stats, dt.datetime.now(dt.UTC)
        )
        return xlsx_response(content, f"{campaign.slug}-statistics.xlsx")

    @get("/statistics", name="statistics_overview")
    async def overview(
        self, stores: NamedDependency[Stores], year: FromQuery[int | None] = None
    ) -> Template:
        return Template(
            "results/statistics_overview.html",
            context={
                "year": year,
                "organisers": [
                    (s, series_chart(s.points), series_table(s.points))
                    for s in await statistics.all_series(stores.state, year)
                ],
                "years": await statistics.public_years(),
            },
        )
