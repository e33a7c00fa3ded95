"""The public notice (公示) of the proposed designees, the objection form (异议) and the
objector's receipt lookup.

The form works without JavaScript: a CAPTCHA from the voting pool (the same service and
per-network challenge limit as the plain vote form), a per-network submission limit,
the CSRF token, and an optional evidence file checked by content (``portal.media``)
and stored only once everything else has passed — and removed again if the objection
is not recorded after all.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_400_BAD_REQUEST,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_429_TOO_MANY_REQUESTS,
)

from portal import media, visits
from portal.errors import not_found
from portal.network import client_network
from portal.stores import Stores
from portal.tables import Campaign, Phase
from portal.view import view_of
from portal.web.files import upload_directory
from portal.web.forms import read_limited
from portal.web.lookups import public_campaign
from results import objections, services
from results.honours import issuing_bureau
from results.objections import NoticePeriod, ObjectionGuard, ObjectionRefused
from results.tables import ObjectionStatus
from voting.challenge import captcha_problem, offer_challenge
from voting.ledger import ledger_head
from voting.services import VotingService

NO_STORE = {"Cache-Control": "no-store"}
# The form carries at most one evidence file (a PDF of 10 MB at most) and some text.
OBJECTION_MAX_BODY = media.MAX_PDF_BYTES + 512 * 1024
NOT_PUBLIC = "该活动的拟命名名单尚未公示。"
RECEIPT_NOT_FOUND = (
    "找不到该异议回执。请核对回执号码（YY 开头，共 14 位字母和数字，可不输入连字符）后重试。"
)
FIELDS = ("candidate", "real_name", "phone", "relation", "content")
EVIDENCE_ACCEPTED = (
    "证据材料只接受 PDF 文件（不超过 10 MB）或 JPEG、PNG、WebP 图片（不超过 5 MB）。"
)
IMAGE_REFUSALS = {
    "empty": "文件是空的。",
    "too_large": "图片超过 5 MB。",
    "format": "无法识别为 PDF 文件或图片。",
    "pixels": f"图片像素过多（上限 {media.PHOTO_PIXELS_TEXT}），请缩小后再上传。",
    "damaged": "图片文件不完整或已损坏，无法读取。",
}


async def notice_or_404(campaign: Campaign) -> NoticePeriod:
    period = await objections.notice_period(campaign)
    if period is None:
        raise not_found(NOT_PUBLIC)
    return period


def store_evidence(data: bytes, directory: Any) -> str:
    """Check and store an evidence file by its content: a PDF kept as is, an image
    re-encoded (its thumbnail is not needed). Raises ``UploadRejected``."""
    if data.startswith(b"%PDF"):
        return media.save_pdf(data, directory)
    try:
        photo, thumbnail = media.save_photo(data, directory)
    except media.UploadRejected as exc:
        # The photo checker speaks of photos only; evidence may also be a PDF.
        detail = IMAGE_REFUSALS.get(exc.reason, IMAGE_REFUSALS["format"])
        raise media.UploadRejected(detail + EVIDENCE_ACCEPTED, exc.reason) from None
    media.remove(directory, thumbnail)
    return photo


def form_page(
    campaign: Campaign,
    period: NoticePeriod,
    choices: list[services.CategoryRanking],
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    challenge: dict[str, Any] | None = None,
    message: str = "",
    unavailable: str = "",
    status: int = HTTP_200_OK,
    headers: dict[str, str] | None = None,
) -> Template:
    return Template(
        "results/object.html",
        context={
            "campaign": campaign,
            "period": period,
            "choices": choices,
            "values": values or {},
            "errors": errors or {},
            "challenge": challenge,
            "message": message,
            "unavailable": unavailable,
            "limits": {
                "content_min": objections.MIN_CONTENT,
                "content_max": objections.MAX_CONTENT,
                "relation_max": objections.MAX_RELATION,
                "name_max": objections.MAX_NAME,
            },
        },
        status_code=status,
        headers={**NO_STORE, **(headers or {})},
    )


async def form_with_challenge(
    request: Request,
    voting: VotingService,
    campaign: Campaign,
    period: NoticePeriod,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str = "",
    status: int = HTTP_200_OK,
    headers: dict[str, str] | None = None,
) -> Template:
    """The form with a fresh CAPTCHA, or saying why none can be had now."""
    offer = await offer_challenge(voting, client_network(request), view_of(request).care)
    return form_page(
        campaign,
        period,
        await objections.designees(campaign),
        values=values,
        errors=errors,
        challenge=offer.challenge,
        message=message or offer.message,
        unavailable=offer.unavailable,
        status=offer.status_after(status),
        headers={**(headers or {}), **offer.headers},
    )


class NoticePages(Controller):
    include_in_schema = False

    @get("/campaigns/{slug:str}/notice", name="public_notice")
    async def notice(self, stores: NamedDependency[Stores], slug: FromPath[str]) -> Template:
        campaign = await public_campaign(slug)
        period = await notice_or_404(campaign)
        await visits.count_visit(stores.state, campaign.id)
        received, handled = await objections.counts(campaign.id)
        return Template(
            "results/notice.html",
            context={
                "campaign": campaign,
                "period": period,
                "method": services.method_of(period.tally),
                "ranking": await services.ranking(campaign),
                "received": received,
                "handled": handled,
                "published": campaign.phase == Phase.published.value,
                "ledger_head": await ledger_head(campaign.id),
                "limits": {"content_min": objections.MIN_CONTENT},
                "bureau": await issuing_bureau(campaign),
            },
        )

    @get("/campaigns/{slug:str}/notice/object", name="objection_form")
    async def form(
        self, request: Request, voting: NamedDependency[VotingService], slug: FromPath[str]
    ) -> Template:
        campaign = await public_campaign(slug)
        period = await notice_or_404(campaign)
        if not period.open:
            return form_page(campaign, period, [], message=objections.NOT_OPEN)
        values = {}
        # "?candidate=ID" from the notice's 提出异议 link preselects the candidate.
        chosen = request.query_params.get("candidate")
        if chosen and chosen.isdigit():
            values["candidate"] = chosen
        return await form_with_challenge(request, voting, campaign, period, values=values)

    @post(
        "/campaigns/{slug:str}/notice/object",
        name="objection_submit",
        request_max_body_size=OBJECTION_MAX_BODY,
    )
    async def submit(
        self,
        request: Request,
        voting: NamedDependency[VotingService],
        objection_guard: NamedDependency[ObjectionGuard],
        slug: FromPath[str],
    ) -> Template:
        campaign = await public_campaign(slug)
        period = await notice_or_404(campaign)
        if not period.open:
            return form_page(
                campaign, period, [], message=objections.NOT_OPEN, status=HTTP_403_FORBIDDEN
            )
        network = client_network(request)
        retry_after = await objection_guard.hit(network)
        if retry_after is not None:
            return form_page(
                campaign,
                period,
                await objections.designees(campaign),
                message="提交过于频繁，请稍后再试。",
                unavailable="rate",
                status=HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(retry_after)},
            )
        form = await request.form()
        values = {
            name: str(form.get(name))[:5000] for name in FIELDS if isinstance(form.get(name), str)
        }
        errors: dict[str, str] = {}
        data = None
        try:
            data = await objections.check_objection(campaign, values, period.now)
        except ObjectionRefused as exc:
            if exc.code == "closed":
                return form_page(
                    campaign, period, [], message=exc.message, status=HTTP_403_FORBIDDEN
                )
            errors.update(exc.errors)
        # One answer consumes the challenge, right or wrong, even when a field is wrong.
        captcha_id = str(form.get("captcha_id") or "").strip()[:200]
        answer = str(form.get("captcha_answer") or "").strip()[:20]
        if not captcha_id or not answer:
            errors["captcha"] = "请输入图片中的验证码。"
        else:
            problem = captcha_problem(await voting.captcha.check(captcha_id, answer))
            if problem:
                errors["captcha"] = problem
        upload = form.get("evidence")
        if not errors and isinstance(upload, UploadFile) and upload.filename:
            raw = await read_limited(upload, media.MAX_PDF_BYTES)
            try:
                stored = await anyio.to_thread.run_sync(
                    store_evidence, raw, upload_directory(request)
                )
            except media.UploadRejected as exc:
                errors["evidence"] = exc.message
            else:
                return await self._record(
                    request, voting, campaign, period, values, data, stored, upload
                )
        if errors or data is None:
            message = f"请修改以下 {len(errors)} 处问题后再提交。"
            if isinstance(upload, UploadFile) and upload.filename and "evidence" not in errors:
                # Nothing was kept of the file: say so next to its field.
                errors["evidence_again"] = "如需提交证据材料，请重新选择文件。"
            return await form_with_challenge(
                request,
                voting,
                campaign,
                period,
                values=values,
                errors=errors,
                message=message,
                status=HTTP_400_BAD_REQUEST,
            )
        return await self._record(request, voting, campaign, period, values, data, "", None)

    async def _record(
        self,
        request: Request,
        voting: VotingService,
        campaign: Campaign,
        period: NoticePeriod,
        values: dict[str, str],
        data: objections.ObjectionInput,
        stored: str,
        upload: UploadFile | None,
    ) -> Template:
        """Record the checked objection; a stored evidence file goes if that fails."""
        try:
            objection = await objections.record_objection(
                campaign,
                data,
                evidence=stored,
                evidence_name=objections.evidence_filename(upload.filename if upload else ""),
                network=client_network(request),
            )
        except ObjectionRefused as exc:
            media.remove(upload_directory(request), stored)
            if exc.code == "closed":
                return form_page(
                    campaign, period, [], message=exc.message, status=HTTP_403_FORBIDDEN
                )
            return await form_with_challenge(
                request,
                voting,
                campaign,
                period,
                values=values,
                errors=exc.errors,
                message=exc.message,
                status=HTTP_400_BAD_REQUEST,
            )
        except BaseException:
            media.remove(upload_directory(request), stored)
            raise
        return Template(
            "results/objection_receipt.html",
            context={
                "created": True,
                "found": {
                    "receipt": objection.receipt,
                    "status_label": ObjectionStatus.label_of(objection.status),
                    "campaign_slug": campaign.slug,
                    "campaign_title": campaign.title,
                },
                "period": period,
                "campaign": campaign,
            },
            headers=NO_STORE,
        )

    @get("/objections", name="objection_lookup")
    async def lookup(self, receipt: FromQuery[str | None] = None) -> Template | Redirect:
        typed = (receipt or "").strip()[:80]
        if not typed:
            return lookup_page()
        found = objections.normalise_receipt(typed)
        if found is None or await objections.receipt_status(found) is None:
            return lookup_page(typed, RECEIPT_NOT_FOUND, HTTP_404_NOT_FOUND)
        return Redirect(path=f"/objections/{found}")

    @get("/objections/{receipt:str}", name="objection_detail")
    async def detail(self, receipt: FromPath[str]) -> Template:
        found = await objections.receipt_status(receipt)
        if found is None:
            return lookup_page(receipt[:80], RECEIPT_NOT_FOUND, HTTP_404_NOT_FOUND)
        return Template(
            "results/objection_receipt.html",
            context={"found": found, "created": False},
            headers=NO_STORE,
        )


def lookup_page(typed: str = "", message: str = "", status: int = HTTP_200_OK) -> Template:
    return Template(
        "results/objection_receipt.html",
        context={"found": None, "created": False, "typed": typed, "message": message},
        status_code=status,
        headers=NO_STORE,
    )
