"""The campaign's official documents as Word (.docx) downloads: the designation
decision, the name list and the public notice. Public like their pages, 404 before
they exist; built in a worker thread (CPU-bound, like the workbooks)."""

from __future__ import annotations

import anyio.to_thread
from litestar import Controller, Request, Response, get
from litestar.params import FromPath

from portal.errors import not_found
from portal.origin import absolute_url
from portal.web.lookups import public_campaign
from results import documents, objections
from results.controllers.honours import honours_or_404

NOTICE_NOT_PUBLIC = "该活动的拟命名名单尚未公示，暂无公示文件可下载。"


class DocumentDownloads(Controller):
    path = "/campaigns/{slug:str}"
    include_in_schema = False

    @get("/announcement.docx", name="announcement_docx")
    async def decision(self, slug: FromPath[str]) -> Response:
        campaign = await public_campaign(slug)
        found = await honours_or_404(campaign)
        content = await anyio.to_thread.run_sync(documents.decision_docx, found)
        return documents.docx_response(content, f"{campaign.slug}-命名决定.docx")

    @get("/names.docx", name="names_docx")
    async def names(self, slug: FromPath[str]) -> Response:
        campaign = await public_campaign(slug)
        found = await honours_or_404(campaign)
        content = await anyio.to_thread.run_sync(documents.names_docx, found)
        return documents.docx_response(content, f"{campaign.slug}-命名名单.docx")

    @get("/notice.docx", name="notice_docx")
    async def notice(self, request: Request, slug: FromPath[str]) -> Response:
        campaign = await public_campaign(slug)
        period = await objections.notice_period(campaign)
        if period is None:
            raise not_found(NOTICE_NOT_PUBLIC)
        data = await documents.notice_document(
            campaign, period, absolute_url(request, f"/campaigns/{campaign.slug}/notice/object")
        )
        content = await anyio.to_thread.run_sync(documents.notice_docx, data)
        return documents.docx_response(content, f"{campaign.slug}-公示.docx")
