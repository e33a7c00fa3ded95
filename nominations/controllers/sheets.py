"""Excel in and out: per-category templates, imports that create drafts, exports."""

from __future__ import annotations

from functools import partial
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from nominations import excel, fields, services
from nominations.controllers.pages import current_campaign
from nominations.tables import Nomination, Status
from portal import audit
from portal.audit import Actor
from portal.auth import requires
from portal.errors import not_found
from portal.sheets import xlsx_response
from portal.tables import Campaign, Category, Role
from portal.text import mask_phone
from portal.web.forms import files_of
from portal.web.lookups import category_by_id_or_404

IMPORT_MAX_BODY = 5 * 1024 * 1024


def file_error(message: str) -> excel.RowError:
    """An import problem with the file as a whole (row 0)."""
    return excel.RowError(0, "文件", message)


async def export_rows(user: Any, campaign: Campaign) -> list[dict[str, Any]]:
    """The nominations this user may read, as rows for the workbook: phone numbers whole
    for the nominating bureau's own clerk, masked for everyone else."""
    query = Nomination.select(
        *Nomination.all_columns(),
        Nomination.bureau.short_name.as_alias("county"),
        Nomination.category.title.as_alias("category_title"),
        Nomination.category.kind.as_alias("kind"),
    ).where(Nomination.campaign == campaign.id)
    rows = (
        await services.scope_query(user, query)
        .order_by(Nomination.category)
        .order_by(Nomination.id)
        .run()
    )
    out = []
    for row in rows:
        item = {f.key: row[f.key] for f in fields.FIELDS}
        if not services.sees_phone_in_full(user, row["bureau"]):
            for f in fields.FIELDS:
                if f.kind == "phone":
                    item[f.key] = mask_phone(item[f.key]) or None
        item.update(
            id=row["id"],
            kind=row["kind"],
            county=row["county"],
            category=row["category_title"],
            status=Status(row["status"]).label,
            success_rate=fields.success_rate(row["disputes_mediated"], row["disputes_resolved"]),
            submitted_at=row["submitted_at"],
        )
        out.append(item)
    return out


class NominationSheets(Controller):
    path = "/staff/nominations"
    include_in_schema = False

    @get(
        "/template/{category_id:int}",
        name="nomination_template",
        guards=[requires(Role.county_clerk, Role.city_admin)],
    )
    async def template(self, category_id: FromPath[int]) -> Response:
        category = await category_by_id_or_404(category_id)
        data = await anyio.to_thread.run_sync(
            excel.template_workbook, category.kind, category.title
        )
        return xlsx_response(data, f"{category.title}推荐模板.xlsx")

    @post(
        "/import",
        name="nomination_import",
        guards=[requires(Role.county_clerk)],
        request_max_body_size=IMPORT_MAX_BODY,
    )
    async def import_(self, request: Request, actor: NamedDependency[Actor]) -> Template | Redirect:
        form = await request.form()
        try:
            category = await category_by_id_or_404(int(str(form.get("category") or 0)))
        except ValueError:
            raise not_found("找不到该评选类别。") from None
        uploads = files_of(form, "file")
        campaign = await Campaign.objects().where(Campaign.id == category.campaign).first().run()
        if not uploads:
            return self._failed(
                category, campaign, [excel.RowError(0, "文件", "请选择要导入的 Excel 文件。")]
            )
        data = await uploads[0].read(IMPORT_MAX_BODY + 1)
        # The same rules as submitting: where failing a condition refuses a nomination,
        # a row that fails one is refused at its row and column.
        rules = services.conditions_of(category) if campaign.conditions_mode != "flag" else []
        try:
            rows = await anyio.to_thread.run_sync(
                partial(excel.parse_workbook, data, category.kind, rules=rules)
            )
        except excel.ImportFailed as exc:
            return self._failed(category, campaign, exc.errors)
        if not rows:
            return self._failed(
                category, campaign, [excel.RowError(0, "文件", "模板中没有填写任何推荐对象。")]
            )
        try:
            created = await services.create_drafts(actor, request.user, category, rows)
        except services.NominationError as exc:
            return self._failed(category, campaign, [file_error(exc.message)])
        flash(
            request,
            f"已导入 {len(created)} 个推荐草稿，请逐个补充照片和证明材料后报送。",
            "success",
        )
        return Redirect(path=f"/staff/nominations?campaign={campaign.slug}&category={category.id}")

    @staticmethod
    def _failed(category: Category, campaign: Campaign, errors: list) -> Template:
        return Template(
            "nominations/import_errors.html",
            context={"category": category, "campaign": campaign, "errors": errors},
            status_code=HTTP_400_BAD_REQUEST,
        )

    @get(
        "/export.xlsx",
        name="nomination_export",
        guards=[requires(Role.county_clerk, Role.city_admin, Role.auditor)],
    )
    async def export(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        campaign: FromQuery[str | None] = None,
    ) -> Response:
        chosen = await current_campaign(campaign, request.user)
        if chosen is None:
            raise not_found("找不到该评选活动。")
        rows = await export_rows(request.user, chosen)
        await audit.record(actor, "nomination.export_list", chosen, after={"rows": len(rows)})
        kinds = {row["category"]: row["kind"] for row in rows}
        # Times in the campaign's own zone, as its pages show them.
        data = await anyio.to_thread.run_sync(
            partial(excel.export_workbook, rows, kinds, timezone=chosen.timezone)
        )
        scope = request.user.county or "全部"
        return xlsx_response(data, f"{chosen.year}年度推荐对象（{scope}）.xlsx")
