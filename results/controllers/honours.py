"""Public pages of the designation: the honour list, the printable decision, the workbook."""

from __future__ import annotations

import anyio.to_thread
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from portal import visits
from portal.errors import not_found
from portal.pagecache import cached_page
from portal.sheets import xlsx_response
from portal.stores import Stores
from portal.tables import Campaign
from portal.web.lookups import public_campaign
from results import documents, honours
from voting.ledger import ledger_head


async def honours_or_404(campaign: Campaign) -> honours.HonourList:
    found = await honours.honour_list(campaign)
    if found is None:
        raise not_found(
            f"「{campaign.title}」尚未正式命名：光荣榜和命名决定将在公示期满、正式命名后公布。"
        )
    return found


class HonourPages(Controller):
    path = "/campaigns/{slug:str}"
    include_in_schema = False

    @get("/honours", name="honours")
    async def honours(
        self, request: Request, stores: NamedDependency[Stores], slug: FromPath[str]
    ) -> Response:
        async def render() -> tuple[Template, int]:
            campaign = await public_campaign(slug)
            found = await honours_or_404(campaign)
            return (
                Template(
                    "results/honours.html",
                    context={
                        "campaign": campaign,
                        "honours": found,
                        "ledger_head": await ledger_head(campaign.id),
                        "thumbnail_url": honours.thumbnail_url,
                        "measure": honours.measure,
                    },
                ),
                campaign.id,
            )

        async def count(campaign_id: int) -> None:
            await visits.count_visit(stores.state, campaign_id)

        return await cached_page(request, render, count)

    @get("/announcement", name="announcement")
    async def announcement(self, slug: FromPath[str]) -> Template:
        campaign = await public_campaign(slug)
        found = await honours_or_404(campaign)
        return Template(
            "results/announcement.html",
            context={
                "campaign": campaign,
                "honours": found,
                "ledger_head": await ledger_head(campaign.id),
                "paragraphs": documents.decision_paragraphs(found),
                "listing": honours.listing,
                "measure": honours.measure,
                "ordinal": honours.ordinal,
            },
        )

    @get("/results.xlsx", name="results_workbook")
    async def workbook(self, slug: FromPath[str]) -> Response:
        campaign = await public_campaign(slug)
        data = await honours.workbook_data(campaign)
        if data is None:
            raise not_found("该活动的评选结果尚未公示，暂无可下载的结果表。")
        content = await anyio.to_thread.run_sync(honours.results_workbook, data)
        return xlsx_response(content, f"{campaign.slug}-results.xlsx")
