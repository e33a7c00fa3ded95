"""The brushing (刷票) dashboard: the city admin reviews held votes; the auditor reads.

``/staff/voting/{slug}`` gives every candidate's counted, held and excluded votes;
``/staff/voting/{slug}/candidates/{id}`` a candidate's votes per hour (an SVG drawn
here, no script), its busiest networks and its held votes, with the release and
exclude forms (city admin only).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import quote
from zoneinfo import ZoneInfo

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template

from portal.audit import Actor
from portal.auth import requires
from portal.errors import not_found
from portal.tables import Campaign, Role
from portal.web.charts import Bar, Segment, Tick, grid_lines, nice_ceiling
from portal.web.forms import ints
from portal.web.lookups import campaign_or_404
from voting import moderation, rings
from voting.brushing import RING_NOTE, RULE_LABELS
from voting.moderation import ModerationError, Selection, Tally
from voting.services import VotingService, status_totals
from voting.tables import VoteStatus

CITY_READERS = requires(Role.city_admin, Role.auditor)
CITY_ADMIN = requires(Role.city_admin)

CHART_HOURS = 72  # the most hours one chart shows
CHART_MIN_HOURS = 24
WEEKDAYS = "一二三四五六日"


async def candidate_or_404(campaign: Campaign, candidate_id: int) -> dict:
    candidate = await moderation.candidate_of(campaign, candidate_id)
    if candidate is None:
        raise not_found("找不到该候选对象。")
    return candidate


# --- the chart --------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """Geometry of the votes-per-hour chart (SVG user units)."""

    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    bars: list[Bar]
    ticks: list[Tick]
    grid: list[tuple[float, int]]  # (y, value)
    nights: list[tuple[float, float]]  # (x, width) of local night hours
    summary: str
    start_label: str
    end_label: str

    @property
    def bottom(self) -> int:
        return self.top + self.plot_height


def hour_text(hour: dt.datetime) -> str:
    return f"{hour.month}月{hour.day}日 {hour:%H}:00"


def build_chart(
    hours: dict[dt.datetime, Tally],
    start: dt.datetime,
    count: int,
    night: tuple[int, int],
) -> Chart:
    """``count`` local hours from ``start`` (an aware local hour), stacked by status."""
    width, height, left, right, top, bottom = 960, 300, 52, 12, 14, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    slots = [start + dt.timedelta(hours=i) for i in range(count)]
    # Aware arithmetic across a DST change: normalise each slot to its local hour.
    slots = [s.astimezone(start.tzinfo) for s in slots]
    peak = max((hours.get(s, Tally()).total for s in slots), default=0)
    top_value = nice_ceiling(peak)
    slot_w = plot_w / count
    bar_w = max(1.0, slot_w * 0.8)
    scale = plot_h / top_value
    bars, ticks, nights = [], [], []
    step = next(s for s in (1, 2, 3, 6, 12, 24) if count / s <= 12)
    totals = Tally()
    busiest: tuple[int, dt.datetime] | None = None
    for i, slot in enumerate(slots):
        x = left + i * slot_w
        if night[0] <= slot.hour < night[1]:
            nights.append((round(x, 2), round(slot_w, 2)))
        if slot.hour % step == 0:
            first_of_day = (
                not ticks or slot.hour < step
            )  # the date under the first and each midnight
            lines = (
                (f"{slot:%H}:00", f"{slot.month}月{slot.day}日")
                if first_of_day
                else (f"{slot:%H}:00",)
            )
            ticks.append(Tick(round(x, 2), lines))
        tally = hours.get(slot)
        if not tally or not tally.total:
            continue
        for status in VoteStatus:
            totals.add(status.value, getattr(tally, status.value))
        if busiest is None or tally.total > busiest[0]:
            busiest = (tally.total, slot)
        segments, y = [], float(top + plot_h)
        for status in (VoteStatus.counted, VoteStatus.held, VoteStatus.excluded):
            n = getattr(tally, status.value)
            if n:
                h = n * scale
                y -= h
                segments.append(Segment(status.value, round(y, 2), round(h, 2)))
        title = (
            f"{hour_text(slot)}–{(slot + dt.timedelta(hours=1)).astimezone(start.tzinfo):%H}:00："
            f"有效 {tally.counted} 票，待核查 {tally.held} 票，已剔除 {tally.excluded} 票"
        )
        bars.append(Bar(round(x + (slot_w - bar_w) / 2, 2), round(bar_w, 2), title, segments))
    grid = grid_lines(top, plot_h, top_value)
    end = slots[-1] + dt.timedelta(hours=1)
    summary = (
        f"{hour_text(slots[0])} 至 {hour_text(end.astimezone(start.tzinfo))}（当地时间）"
        f"共 {count} 小时：有效 {totals.counted} 票，待核查 {totals.held} 票，"
        f"已剔除 {totals.excluded} 票。"
    )
    if busiest:
        summary += f"票数最多的一小时是 {hour_text(busiest[1])}，{busiest[0]} 票。"
    else:
        summary += "这段时间没有投票。"
    return Chart(
        width=width,
        height=height,
        left=left,
        top=top,
        plot_width=plot_w,
        plot_height=plot_h,
        bars=bars,
        ticks=ticks,
        grid=grid,
        nights=nights,
        summary=summary,
        start_label=hour_text(slots[0]),
        end_label=hour_text(end.astimezone(start.tzinfo)),
    )


def chart_window(
    span: tuple[dt.datetime, dt.datetime], zone: ZoneInfo, until: dt.date | None
) -> tuple[dt.datetime, int]:
    """The chart's first local hour and its number of hours: up to ``CHART_HOURS`` ending
    at the last vote (or at the end of the day ``until``), at least ``CHART_MIN_HOURS``."""
    first = span[0].astimezone(zone).replace(minute=0, second=0, microsecond=0)
    last = span[1].astimezone(zone).replace(minute=0, second=0, microsecond=0)
    end = last + dt.timedelta(hours=1)
    if until is not None:
        end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), zone)
    end_utc = end.astimezone(dt.UTC)
    earliest = end_utc - dt.timedelta(hours=CHART_HOURS)
    latest = end_utc - dt.timedelta(hours=CHART_MIN_HOURS)
    start_utc = max(earliest, min(first.astimezone(dt.UTC), latest))
    count = int((end_utc - start_utc).total_seconds() // 3600)
    return start_utc.astimezone(zone), count


def parse_day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


# --- pages ------------------------------------------------------------------------------


class BrushingDashboard(Controller):
    """Brushing review per campaign: city admins decide, auditors read."""

    path = "/staff/voting/{slug:str}"
    include_in_schema = False

    @get("/", name="brushing_overview", guards=[CITY_READERS])
    async def overview(
        self, request: Request, voting: NamedDependency[VotingService], slug: FromPath[str]
    ) -> Template:
        campaign = await campaign_or_404(slug, request.user)
        tallies = await moderation.campaign_tallies(campaign.id)
        sections = []
        for category, candidates in await moderation.campaign_candidates(campaign):
            rows = [{**c, "tally": tallies.get(c["id"], Tally())} for c in candidates]
            rows.sort(key=lambda r: (-r["tally"].held, -r["tally"].flagged, r["id"]))
            sections.append((category, rows))
        return Template(
            "voting/brushing.html",
            context={
                "campaign": campaign,
                "sections": sections,
                "totals": await status_totals(campaign.id),
                "rules": await moderation.rule_counts(campaign.id),
                "held_rules": await moderation.rule_counts(campaign.id, held_only=True),
                "rule_labels": RULE_LABELS,
                "rule_texts": voting.brushing.describe(),
            },
        )

    @get("/candidates/{candidate_id:int}", name="brushing_candidate", guards=[CITY_READERS])
    async def candidate(
        self,
        request: Request,
        voting: NamedDependency[VotingService],
        slug: FromPath[str],
        candidate_id: FromPath[int],
        network: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        page: FromQuery[int] = 1,
    ) -> Template:
        campaign = await campaign_or_404(slug, request.user)
        candidate = await candidate_or_404(campaign, candidate_id)
        zone = ZoneInfo(campaign.timezone)
        tally = (await moderation.campaign_tallies(campaign.id)).get(candidate_id, Tally())
        checks = voting.brushing
        night = (int(checks.night_start), int(checks.night_end))
        chart = None
        span = await moderation.vote_span(candidate_id)
        if span is not None:
            start, count = chart_window(span, zone, parse_day(until))
            end = start + dt.timedelta(hours=count)
            hours = await moderation.hourly(candidate_id, start, end, campaign.timezone)
            chart = build_chart(hours, start, count, night)
        network = (network or "").strip()[:64]
        statuses = [s.value for s in VoteStatus] if network else [VoteStatus.held.value]
        listed = await moderation.listed_count(candidate_id, network=network, statuses=statuses)
        pages = max(1, -(-listed // moderation.VOTES_PER_PAGE))
        page = min(max(1, page), pages)  # past either end: the nearest page
        return Template(
            "voting/brushing_candidate.html",
            context={
                "campaign": campaign,
                "candidate": candidate,
                "tally": tally,
                "chart": chart,
                "night": night,
                "days": await moderation.daily(candidate_id),
                "networks": await moderation.top_networks(candidate_id),
                "held_networks": await moderation.held_networks(candidate_id),
                "rings": await rings.ring_groups(candidate_id),
                "ring_note": RING_NOTE,
                "held_rules": await moderation.rule_counts(
                    campaign.id, candidate_id, held_only=True
                ),
                "rule_labels": RULE_LABELS,
                "votes": await moderation.listed_votes(
                    candidate_id, network=network, statuses=statuses, page=page
                ),
                "listed": listed,
                "page": page,
                "pages": pages,
                "network": network,
                "vote_status": VoteStatus,
                "closed": campaign.phase in moderation.DECISION_CLOSED,
                "base": f"/staff/voting/{campaign.slug}/candidates/{candidate_id}",
            },
        )

    @post("/candidates/{candidate_id:int}/release", name="brushing_release", guards=[CITY_ADMIN])
    async def release(
        self,
        request: Request,
        voting: NamedDependency[VotingService],
        actor: NamedDependency[Actor],
        slug: FromPath[str],
        candidate_id: FromPath[int],
    ) -> Redirect:
        return await self._decide(request, voting, actor, slug, candidate_id, moderation.RELEASE)

    @post("/candidates/{candidate_id:int}/exclude", name="brushing_exclude", guards=[CITY_ADMIN])
    async def exclude(
        self,
        request: Request,
        voting: NamedDependency[VotingService],
        actor: NamedDependency[Actor],
        slug: FromPath[str],
        candidate_id: FromPath[int],
    ) -> Redirect:
        return await self._decide(request, voting, actor, slug, candidate_id, moderation.EXCLUDE)

    async def _decide(
        self,
        request: Request,
        voting: VotingService,
        actor: Actor,
        slug: str,
        candidate_id: int,
        action: str,
    ) -> Redirect:
        campaign = await campaign_or_404(slug, request.user)
        await candidate_or_404(campaign, candidate_id)
        form = await request.form()
        selection = Selection(
            candidate_id=candidate_id,
            vote_ids=tuple(sorted(set(ints(form.getall("votes", []))))),
            rule=str(form.get("rule") or "").strip(),
            network=str(form.get("network") or "").strip()[:64],
            block=str(form.get("block") or "").strip()[:64],
            agent=str(form.get("agent") or "").strip()[:16],
        )
        decide = moderation.release if action == moderation.RELEASE else moderation.exclude
        try:
            decision = await decide(
                voting, actor, campaign, selection, str(form.get("reason") or "")
            )
        except ModerationError as exc:
            flash(request, exc.message, "error")
        else:
            if action == moderation.RELEASE:
                message = f"已放行 {decision.total} 票，计入有效票。"
            else:
                were_counted = decision.moved.get(VoteStatus.counted.value, 0)
                message = f"已剔除 {decision.total} 票"
                message += f"（其中 {were_counted} 票原为有效票）。" if were_counted else "。"
            flash(request, message, "success")
        target = f"/staff/voting/{slug}/candidates/{candidate_id}"
        view = str(form.get("view_network") or "").strip()[:64]
        if view:
            target += f"?network={quote(view, safe='')}"
        return Redirect(path=target)
