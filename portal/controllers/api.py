"""The public JSON API (contract v1): campaigns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import msgspec
from litestar import Controller, Request, get
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIHeader, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath

from portal import visits
from portal.campaigns import categories_of, get_campaign, zone
from portal.errors import not_found
from portal.tables import Campaign, Phase

PhaseName = Literal[
    "draft", "nominating", "vetting", "reviewing", "voting", "tallying", "notice", "published"
]
KindName = Literal["judicial_office", "mediation_committee", "mediator"]


class ErrorBody(msgspec.Struct):
    """Every 4xx/5xx answer of the API."""

    error: str
    message: str


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
    categories: list[CategoryInfo]


UNAVAILABLE = (
    "`unavailable`: the database or the store is down, or the server is busy; nothing "
    "was recorded, retry after `Retry-After` seconds"
)
RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
    description="Seconds to wait before trying again",
    required=True,
)


def error_responses(*pairs: tuple[int, str]) -> dict[int, ResponseSpec]:
    """An API operation's documented errors (status, description), all as ``ErrorBody``.

    Any API request may also be answered 503 ``unavailable`` (a backing service down, or
    the process shedding load: ``portal.errors``, ``portal.shedding``), so it is always
    included. Litestar's own 400 for handlers with parameters has its
    ``{status_code, detail}`` shape; listing 400 here replaces it with ours.
    """
    described = {503: UNAVAILABLE, **dict(pairs)}
    return {
        status: ResponseSpec(data_container=ErrorBody, description=described[status])
        for status in sorted(described)
    }


@dataclass
class ApiOperation(Operation):
    """An API operation whose 429 and 503 answers document their ``Retry-After`` header.

    Litestar's ``ResponseSpec`` cannot declare headers; every 429 and 503 of the API
    carries one (the contract requires it on 429), so it is added to the schema here.
    """

    def __post_init__(self) -> None:
        for status, response in (self.responses or {}).items():
            if status in {"429", "503"} and isinstance(response, OpenAPIResponse):
                response.headers = {**(response.headers or {}), "Retry-After": RETRY_AFTER}


NOT_FOUND = error_responses((400, "Invalid request"), (404, "Unknown campaign"))


def public_campaigns_query():  # type: ignore[no-untyped-def]
    """Campaigns the public may see: all but drafts."""
    return Campaign.objects().where(Campaign.phase != Phase.draft.value)


async def public_campaign(slug: FromPath[str]) -> Campaign:
    """The campaign with this slug, or 404 when it is unknown or still a draft."""
    campaign = await get_campaign(slug)
    if campaign is None or campaign.phase == Phase.draft.value:
        raise not_found("找不到该评选活动。")
    return campaign


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
    async def campaign_detail(self, request: Request, slug: FromPath[str]) -> CampaignDetail:
        campaign = await public_campaign(slug)
        categories = await categories_of(campaign.id)
        return CampaignDetail(
            slug=campaign.slug,
            title=campaign.title,
            year=campaign.year,
            phase=campaign.phase,
            timezone=campaign.timezone,
            voting_opens_at=in_zone(campaign.voting_opens_at, campaign.timezone),
            voting_closes_at=in_zone(campaign.voting_closes_at, campaign.timezone),
            visits=await visits.visits(request.app.state.stores.state, campaign),
            categories=[
                CategoryInfo(c.key, c.title, c.kind, c.quota, c.votes_per_day) for c in categories
            ],
        )
