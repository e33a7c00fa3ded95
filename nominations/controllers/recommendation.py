"""The recommendation form (推荐审批表): the printable page, its Word version, and the
upload of the form as the county sealed and scanned it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template

from nominations import recommendation
from nominations.controllers.common import context_or_404
from nominations.recommendation import DOCX
from nominations.services import NominationError
from portal import audit, media
from portal.audit import Actor
from portal.auth import actor_of, requires
from portal.tables import Role
from portal.web.files import upload_directory
from portal.web.forms import files_of, read_limited

# The county that nominated (its own nominations only, checked in services.load), the
# organiser's admins and the auditors; reviewers score from the candidate pages.
READERS = requires(Role.city_admin, Role.county_clerk, Role.auditor)
EDITORS = requires(Role.county_clerk, Role.city_admin)
# One PDF and the form's few fields.
SEALED_MAX_BODY = media.MAX_PDF_BYTES + 64 * 1024


def _photo(request: Request, name: str) -> bytes | None:
    """The nomination's stored photo (already checked and re-encoded on upload)."""
    if not name:
        return None
    try:
        return media.stored_path(upload_directory(request), name).read_bytes()
    except (FileNotFoundError, OSError):
        return None  # the form is still printed, with the photo left to paste


class RecommendationForms(Controller):
    path = "/staff/nominations/{nomination_id:int}"
    include_in_schema = False

    @get("/recommendation-form", name="nomination_recommendation_form", guards=[READERS])
    async def page(self, request: Request, nomination_id: FromPath[int]) -> Template:
        ctx = await context_or_404(request.user, nomination_id)
        return Template(
            "nominations/recommendation_form.html",
            context={
                "ctx": ctx,
                "form": await recommendation.form_of(ctx),
                "pairs": recommendation.pairs,
            },
        )

    @get("/recommendation-form.docx", name="nomination_recommendation_docx", guards=[READERS])
    async def docx(self, request: Request, nomination_id: FromPath[int]) -> Response:
        ctx = await context_or_404(request.user, nomination_id)
        form = await recommendation.form_of(ctx)
        photo = _photo(request, ctx.nomination.photo)
        data = await anyio.to_thread.run_sync(recommendation.docx_bytes, form, photo)
        # The form carries the nominee's personal data: every export is audited.
        await audit.record(
            actor_of(request), "nomination.export", ctx.nomination, after={"file": form.filename}
        )
        return Response(
            content=data,
            media_type=DOCX,
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(form.filename)}",
                "Cache-Control": "private, no-store",
            },
        )

    @post(
        "/sealed-form",
        name="nomination_sealed_form",
        guards=[EDITORS],
        request_max_body_size=SEALED_MAX_BODY,
    )
    async def upload(
        self, request: Request, actor: NamedDependency[Actor], nomination_id: FromPath[int]
    ) -> Redirect:
        """The sealed form, checked by content like every PDF; it replaces an earlier one."""
        ctx = await context_or_404(request.user, nomination_id)
        back = Redirect(path=f"/staff/nominations/{nomination_id}")
        uploads = files_of(await request.form(), "sealed_form")
        if not uploads:
            flash(request, "请选择盖章后扫描的推荐审批表（PDF 格式）。", "error")
            return back
        upload = uploads[0]
        directory = upload_directory(request)
        data = await read_limited(upload, media.MAX_PDF_BYTES)
        try:
            stored = await anyio.to_thread.run_sync(media.save_pdf, data, directory)
        except media.UploadRejected as exc:
            flash(request, f"盖章推荐审批表未上传：{exc.message}", "error")
            return back
        filename = Path(upload.filename or "推荐审批表.pdf").name
        try:
            replaced = await recommendation.attach_sealed_form(
                actor, request.user, ctx, stored, filename, len(data)
            )
        except NominationError as exc:
            media.remove(directory, stored)
            flash(request, exc.message, "error")
            return back
        if replaced:
            media.remove(directory, replaced)
        flash(request, "已上传盖章推荐审批表。", "success")
        return back
