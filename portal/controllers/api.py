"""The public JSON API (contract v1): campaigns and the bureaus that run them."""

from __future__ import annotations

import datetime as dt

import msgspec
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from portal import visits
from portal.bureaus import active_tree
from portal.campaigns import categories_of, organiser_of, zone
from portal.stores import Stores
from portal.tables import Campaign
from portal.web.api import (
    ApiOperation,
    KindName,
    LevelName,
    OrganiserLevel,
    PhaseName,
    error_responses,
)
from portal.web.lookups import public_campaign, public_campaigns_query


class CampaignSummary(msgspec.Struct):
    slug: str
    title: str
    year: int
    phase: PhaseName


class CategoryInfo(msgspec.Struct):
    key: str
    title: str
    kind: KindName
    quota: int
    votes_per_day: int


class CampaignDetail(msgspec.Struct):
    slug: str
    title: str
    year: int
    phase: PhaseName
    timezone: str
    voting_opens_at: dt.datetime | None
    voting_closes_at: dt.datetime | None
    visits: int
    organiser: str
    level: OrganiserLevel | None
    categories: list[CategoryInfo]


class BureauInfo(msgspec.Struct):
    id: int
    name: str
    short_name: str
    level: LevelName
    parent_id: int | None


NOT_FOUND = error_responses((400, "Invalid request"), (404, "Unknown campaign"))


def in_zone(value: dt.datetime | None, tz: str) -> dt.datetime | None:
    return value.astimezone(zone(tz)) if value else None


class CampaignApi(Controller):
    path = "/api/v1/campaigns"
    tags = ["campaigns"]

    @get(
        "/",
        summary="List campaigns",
        operation_id="listCampaigns",
        # 400: a malformed request (e.g. a form content type without its boundary).
        responses=error_responses((400, "Invalid request")),
        operation_class=ApiOperation,
    )
    async def list_campaigns(self) -> list[CampaignSummary]:
        rows = (
            await public_campaigns_query()
            .order_by(Campaign.year, ascending=False)
            .order_by(Campaign.id, ascending=False)
            .run()
        )
        return [CampaignSummary(c.slug, c.title, c.year, c.phase) for c in rows]

    @get(
        "/{slug:str}",
        summary="One campaign",
        operation_id="getCampaign",
        responses=NOT_FOUND,
        operation_class=ApiOperation,
    )
    async def campaign_detail(
        self, stores: NamedDependency[Stores], slug: FromPath[str]
    ) -> CampaignDetail:
        campaign = await public_campaign(slug)
        categories = await categories_of(campaign.id)
        organiser = await organiser_of(campaign)
        return CampaignDetail(
            slug=campaign.slug,
            title=campaign.title,
            year=campaign.year,
            phase=campaign.phase,
            timezone=campaign.timezone,
            voting_opens_at=in_zone(campaign.voting_opens_at, campaign.timezone),
            voting_closes_at=in_zone(campaign.voting_closes_at, campaign.timezone),
            visits=await visits.visits(stores.state, campaign),
            organiser=organiser.name if organiser else "",
            level=organiser.level if organiser else None,
            categories=[
                CategoryInfo(c.key, c.title, c.kind, c.quota, c.votes_per_day) for c in categories
            ],
        )


class BureauApi(Controller):
    path = "/api/v1/bureaus"
    tags = ["bureaus"]

    @get(
        "/",
        summary="The organisation tree",
        operation_id="listBureaus",
        description="Every active bureau the portal knows, parents before children.",
        responses=error_responses((400, "Invalid request")),
        operation_class=ApiOperation,
    )
    async def bureaus(self) -> list[BureauInfo]:
        return [
            BureauInfo(r["id"], r["name"], r["short_name"], r["level"], r["parent"])
            for r in await active_tree()
        ]
