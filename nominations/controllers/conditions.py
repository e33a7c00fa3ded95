"""The organiser's page of a category's recommendation conditions (推荐条件)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from nominations import conditions
from nominations.category_conditions import editable, save_conditions
from portal.audit import Actor
from portal.auth import requires
from portal.tables import Campaign, Category, CategoryKind, Role
from portal.web.forms import form_values
from portal.web.lookups import campaign_or_404, category_or_404

BLANK_ROWS = 3


def _rows(items: list[dict[str, Any]], blank: int) -> list[dict[str, Any]]:
    """The form's rows: each condition as the form names its parts, then blank rows."""
    rows = []
    for item in items:
        if "declaration" in item:
            rows.append(
                {"field": "declaration", "key": item.get("declaration", ""), **item, "op": ""}
            )
        else:
            rows.append(dict(item))
    room = max(0, conditions.MAX_CONDITIONS - len(rows))
    rows.extend({} for _ in range(min(blank, room)))
    return rows


def _page(
    campaign: Campaign,
    category: Category,
    rows: list[dict[str, Any]],
    errors: dict[str, str],
    status: int = 200,
) -> Template:
    return Template(
        "nominations/conditions_form.html",
        context={
            "campaign": campaign,
            "category": category,
            "rows": rows,
            "errors": errors,
            "metrics": conditions.metrics_for(category.kind),
            "ops": conditions.OPS,
            "editable": editable(campaign),
            "kind_label": CategoryKind(category.kind).label,
        },
        status_code=status,
    )


class ConditionsAdmin(Controller):
    path = "/staff/campaigns/{slug:str}/categories/{key:str}/conditions"
    include_in_schema = False
    guards = [requires(Role.city_admin)]

    @get("/", name="category_conditions")
    async def show(self, request: Request, slug: FromPath[str], key: FromPath[str]) -> Template:
        campaign = await campaign_or_404(slug, request.user)
        category = await category_or_404(campaign, key)
        items = [c.as_json() for c in conditions.stored(category.conditions, category.kind)]
        return _page(campaign, category, _rows(items, BLANK_ROWS if editable(campaign) else 0), {})

    @post("/", name="category_conditions_save")
    async def save(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        slug: FromPath[str],
        key: FromPath[str],
    ) -> Template | Redirect:
        campaign = await campaign_or_404(slug, request.user)
        category = await category_or_404(campaign, key)
        form = form_values(await request.form())
        try:
            count = min(int(str(form.get("rows") or 0)), conditions.MAX_CONDITIONS + BLANK_ROWS)
        except ValueError:
            count = 0
        items = conditions.parse_form(form, count)
        try:
            saved = await save_conditions(actor, campaign, category, items)
        except conditions.ConditionsInvalid as exc:
            return _page(campaign, category, _rows(items, 0), exc.errors, HTTP_400_BAD_REQUEST)
        flash(
            request,
            f"已保存「{category.title}」的推荐条件（{len(saved)} 条）。"
            if saved
            else f"「{category.title}」不设推荐条件。",
            "success",
        )
        return Redirect(path=f"/staff/campaigns/{slug}")
