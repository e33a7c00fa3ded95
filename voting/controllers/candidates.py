"""The public candidate pages and the candidates API: who stands, and how the vote on
them goes (live counts where the category publishes them, from voting on)."""

from __future__ import annotations

import anyio.to_thread
import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from nominations import fields
from nominations.candidates import (
    DETAIL_COLUMNS,
    load_candidate,
    organisation,
    photo_url,
    shortlisted,
)
from portal import media, visits
from portal.campaigns import categories_of, nominating_bureaus
from portal.markdown import render
from portal.origin import absolute_url
from portal.stores import Stores
from portal.web.api import ApiOperation, error_responses
from portal.web.files import upload_directory
from portal.web.lookups import public_campaign
from stories.reading import stories_of_candidate
from voting.services import VotingService
from voting.state import counts_public, public_counts, voting_state


class Candidate(msgspec.Struct):
    id: int
    category: str
    name: str
    organisation: str
    county: str
    nominated_by: str
    summary: str
    photo_url: str | None
    votes: int | None


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
        self,
        voting: NamedDependency[VotingService],
        slug: FromPath[str],
        category: FromQuery[str | None] = None,
    ) -> list[Candidate]:
        campaign = await public_campaign(slug)
        rows = await shortlisted(campaign, category)
        # Live counts only where the category publishes them, from voting on.
        counts = await public_counts(voting, campaign, await categories_of(campaign.id), rows)
        return [
            Candidate(
                id=row["id"],
                category=row["category_key"],
                name=row["name"],
                organisation=organisation(row),
                county=row["county"],
                nominated_by=row["nominated_by"],
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
    async def index(
        self,
        voting: NamedDependency[VotingService],
        stores: NamedDependency[Stores],
        slug: FromPath[str],
        county: FromQuery[str | None] = None,
    ) -> Template:
        campaign = await public_campaign(slug)
        await visits.count_visit(stores.state, campaign.id)
        categories = await categories_of(campaign.id)
        rows = await shortlisted(campaign)
        # The nominating bureaus with candidates, in their order; one of them may be chosen.
        present = {row["county"] for row in rows}
        counties = [
            b.short_name for b in await nominating_bureaus(campaign) if b.short_name in present
        ]
        chosen = (county or "").strip()
        by_category: dict[int, list[dict]] = {c.id: [] for c in categories}
        for row in rows:
            if chosen and row["county"] != chosen:
                continue
            row["organisation"] = organisation(row)
            row["thumb_url"] = photo_url(row, "thumbnail")
            by_category.setdefault(row["category"], []).append(row)
        return Template(
            "nominations/candidates.html",
            context={
                "campaign": campaign,
                "categories": categories,
                "by_category": by_category,
                "voting": voting_state(campaign, voting.clock()),
                "counties": counties,
                "county": chosen,
            },
        )

    @get("/{candidate_id:int}", name="candidate_detail")
    async def detail(
        self,
        request: Request,
        voting: NamedDependency[VotingService],
        stores: NamedDependency[Stores],
        slug: FromPath[str],
        candidate_id: FromPath[int],
    ) -> Template:
        campaign, c = await load_candidate(slug, candidate_id, *DETAIL_COLUMNS)
        await visits.count_visit(stores.state, campaign.id)
        votes = None
        if counts_public(campaign, c["public_counts"]):
            counted = await voting.counts(campaign.id, [c["id"]])
            votes = counted[c["id"]]
        page = f"/campaigns/{campaign.slug}/candidates/{c['id']}"
        photo = photo_url(c)
        size = await anyio.to_thread.run_sync(
            media.image_size, upload_directory(request), c.get("photo")
        )
        return Template(
            "nominations/candidate.html",
            context={
                "campaign": campaign,
                "category": {"title": c["category_title"], "key": c["category_key"]},
                "n": c,
                "county": c["county"],
                "organisation": c["organisation"],
                "photo_url": photo,
                "photo_size": size,
                "deeds_html": render(c["deeds"]),
                "success_rate": fields.success_rate(c["disputes_mediated"], c["disputes_resolved"]),
                "voting": voting_state(campaign, voting.clock()),
                "votes": votes,
                "stories": await stories_of_candidate(c["id"]),
                "share": {
                    "url": absolute_url(request, page),
                    "image": absolute_url(request, photo) if photo else None,
                    "qr": f"{page}/qr.png",
                },
            },
        )
