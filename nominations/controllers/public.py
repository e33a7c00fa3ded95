"""The public side of nominations: shortlisted candidates (API and pages).

Only public fields ever leave here: name, organisation, county, summary, deeds,
photo. Contact data and documents never do.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from nominations import fields
from nominations.markdown import render
from nominations.tables import Nomination, Status
from portal import visits
from portal.campaigns import categories_of
from portal.controllers.api import ErrorBody, public_campaign
from portal.errors import not_found
from portal.tables import Campaign, Category, CategoryKind, Phase


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


def organisation(row: dict[str, Any]) -> str:
    """A mediator's committee; for a unit, the township or street it serves."""
    if row.get("kind") == CategoryKind.mediator.value:
        return row.get("committee") or ""
    return row.get("township") or ""


def photo_url(row: dict[str, Any], variant: str = "photo") -> str | None:
    if not row.get("photo"):
        return None
    return f"/media/candidates/{row['id']}/{variant}.jpg"


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
        responses={
            400: ResponseSpec(data_container=ErrorBody, description="Invalid request"),
            404: ResponseSpec(data_container=ErrorBody, description="Unknown campaign"),
        },
    )
    async def candidates(
        self, slug: FromPath[str], category: FromQuery[str | None] = None
    ) -> list[Candidate]:
        campaign = await public_campaign(slug)
        return [
            Candidate(
                id=row["id"],
                category=row["category_key"],
                name=row["name"],
                organisation=organisation(row),
                county=row["county"],
                summary=row["summary"],
                photo_url=photo_url(row),
                votes=None,  # live counts arrive with voting, and only where public
            )
            for row in await shortlisted(campaign, category)
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
            context={"campaign": campaign, "categories": categories, "by_category": by_category},
        )

    @get("/{candidate_id:int}", name="candidate_detail")
    async def detail(
        self, request: Request, slug: FromPath[str], candidate_id: FromPath[int]
    ) -> Template:
        campaign = await public_campaign(slug)
        nomination = await public_candidate(candidate_id)
        if nomination.campaign != campaign.id:
            raise not_found("找不到该候选对象。")
        await visits.count_visit(request.app.state.stores.state, campaign.id)
        category = await Category.objects().where(Category.id == nomination.category).first().run()
        row = {
            "id": nomination.id,
            "kind": category.kind,
            "township": nomination.township,
            "committee": nomination.committee,
            "photo": nomination.photo,
        }
        county = (
            await Nomination.select(Nomination.bureau.county.as_alias("county"))
            .where(Nomination.id == nomination.id)
            .first()
            .run()
        )
        return Template(
            "nominations/candidate.html",
            context={
                "campaign": campaign,
                "category": category,
                "n": nomination,
                "county": county["county"],
                "organisation": organisation(row),
                "photo_url": photo_url(row),
                "deeds_html": render(nomination.deeds),
                "success_rate": fields.success_rate(
                    nomination.disputes_mediated, nomination.disputes_resolved
                ),
            },
        )
