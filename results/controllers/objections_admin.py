"""Staff handling of objections: the list with every detail, the evidence files, and the
city admin's steps (investigate, uphold — which excludes the candidate — or dismiss).

City admins and auditors read; only city admins act — and record the objections that
came by telephone, letter or visit (``results.objection_channels``), with attachments
checked by content as the online evidence is. County clerks and reviewers have no
access: objections carry the objectors' names and phone numbers.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import File, Redirect, Template

from portal import audit, media
from portal.audit import Actor
from portal.auth import actor_of, requires
from portal.errors import not_found
from portal.tables import Phase, Role
from portal.web.files import serve, upload_directory
from portal.web.forms import read_limited
from portal.web.lookups import campaign_or_404
from results import objection_channels, objections
from results.controllers.notice import store_evidence
from results.objections import ObjectionRefused
from results.services import ResultsRefused
from results.tables import ObjectionChannel

CITY_READERS = requires(Role.city_admin, Role.auditor)
CITY_ADMIN = requires(Role.city_admin)

DONE = {
    "investigate": "已开始调查核实。",
    "uphold": "已认定异议成立，该对象已被取消资格，后续名次依次递补。",
    "dismiss": "已认定异议不成立，拟命名名单不变。",
}
RECEIVED_FIELDS = (
    "channel",
    "received_on",
    "candidate",
    "real_name",
    "phone",
    "address",
    "relation",
    "content",
)
RECEIVED_MAX_BODY = objection_channels.MAX_ATTACHMENTS * media.MAX_PDF_BYTES + 512 * 1024


class ObjectionsAdmin(Controller):
    path = "/staff/results/{slug:str}/objections"
    include_in_schema = False

    @get("/", name="objections_admin", guards=[CITY_READERS])
    async def index(self, request: Request, slug: FromPath[str]) -> Template:
        campaign = await campaign_or_404(slug, request.user)
        rows = await objections.objections_of(campaign)
        attachments = await objection_channels.attachments_of([row["id"] for row in rows])
        for row in rows:
            row["attachments"] = attachments.get(row["id"], [])
        received, handled = await objections.counts(campaign.id)
        return Template(
            "results/staff_objections.html",
            context={
                "campaign": campaign,
                "rows": rows,
                "received": received,
                "handled": handled,
                "period": await objections.notice_period(campaign),
                "may_act": request.user.role is Role.city_admin
                and campaign.phase == Phase.notice.value,
                "max_resolution": objections.MAX_RESOLUTION,
            },
            headers={"Cache-Control": "private, no-store"},
        )

    @get("/new", name="objection_record_form", guards=[CITY_ADMIN])
    async def record_form(self, request: Request, slug: FromPath[str]) -> Template:
        campaign = await campaign_or_404(slug, request.user)
        return await self._record_page(campaign, {"channel": "phone"}, {}, "")

    @post(
        "/new",
        name="objection_record",
        guards=[CITY_ADMIN],
        request_max_body_size=RECEIVED_MAX_BODY,
    )
    async def record(
        self, request: Request, actor: NamedDependency[Actor], slug: FromPath[str]
    ) -> Template | Redirect:
        campaign = await campaign_or_404(slug, request.user)
        form = await request.form()
        values = {
            name: str(form.get(name))[:5000]
            for name in RECEIVED_FIELDS
            if isinstance(form.get(name), str)
        }
        try:
            data = await objection_channels.check_received_objection(campaign, values)
        except ObjectionRefused as exc:
            return await self._record_page(campaign, values, exc.errors, exc.message, 400)
        uploads = [
            item
            for key, item in form.multi_items()
            if key == "attachments" and isinstance(item, UploadFile) and item.filename
        ]
        if len(uploads) > objection_channels.MAX_ATTACHMENTS:
            message = f"附件最多 {objection_channels.MAX_ATTACHMENTS} 个，请合并后再上传。"
            return await self._record_page(campaign, values, {"attachments": message}, message, 400)
        directory = upload_directory(request)
        stored: list[tuple[str, str]] = []
        try:
            for upload in uploads:
                raw = await read_limited(upload, media.MAX_PDF_BYTES)
                try:
                    name = await anyio.to_thread.run_sync(store_evidence, raw, directory)
                except media.UploadRejected as exc:
                    shown = objections.evidence_filename(upload.filename)
                    message = f"附件“{shown}”：{exc.message}"
                    for kept, _ in stored:
                        media.remove(directory, kept)
                    return await self._record_page(
                        campaign,
                        values,
                        {"attachments": message + "请重新选择全部附件。"},
                        message,
                        400,
                    )
                stored.append((name, upload.filename or ""))
            objection = await objection_channels.record_received(actor, campaign, data, stored)
        except ObjectionRefused as exc:
            for kept, _ in stored:
                media.remove(directory, kept)
            return await self._record_page(campaign, values, exc.errors, exc.message, 400)
        except BaseException:
            for kept, _ in stored:
                media.remove(directory, kept)
            raise
        flash(
            request,
            f"已登记{ObjectionChannel.label_of(objection.channel)}异议，回执号 {objection.receipt}"
            "（请告知异议人，凭回执号可查询办理结果）。",
            "success",
        )
        return Redirect(path=f"/staff/results/{slug}/objections#objection-{objection.id}")

    async def _record_page(
        self,
        campaign: Any,
        values: dict[str, str],
        errors: dict[str, str],
        message: str,
        status: int = 200,
    ) -> Template:
        period = await objections.notice_period(campaign)
        return Template(
            "results/staff_objection_new.html",
            context={
                "campaign": campaign,
                "period": period,
                "open": period is not None and campaign.phase == Phase.notice.value,
                "days": objection_channels.receiving_days(campaign, period) if period else None,
                "choices": await objections.designees(campaign),
                "channels": objection_channels.OFFLINE_CHANNELS,
                "values": values,
                "errors": errors,
                "message": message,
                "max_attachments": objection_channels.MAX_ATTACHMENTS,
                "limits": {
                    "content_min": objections.MIN_CONTENT,
                    "content_max": objections.MAX_CONTENT,
                },
            },
            status_code=status,
            headers={"Cache-Control": "private, no-store"},
        )

    @get(
        "/{objection_id:int}/files/{file_id:int}",
        name="objection_attachment",
        guards=[CITY_READERS],
    )
    async def attachment(
        self,
        request: Request,
        slug: FromPath[str],
        objection_id: FromPath[int],
        file_id: FromPath[int],
    ) -> File:
        campaign = await campaign_or_404(slug, request.user)
        found = await objection_channels.attachment_of(campaign, objection_id, file_id)
        if found is None:
            raise not_found("找不到该附件。")
        # An objector's file holds personal data: every download is audited.
        await audit.record(
            actor_of(request),
            "objection.download",
            ("objection", objection_id),
            after={"file": found["filename"] or "附件"},
        )
        return serve(request, found["stored_name"], filename=found["filename"] or "附件")

    @get("/{objection_id:int}/evidence", name="objection_evidence", guards=[CITY_READERS])
    async def evidence(
        self, request: Request, slug: FromPath[str], objection_id: FromPath[int]
    ) -> File:
        campaign = await campaign_or_404(slug, request.user)
        objection = await objections.objection_of(campaign, objection_id)
        if objection is None or not objection.evidence:
            raise not_found("找不到该证据材料。")
        await audit.record(
            actor_of(request),
            "objection.download",
            ("objection", objection_id),
            after={"file": objection.evidence_name or "证据材料"},
        )
        return serve(request, objection.evidence, filename=objection.evidence_name or "证据材料")

    @post("/{objection_id:int}/reveal", name="objection_reveal", guards=[CITY_ADMIN])
    async def reveal(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        slug: FromPath[str],
        objection_id: FromPath[int],
    ) -> Redirect:
        """The objector's phone number in full, once, for the administrator who handles
        the objection: pages show it masked; each reveal is audited."""
        campaign = await campaign_or_404(slug, request.user)
        objection = await objections.objection_of(campaign, objection_id)
        if objection is None:
            raise not_found("找不到该异议。")
        await audit.record(
            actor, "objection.reveal", ("objection", objection_id), label=objection.receipt
        )
        flash(
            request,
            f"回执号 {objection.receipt} 的异议人联系电话：{objection.phone or '未留'}",
            "info",
        )
        return Redirect(path=f"/staff/results/{campaign.slug}/objections")

    @post("/{objection_id:int}/investigate", name="objection_investigate", guards=[CITY_ADMIN])
    async def investigate(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        slug: FromPath[str],
        objection_id: FromPath[int],
    ) -> Redirect:
        return await self._handle(request, actor, slug, objection_id, "investigate")

    @post("/{objection_id:int}/uphold", name="objection_uphold", guards=[CITY_ADMIN])
    async def uphold(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        slug: FromPath[str],
        objection_id: FromPath[int],
    ) -> Redirect:
        return await self._handle(request, actor, slug, objection_id, "uphold")

    @post("/{objection_id:int}/dismiss", name="objection_dismiss", guards=[CITY_ADMIN])
    async def dismiss(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        slug: FromPath[str],
        objection_id: FromPath[int],
    ) -> Redirect:
        return await self._handle(request, actor, slug, objection_id, "dismiss")

    async def _handle(
        self, request: Request, actor: Actor, slug: str, objection_id: int, step: str
    ) -> Redirect:
        campaign = await campaign_or_404(slug, request.user)
        resolution = str((await request.form()).get("resolution") or "")
        try:
            if step == "investigate":
                await objections.investigate(actor, campaign, objection_id)
            elif step == "uphold":
                await objections.uphold(actor, campaign, objection_id, resolution)
            else:
                await objections.dismiss(actor, campaign, objection_id, resolution)
        except (ObjectionRefused, ResultsRefused) as exc:
            flash(request, exc.message, "error")
        else:
            flash(request, DONE[step], "success")
        return Redirect(path=f"/staff/results/{slug}/objections#objection-{objection_id}")
