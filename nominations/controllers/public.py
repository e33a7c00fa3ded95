"""The public side of nominations: shortlisted candidates (API and pages).

Only public fields ever leave here: name, organisation, county, summary, deeds,
photo. Contact data and documents never do. Live vote counts appear where the
category makes them public (``public_counts``) once voting has started.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from piccolo.columns import Column

from nominations import fields
from nominations.fields import organisation
from nominations.markdown import render
from nominations.tables import Nomination, Status
from portal import visits
from portal.campaigns import categories_of
from portal.controllers.api import ApiOperation, error_responses, public_campaign
from portal.errors import not_found
from portal.origin import absolute_url
from portal.phases import ENDED, NOT_STARTED, campaign_window
from portal.tables import PHASE_ORDER, Campaign, Category, Phase
from portal.templating import localtime
from stories.reading import stories_of_candidate


class Candidate(msgspec.Struct):
    id: int
    category: str
    name: str
    organisation: str
    county: str
    summary: str
    photo_url: str | None
    votes: int | None


PUBLIC_COLUMNS = (
    Nomination.id,
    Nomination.name,
    Nomination.township,
    Nomination.committee,
    Nomination.summary,
    Nomination.photo,
    Nomination.thumbnail,
    Nomination.category,
    Nomination.bureau.county.as_alias("county"),
    Nomination.category.key.as_alias("category_key"),
    Nomination.category.kind.as_alias("kind"),
)


def photo_url(row: dict[str, Any], variant: str = "photo") -> str | None:
    if not row.get("photo"):
        return None
    return f"/media/candidates/{row['id']}/{variant}.jpg"


@dataclass(frozen=True)
class VotingState:
    """Whether a campaign takes votes now, and how the public pages say so."""

    open: bool
    status: str  # "open", "not_started" or "ended"
    label: str
    message: str


def voting_state(campaign: Campaign, now: dt.datetime) -> VotingState:
    """Open exactly when the voting service accepts votes (``voting.window``), with what
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
    if not public_counts:
        return False
    return PHASE_ORDER.index(Phase(campaign.phase)) >= PHASE_ORDER.index(Phase.voting)


async def public_counts(
    request: Request, campaign: Campaign, categories: list[Category], rows: list[dict]
) -> dict[int, int]:
    """Live counted votes of the candidates in ``rows`` whose category shows them."""
    shown = {c.id for c in categories if counts_public(campaign, c.public_counts)}
    ids = [row["id"] for row in rows if row["category"] in shown]
    if not ids:
        return {}
    return await request.app.state.voting.counts(campaign.id, ids)


async def shortlisted(campaign: Campaign, category_key: str | None = None) -> list[dict]:
    query = Nomination.select(*PUBLIC_COLUMNS).where(
        (Nomination.campaign == campaign.id) & (Nomination.status == Status.shortlisted.value)
    )
    if category_key:
        query = query.where(Nomination.category.key == category_key)
    return (
        await query.order_by(Nomination.category.position)
        .order_by(Nomination.bureau.position)
        .order_by(Nomination.id)
        .run()
    )


# What a candidate's vote form (and any page about one candidate) needs beyond the public columns.
CANDIDATE_COLUMNS = (
    *PUBLIC_COLUMNS,
    Nomination.category.title.as_alias("category_title"),
    Nomination.category.votes_per_day.as_alias("votes_per_day"),
)
# The candidate's own page adds the deeds, the year's figures and whether counts are public.
DETAIL_COLUMNS = (
    Nomination.deeds,
    Nomination.disputes_mediated,
    Nomination.disputes_resolved,
    Nomination.judicial_confirmations,
    Nomination.on_the_spot,
    Nomination.category.public_counts.as_alias("public_counts"),
)


async def load_candidate(
    slug: str, candidate_id: int, *extra: Column
) -> tuple[Campaign, dict[str, Any]]:
    """The public campaign and one of its shortlisted candidates, or 404.

    The candidate (``CANDIDATE_COLUMNS`` and any ``extra`` columns, with ``organisation``
    and ``thumb_url`` added) comes from one query joining its category and bureau.
    """
    campaign = await public_campaign(slug)
    row = (
        await Nomination.select(*CANDIDATE_COLUMNS, *extra)
        .where(
            (Nomination.id == candidate_id)
            & (Nomination.campaign == campaign.id)
            & (Nomination.status == Status.shortlisted.value)
        )
        .first()
        .run()
    )
    if row is None:
        raise not_found("找不到该候选对象。")
    row["organisation"] = organisation(row)
    row["thumb_url"] = photo_url(row, "thumbnail")
    return campaign, row


