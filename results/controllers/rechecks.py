"""Staff pages of the re-checks (复核) and of revoking a designation (撤销命名).

``/staff/rechecks``: the organiser's administrators open a yearly re-check and give
each designee its verdict; the clerks of the nominating bureaus file their own
designees' reports (another bureau's are 404); auditors read everything. Revoking —
from a re-check or from a designation's page — always passes a confirmation page that
restates who and what, and asks for the reason. Services check scope again.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import File, Redirect, Template

from portal import media
from portal.audit import Actor
from portal.auth import requires
from portal.errors import DomainError, Invalid, NotFound, not_found, status_of
from portal.tables import Role
from portal.web.files import serve, upload_directory
from portal.web.forms import files_of, form_values, read_limited
from results import recheck_reports, recheck_verdicts, rechecks, revocation
from results.recheck_verdicts import revocable
from results.register import entries, today_in
from results.tables import Designation, RecheckItem

ADMIN = requires(Role.city_admin)
CLERK = requires(Role.county_clerk)
READERS = requires(Role.city_admin, Role.county_clerk, Role.auditor)
CITY_READERS = requires(Role.city_admin, Role.auditor)
# A report carries a few PDFs of at most 10 MB each.
REPORT_MAX_BODY = 40 * 1024 * 1024
MAX_FILES_PER_FORM = 3


def _day(raw: Any) -> dt.date | None:
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise Invalid(
            "日期格式不正确，请按“2024-03-31”填写。", {"on": "日期格式不正确。"}
        ) from None


async def _found(coro: Any) -> Any:
    try:
        return await coro
    except NotFound as exc:
        raise not_found(exc.message) from None


async def stage_evidence(request: Request, form: Any) -> tuple[list[tuple[str, str, int]], str]:
    """Check by content and store the PDFs sent in ``evidence`` (as nomination documents
    are); on any refusal nothing is kept and the message says why."""
    directory = upload_directory(request)
    uploads = files_of(form, "evidence")
    if len(uploads) > MAX_FILES_PER_FORM:
        return [], f"每次最多上传 {MAX_FILES_PER_FORM} 份材料。"
    staged: list[tuple[str, str, int]] = []
    for upload in uploads:
        data = await read_limited(upload, media.MAX_PDF_BYTES)
        try:
            name = await anyio.to_thread.run_sync(media.save_pdf, data, directory)
        except media.UploadRejected as exc:
            media.remove(directory, *(s for s, _, _ in staged))
            return [], f"{upload.filename}：{exc.message}"
        staged.append((name, Path(upload.filename or "材料.pdf").name, len(data)))
    return staged, ""


class RecheckPages(Controller):
    path = "/staff/rechecks"
    include_in_schema = False

    @get("/", name="rechecks", guards=[READERS])
    async def index(self, request: Request) -> Template:
        user = request.user
        today = today_in()
        listed = []
        for recheck in await rechecks.rechecks_for(user):
            items = await rechecks.items_of(recheck, user)
            listed.append((recheck, rechecks.summarise(recheck, items, today)))
        return Template("results/rechecks.html", context={"listed": listed, "today": today})

    @get("/new", name="recheck_new", guards=[ADMIN])
    async def new(self, request: Request) -> Template:
        today = today_in()
        values = {"year": str(today.year - 1 if today.month <= 6 else today.year)}
        return await self._form(request, values, {})

    async def _form(
        self, request: Request, values: dict[str, Any], errors: dict[str, str], message: str = "",
        status: int = 200,
    ) -> Template:  # fmt: skip
        year = int(values["year"]) if str(values.get("year", "")).isdigit() else today_in().year
        count = len(await rechecks.covered(request.user.bureau_id, year, today_in()))
        return Template(
            "results/recheck_new.html",
            context={
                "values": values,
                "errors": errors,
                "message": message,
                "covered": count,
                "year": year,
            },
            status_code=status,
        )

    @post("/new", name="recheck_open", guards=[ADMIN])
    async def open(self, request: Request, actor: NamedDependency[Actor]) -> Template | Redirect:
        values = form_values(await request.form())
        try:
            recheck = await rechecks.open_recheck(actor, request.user.bureau_id, values)
        except DomainError as exc:
            errors = getattr(exc, "errors", {})
            return await self._form(request, values, errors, exc.message, status_of(exc))
        flash(request, f"已开启「{recheck.title}」，各推荐单位可报送复核报告。", "success")
        return Redirect(path=f"/staff/rechecks/{recheck.id}")

    @get("/{recheck_id:int}", name="recheck", guards=[READERS])
    async def detail(self, request: Request, recheck_id: FromPath[int]) -> Template:
        user = request.user
        recheck = await _found(rechecks.recheck_for(user, recheck_id))
        items = await rechecks.items_of(recheck, user)
        today = today_in()
        return Template(
            "results/recheck.html",
            context={
                "recheck": recheck,
                "items": items,
                "summary": rechecks.summarise(recheck, items, today),
                "today": today,
            },
        )

    @get("/{recheck_id:int}/items/{item_id:int}", name="recheck_item", guards=[READERS])
    async def item(
        self, request: Request, recheck_id: FromPath[int], item_id: FromPath[int]
    ) -> Template:
        return await self._item(request, recheck_id, item_id)

    async def _item(
        self, request: Request, recheck_id: int, item_id: int, values: dict | None = None,
        errors: dict | None = None, message: str = "", status: int = 200,
    ) -> Template:  # fmt: skip
        recheck, item = await _found(rechecks.item_for(request.user, recheck_id, item_id))
        figures = item.row.figures if isinstance(item.row.figures, dict) else {}
        if values is None:
            values = {**figures, "statement": item.row.statement}
        return Template(
            "results/recheck_item.html",
            context={
                "recheck": recheck,
                "item": item,
                "fields": rechecks.record_fields(item.entry.kind),
                "values": values,
                "errors": errors or {},
                "message": message,
                "today": today_in(),
                "revocable": revocable(item.row) and item.entry.status != "revoked",
            },
            status_code=status,
        )  # fmt: skip

    @post(
        "/{recheck_id:int}/items/{item_id:int}/report",
        name="recheck_report",
        guards=[CLERK],
        request_max_body_size=REPORT_MAX_BODY,
    )
    async def report(
        self, request: Request, actor: NamedDependency[Actor], recheck_id: FromPath[int],
        item_id: FromPath[int],
    ) -> Template | Redirect:  # fmt: skip
        await _found(rechecks.item_for(request.user, recheck_id, item_id))
        form = await request.form()
        values = form_values(form)
        staged, refused = await stage_evidence(request, form)
        if refused:
            return await self._item(
                request, recheck_id, item_id, values, {"evidence": refused}, refused, 400
            )
        try:
            item = await recheck_reports.file_report(
                actor, request.user, recheck_id, item_id, values, staged
            )
        except DomainError as exc:
            media.remove(upload_directory(request), *(s for s, _, _ in staged))
            errors = getattr(exc, "errors", {})
            return await self._item(
                request, recheck_id, item_id, values, errors, exc.message, status_of(exc)
            )
        late = "（已过截止日期，标注为逾期报送）" if item.late else ""
        flash(request, f"复核报告已报送{late}。", "success")
        return Redirect(path=f"/staff/rechecks/{recheck_id}/items/{item_id}")

    @get(
        "/{recheck_id:int}/items/{item_id:int}/evidence/{evidence_id:int}",
        name="recheck_evidence",
        guards=[READERS],
    )
    async def evidence(
        self, request: Request, recheck_id: FromPath[int], item_id: FromPath[int],
        evidence_id: FromPath[int],
    ) -> File:  # fmt: skip
        _, item = await _found(rechecks.item_for(request.user, recheck_id, item_id))
        found = next((e for e in item.evidence if e.id == evidence_id), None)
        if found is None:
            raise not_found("找不到该材料。")
        return serve(request, found.stored_name, filename=found.filename)

    @post("/{recheck_id:int}/items/{item_id:int}/verdict", name="recheck_verdict", guards=[ADMIN])
    async def verdict(
        self, request: Request, actor: NamedDependency[Actor], recheck_id: FromPath[int],
        item_id: FromPath[int],
    ) -> Template | Redirect:  # fmt: skip
        await _found(rechecks.item_for(request.user, recheck_id, item_id))
        values = form_values(await request.form())
        if values.get("verdict") == "revoked":
            return Redirect(path=f"/staff/rechecks/{recheck_id}/items/{item_id}/revoke")
        try:
            await recheck_verdicts.decide(
                actor, recheck_id, item_id, str(values.get("verdict") or ""),
                values.get("note"), values.get("rectify_by"),
            )  # fmt: skip
        except DomainError as exc:
            errors = getattr(exc, "errors", {})
            return await self._item(
                request, recheck_id, item_id, None, errors, exc.message, status_of(exc)
            )
        flash(request, "已作出复核结论。", "success")
        return Redirect(path=f"/staff/rechecks/{recheck_id}/items/{item_id}")

    @post("/{recheck_id:int}/items/{item_id:int}/followup", name="recheck_followup", guards=[ADMIN])
    async def followup(
        self, request: Request, actor: NamedDependency[Actor], recheck_id: FromPath[int],
        item_id: FromPath[int],
    ) -> Template | Redirect:  # fmt: skip
        await _found(rechecks.item_for(request.user, recheck_id, item_id))
        values = form_values(await request.form())
        try:
            await recheck_verdicts.follow_up(actor, recheck_id, item_id, values.get("note"))
        except DomainError as exc:
            errors = getattr(exc, "errors", {})
            return await self._item(
                request, recheck_id, item_id, None, errors, exc.message, status_of(exc)
            )
        flash(request, "已登记整改情况，复核结论为合格。", "success")
        return Redirect(path=f"/staff/rechecks/{recheck_id}/items/{item_id}")

    @get(
        "/{recheck_id:int}/items/{item_id:int}/revoke",
        name="recheck_revoke_confirm",
        guards=[ADMIN],
    )
    async def revoke_confirm(
        self, request: Request, recheck_id: FromPath[int], item_id: FromPath[int]
    ) -> Template:
        return await self._confirm(request, recheck_id, item_id, {}, {})

    async def _confirm(
        self, request: Request, recheck_id: int, item_id: int, values: dict, errors: dict,
        message: str = "", status: int = 200,
    ) -> Template:  # fmt: skip
        recheck, item = await _found(rechecks.item_for(request.user, recheck_id, item_id))
        return Template(
            "results/revoke_confirm.html",
            context={
                "entry": item.entry,
                "action": f"/staff/rechecks/{recheck_id}/items/{item_id}/revoke",
                "back": f"/staff/rechecks/{recheck_id}/items/{item_id}",
                "recheck": recheck,
                "item": item,
                "values": values,
                "errors": errors,
                "message": message,
                "today": today_in(),
                "possible": revocable(item.row) and item.entry.status != "revoked",
            },
            status_code=status,
        )

    @post("/{recheck_id:int}/items/{item_id:int}/revoke", name="recheck_revoke", guards=[ADMIN])
    async def revoke(
        self, request: Request, actor: NamedDependency[Actor], recheck_id: FromPath[int],
        item_id: FromPath[int],
    ) -> Template | Redirect:  # fmt: skip
        await _found(rechecks.item_for(request.user, recheck_id, item_id))
        values = form_values(await request.form())
        try:
            await recheck_verdicts.revoke_item(
                actor, recheck_id, item_id, values.get("reason"), _day(values.get("on"))
            )
        except DomainError as exc:
            errors = getattr(exc, "errors", {})
            return await self._confirm(
                request, recheck_id, item_id, values, errors, exc.message, status_of(exc)
            )
        flash(request, "已撤销命名，名录、证书查询和光荣榜将显示撤销情况。", "success")
        return Redirect(path=f"/staff/rechecks/{recheck_id}/items/{item_id}")


class DesignationAdmin(Controller):
    """The organiser's designations for its staff: each with its re-checks, revoking
    (after confirmation) and undoing a revocation (with a reason)."""

    path = "/staff/designations"
    include_in_schema = False

    @get("/", name="designations_admin", guards=[CITY_READERS])
    async def index(self, request: Request) -> Template:
        organisers = await revocation.organisers_of(request.user)
        ids = [
            r["id"]
            for r in await Designation.select(Designation.id)
            .where(Designation.organiser.is_in(organisers))
            .run()
        ]
        return Template(
            "results/designations_admin.html",
            context={"entries": await entries(ids=ids) if ids else []},
        )

    async def _entry(self, request: Request, designation_id: int) -> Any:
        designation = await _found(revocation.designation_for(request.user, designation_id))
        found = await entries(ids=[designation.id])
        if not found:
            raise not_found(revocation.NOT_FOUND)
        return designation, found[0]

    @get("/{designation_id:int}", name="designation_admin", guards=[CITY_READERS])
    async def detail(self, request: Request, designation_id: FromPath[int]) -> Template:
        return await self._detail(request, designation_id, {}, {})

    async def _detail(
        self, request: Request, designation_id: int, values: dict, errors: dict,
        message: str = "", status: int = 200,
    ) -> Template:  # fmt: skip
        designation, entry = await self._entry(request, designation_id)
        items = (
            await RecheckItem.select(
                RecheckItem.id,
                RecheckItem.recheck,
                RecheckItem.recheck.title.as_alias("title"),
                RecheckItem.verdict,
                RecheckItem.late,
                RecheckItem.reported_at,
            )
            .where(RecheckItem.designation == designation.id)
            .order_by(RecheckItem.id)
            .run()
        )
        return Template(
            "results/designation_admin.html",
            context={
                "entry": entry,
                "items": items,
                "values": values,
                "errors": errors,
                "message": message,
            },
            status_code=status,
        )

    @get("/{designation_id:int}/revoke", name="designation_revoke_confirm", guards=[ADMIN])
    async def revoke_confirm(self, request: Request, designation_id: FromPath[int]) -> Template:
        return await self._confirm(request, designation_id, {}, {})

    async def _confirm(
        self, request: Request, designation_id: int, values: dict, errors: dict,
        message: str = "", status: int = 200,
    ) -> Template:  # fmt: skip
        _, entry = await self._entry(request, designation_id)
        return Template(
            "results/revoke_confirm.html",
            context={
                "entry": entry,
                "action": f"/staff/designations/{designation_id}/revoke",
                "back": f"/staff/designations/{designation_id}",
                "recheck": None,
                "item": None,
                "values": values,
                "errors": errors,
                "message": message,
                "today": today_in(),
                "possible": entry.status != "revoked",
            },
            status_code=status,
        )

    @post("/{designation_id:int}/revoke", name="designation_revoke", guards=[ADMIN])
    async def revoke(
        self, request: Request, actor: NamedDependency[Actor], designation_id: FromPath[int]
    ) -> Template | Redirect:
        await self._entry(request, designation_id)
        values = form_values(await request.form())
        try:
            await revocation.revoke(
                actor, designation_id, values.get("reason"), _day(values.get("on"))
            )
        except DomainError as exc:
            errors = getattr(exc, "errors", {})
            return await self._confirm(
                request, designation_id, values, errors, exc.message, status_of(exc)
            )
        flash(request, "已撤销命名，名录、证书查询和光荣榜将显示撤销情况。", "success")
        return Redirect(path=f"/staff/designations/{designation_id}")

    @post("/{designation_id:int}/reinstate", name="designation_reinstate", guards=[ADMIN])
    async def reinstate(
        self, request: Request, actor: NamedDependency[Actor], designation_id: FromPath[int]
    ) -> Template | Redirect:
        await self._entry(request, designation_id)
        values = form_values(await request.form())
        try:
            await revocation.reinstate(actor, designation_id, values.get("reason"))
        except DomainError as exc:
            errors = getattr(exc, "errors", {})
            return await self._detail(
                request, designation_id, values, errors, exc.message, status_of(exc)
            )
        flash(request, "已恢复命名，撤销记录保留在操作日志中。", "success")
        return Redirect(path=f"/staff/designations/{designation_id}")