async def public_candidate(candidate_id: int) -> Nomination:
    """A shortlisted nomination of a public campaign, else 404."""
    nomination = (
        await Nomination.objects()
        .where((Nomination.id == candidate_id) & (Nomination.status == Status.shortlisted.value))
        .first()
        .run()
    )
    if nomination is None:
        raise not_found("找不到该候选对象。")
    campaign = await Campaign.objects().where(Campaign.id == nomination.campaign).first().run()
    if campaign is None or campaign.phase == Phase.draft.value:
        raise not_found("找不到该候选对象。")
    return nomination


class CandidateApi(Controller):
    path = "/api/v1/campaigns/{slug:str}/candidates"
    tags = ["campaigns"]

    @get(
        "/",
        summary="Shortlisted candidates",
        operation_id="listCandidates",
        responses=error_responses((400, "Invalid request"), (404, "Unknown campaign")),
        operation_class=ApiOperation,
    )
    async def candidates(
        self, request: Request, slug: FromPath[str], category: FromQuery[str | None] = None
    ) -> list[Candidate]:
        campaign = await public_campaign(slug)
        rows = await shortlisted(campaign, category)
        # Live counts only where the category publishes them, from voting on.
        counts = await public_counts(request, campaign, await categories_of(campaign.id), rows)
        return [
            Candidate(
                id=row["id"],
                category=row["category_key"],
                name=row["name"],
                organisation=organisation(row),
                county=row["county"],
                summary=row["summary"],
                photo_url=photo_url(row),
                votes=counts.get(row["id"]),
            )
            for row in rows
        ]


class CandidatePages(Controller):
    path = "/campaigns/{slug:str}/candidates"
    include_in_schema = False

    @get("/", name="candidate_list")
    async def index(self, request: Request, slug: FromPath[str]) -> Template:
        campaign = await public_campaign(slug)
        await visits.count_visit(request.app.state.stores.state, campaign.id)
        categories = await categories_of(campaign.id)
        rows = await shortlisted(campaign)
        by_category: dict[int, list[dict]] = {c.id: [] for c in categories}
        for row in rows:
            row["organisation"] = organisation(row)
            row["thumb_url"] = photo_url(row, "thumbnail")
            by_category.setdefault(row["category"], []).append(row)
        return Template(
            "nominations/candidates.html",
            context={
                "campaign": campaign,
                "categories": categories,
                "by_category": by_category,
                "voting": voting_state(campaign, request.app.state.voting.clock()),
            },
        )

    @get("/{candidate_id:int}", name="candidate_detail")
    async def detail(
        self, request: Request, slug: FromPath[str], candidate_id: FromPath[int]
    ) -> Template:
        campaign, c = await load_candidate(slug, candidate_id, *DETAIL_COLUMNS)
        await visits.count_visit(request.app.state.stores.state, campaign.id)
        votes = None
        if counts_public(campaign, c["public_counts"]):
            counted = await request.app.state.voting.counts(campaign.id, [c["id"]])
            votes = counted[c["id"]]
        page = f"/campaigns/{campaign.slug}/candidates/{c['id']}"
        photo = photo_url(c)
        return Template(
            "nominations/candidate.html",
            context={
                "campaign": campaign,
                "category": {"title": c["category_title"], "key": c["category_key"]},
                "n": c,
                "county": c["county"],
                "organisation": c["organisation"],
                "photo_url": photo,
                "deeds_html": render(c["deeds"]),
                "success_rate": fields.success_rate(c["disputes_mediated"], c["disputes_resolved"]),
                "voting": voting_state(campaign, request.app.state.voting.clock()),
                "votes": votes,
                "stories": await stories_of_candidate(c["id"]),
                "share": {
                    "url": absolute_url(request, page),
                    "image": absolute_url(request, photo) if photo else None,
                    "qr": f"{page}/qr.png",
                },
            },
        )
