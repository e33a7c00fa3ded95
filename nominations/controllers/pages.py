"""Staff pages for nominations: the county's drafts and submissions, the city's vetting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_409_CONFLICT

from nominations import conditions, fields, recommendation, services
from nominations.controllers.common import FORM_MAX_BODY, context_or_404, discard, stage_files
from nominations.designees import Designee, copied, designees, earlier, taken
from nominations.services import Context, NominationError
from nominations.tables import DocumentKind, Status
from portal import audit, media
from portal import campaigns as campaign_svc
from portal.accounts import StaffUser
from portal.audit import Actor
from portal.auth import requires
from portal.errors import Hidden, not_found
from portal.markdown import render
from portal.tables import Campaign, Category, Phase, Role
from portal.web.files import upload_directory
from portal.web.forms import form_values
from portal.web.lookups import category_by_id_or_404

DECIDED_MESSAGES = {
    "shortlist": "已确定入围。",
    "return": "已退回修改。",
    "reject": "已作不通过处理。",
}
NOT_EDITABLE = "当前状态下您不能修改该推荐对象。"
CHOOSE_CATEGORY = "新建推荐须先选择评选类别：请在下面的类别中点击“新建推荐”。"
READERS = requires(Role.city_admin, Role.county_clerk, Role.auditor)
CLERK = requires(Role.county_clerk)
CITY_ADMIN = requires(Role.city_admin)
EDITORS = requires(Role.county_clerk, Role.city_admin)


async def current_campaign(slug: str | None, user: StaffUser) -> Campaign | None:
    """The campaign a nomination page is about: the one asked for, else the latest in
    nominating or vetting, else the latest that is not a draft — among the campaigns
    ``user`` may see (another organisation's is not found)."""
    if slug:
        campaign = await campaign_svc.get_campaign(slug)
        return campaign if campaign and await campaign_svc.seen_by(user, campaign) else None
    visible = await campaign_svc.list_campaigns(user)
    for phases in (
        (Phase.nominating, Phase.vetting),
        tuple(p for p in Phase if p is not Phase.draft),
    ):
        found = [c for c in visible if Phase(c.phase) in phases]
        if found:
            return found[0]  # newest year first, then newest
    return None


@dataclass
class Picker:
    """The designations a new nomination may be picked from (see nominations.designees):
    those offered, those already put forward, and the one picked."""

    offered: list[Designee] = field(default_factory=list)
    used: set[int] = field(default_factory=set)
    picked: Designee | None = None


async def picker(user: StaffUser, category: Category, campaign: Campaign, chosen: Any) -> Picker:
    """What the new-nomination form offers the clerk's bureau, with ``chosen`` (an id
    from the query or the form) picked if it is one of them and still free."""
    try:
        bureau = await services.nominating_bureau(user, campaign)
    except NominationError:
        return Picker()
    offered = await designees(bureau.id, category, campaign)
    used = await taken(campaign, [d.nomination_id for d in offered])
    wanted = str(chosen or "")
    picked = next(
        (d for d in offered if str(d.nomination_id) == wanted and d.nomination_id not in used),
        None,
    )
    return Picker(offered, used, picked)


def form_page(
    category: Category,
    campaign: Campaign,
    values: dict[str, Any],
    errors: dict[str, str],
    ctx: Context | None = None,
    documents: list | None = None,
    status: int = 200,
    message: str = "",
    choice: Picker | None = None,
    earlier: Designee | None = None,
    checked: bool = False,
    closed: str = "",
) -> Template:
    """The nomination form; with ``closed`` (why nominating is closed) only that banner
    and what was typed, no form that could not be sent."""
    outcomes, _ = services.check_conditions(category, values)
    return Template(
        "nominations/form.html",
        context={
            "rules": services.conditions_of(category),
            "outcomes": outcomes,
            "checked": checked,
            "category": category,
            "campaign": campaign,
            "fields": fields.fields_for(category.kind),
            "values": values,
            "errors": errors,
            "ctx": ctx,
            "documents": documents or [],
            "message": message,
            "picker": choice or Picker(),
            "earlier": earlier,
            "closed": closed,
        },
        status_code=status,
    )


async def edit_page(
    ctx: Context,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
    message: str = "",
    checked: bool = False,
) -> Template:
    """The form of an existing nomination, with its documents and earlier designation."""
    return form_page(
        ctx.category,
        ctx.campaign,
        values,
        errors,
        ctx,
        await services.documents_of(ctx.nomination.id, kind=DocumentKind.material),
        status,
        message,
        earlier=await earlier(ctx.nomination, ctx.category, ctx.campaign),
        checked=checked,
    )


async def visible_category(user: StaffUser, category_id: int) -> tuple[Category, Campaign]:
    """A category of a campaign the user may see, with its campaign; else 404."""
    category = await category_by_id_or_404(category_id)
    campaign = await Campaign.objects().where(Campaign.id == category.campaign).first().run()
    if campaign is None or not await campaign_svc.seen_by(user, campaign):
        raise not_found("找不到该评选类别。")
    return category, campaign


class NominationPages(Controller):
    path = "/staff/nominations"
    include_in_schema = False

    @get("/", name="nomination_list", guards=[READERS])
    async def index(
        self,
        request: Request,
        campaign: FromQuery[str | None] = None,
        category: Annotated[int | None, QueryParameter(ge=1)] = None,
        county: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
    ) -> Template:
        user = request.user
        chosen = await current_campaign(campaign, user)
        if campaign and chosen is None:
            raise not_found("找不到该评选活动。")
        categories = await campaign_svc.categories_of(chosen.id) if chosen else []
        counties = await campaign_svc.nominating_bureaus(chosen) if chosen else []
        rows = (
            await services.listed(user, chosen.id, category=category, county=county, status=status)
            if chosen
            else []
        )
        rules = {c.id: services.conditions_of(c) for c in categories}
        for row in rows:
            row["conditions"] = conditions.evaluate(
                rules.get(row["category"], []), row, services.answers_of(row)
            )
        places = await services.county_counts(chosen.id) if chosen else {}
        by_status = await services.status_counts(chosen.id) if chosen else {}
        sealed = await recommendation.sealed_ids(chosen.id) if chosen else set()
        return Template(
            "nominations/list.html",
            context={
                "campaign": chosen,
                "campaigns": await campaign_svc.list_campaigns(user),
                "categories": categories,
                "counties": counties,
                "rows": rows,
                "with_conditions": any(rules.values()),
                "places": places,
                "by_status": by_status,
                "sealed": sealed,
                "filters": {
                    "category": category,
                    "county": county or "",
                    "status": status or "",
                },
                "statuses": Status,
                "open": bool(chosen and services.nominating_open(chosen)),
                "closed_message": services.window_message(chosen) if chosen else "",
                "vetting": bool(chosen and Phase(chosen.phase) in services.VETTING_PHASES),
            },
        )

    @get("/conditions/check", name="nomination_conditions_check", guards=[EDITORS])
    async def check_conditions(self, request: Request) -> Template:
        """The conditions panel for the form as typed, from the query (conditions.js asks
        as the clerk types; the 检查条件 button does the same without scripts). A read:
        nothing is stored, so a GET."""
        values = {key: request.query_params.get(key) for key in request.query_params}
        try:
            cat, campaign = await visible_category(request.user, int(values.get("category") or 0))
        except ValueError:
            raise not_found("找不到该评选类别。") from None
        outcomes, _ = services.check_conditions(cat, values)
        return Template(
            "nominations/conditions_status.html",
            context={"outcomes": outcomes, "mode": campaign.conditions_mode},
        )

    @get("/new", name="nomination_new", guards=[CLERK])
    async def new_form(
        self,
        request: Request,
        category: FromQuery[str | None] = None,
        designation: Annotated[int | None, QueryParameter(ge=1)] = None,
    ) -> Template | Redirect:
        if not (category or "").isdigit():
            # A bare /new (a bookmark, a typed address): the clerk's page lists the
            # categories, each with its 新建推荐 button.
            flash(request, CHOOSE_CATEGORY, "info")
            return Redirect(path="/staff/nominations")
        cat, campaign = await visible_category(request.user, int(category))
        if not services.nominating_open(campaign):
            return form_page(cat, campaign, {}, {}, closed=services.window_message(campaign))
        choice = await picker(request.user, cat, campaign, designation)
        values: dict[str, Any] = {}
        if choice.picked:
            # The earlier nomination's name, organisation and figures, all editable.
            values = await copied(choice.picked, cat.kind)
        return form_page(cat, campaign, values, {}, choice=choice)

    @post("/new", name="nomination_create", guards=[CLERK], request_max_body_size=FORM_MAX_BODY)
    async def create(self, request: Request, actor: NamedDependency[Actor]) -> Template | Redirect:
        form = await request.form()
        values = form_values(form)
        try:
            cat, campaign = await visible_category(request.user, int(values.get("category") or 0))
        except ValueError:
            raise not_found("找不到该评选类别。") from None

        if not services.nominating_open(campaign):
            # Closed while the clerk was typing: say so, and hand back the deeds.
            return form_page(
                cat, campaign, values, {}, status=HTTP_409_CONFLICT,
                closed=services.window_message(campaign),
            )  # fmt: skip

        async def again(errors: dict[str, str], message: str = "") -> Template:
            # The form once more, with the designees to pick from (only when refused:
            # create_draft checks the designation itself).
            choice = await picker(request.user, cat, campaign, values.get("designation"))
            return form_page(
                cat, campaign, values, errors, status=HTTP_400_BAD_REQUEST, message=message,
                choice=choice,
            )  # fmt: skip

        if values.get("action") == "check":
            # Only the conditions, against what is typed: nothing is stored.
            choice = await picker(request.user, cat, campaign, values.get("designation"))
            return form_page(cat, campaign, values, {}, choice=choice, checked=True)
        staged, file_errors = await stage_files(request, form)
        if file_errors:
            return await again(file_errors)
        try:
            nomination = await services.create_draft(actor, request.user, cat, values, staged)
        except NominationError as exc:
            discard(request, staged)
            return await again(exc.errors, exc.message)
        if values.get("action") == "submit":
            return await self._submit(request, actor, nomination.id)
        flash(request, "已保存草稿。材料齐全后请点击“报送”。", "success")
        return Redirect(path=f"/staff/nominations/{nomination.id}")

    @get("/{nomination_id:int}", name="nomination_detail", guards=[READERS])
    async def detail(self, request: Request, nomination_id: FromPath[int]) -> Template:
        ctx = await context_or_404(request.user, nomination_id)
        return await self._detail(request, ctx)

    async def _detail(
        self, request: Request, ctx: Context, errors: dict | None = None, status: int = 200
    ) -> Template:
        n = ctx.nomination
        user = request.user
        timeline = await services.timeline(user, n.id)
        return Template(
            "nominations/detail.html",
            context={
                "ctx": ctx,
                "n": n,
                "fields": fields.fields_for(ctx.category.kind),
                "deeds_html": render(n.deeds),
                "success_rate": fields.success_rate(n.disputes_mediated, n.disputes_resolved),
                "documents": await services.documents_of(n.id, kind=DocumentKind.material),
                "sealed_form": await recommendation.sealed_form_of(n.id),
                "timeline": timeline,
                "may_edit": services.may_edit(user, ctx),
                "may_submit": user.role is Role.county_clerk
                and Status(n.status) in services.EDITABLE_BY_COUNTY,
                "may_withdraw": user.role is Role.county_clerk
                and Status(n.status) in (Status.submitted, Status.returned),
                "may_decide": user.role is Role.city_admin
                and n.status == Status.submitted.value
                and Phase(ctx.campaign.phase) in services.VETTING_PHASES,
                "phones_in_full": services.sees_phone_in_full(user, n.bureau),
                "errors": errors or {},
                "statuses": Status,
                "earlier": await earlier(n, ctx.category, ctx.campaign),
                "outcomes": services.outcomes_of(ctx.category, n),
            },
            status_code=status,
        )

    @get("/{nomination_id:int}/edit", name="nomination_edit", guards=[EDITORS])
    async def edit_form(self, request: Request, nomination_id: FromPath[int]) -> Template:
        ctx = await context_or_404(request.user, nomination_id)
        if not services.may_edit(request.user, ctx):
            raise PermissionDeniedException(NOT_EDITABLE)
        return await edit_page(ctx, services.form_values_of(ctx.nomination), {})

    @post(
        "/{nomination_id:int}/edit",
        name="nomination_update",
        guards=[EDITORS],
        request_max_body_size=FORM_MAX_BODY,
    )
    async def update(
        self, request: Request, actor: NamedDependency[Actor], nomination_id: FromPath[int]
    ) -> Template | Redirect:
        ctx = await context_or_404(request.user, nomination_id)
        if not services.may_edit(request.user, ctx):
            raise PermissionDeniedException(NOT_EDITABLE)
        form = await request.form()
        values = form_values(form)
        if values.get("action") == "check":
            return await edit_page(ctx, values, {}, checked=True)
        staged, file_errors = await stage_files(request, form)
        if file_errors:
            return await edit_page(ctx, values, file_errors, HTTP_400_BAD_REQUEST)
        try:
            replaced = await services.update(actor, request.user, ctx, values, staged)
        except NominationError as exc:
            discard(request, staged)
            return await edit_page(ctx, values, exc.errors, HTTP_400_BAD_REQUEST, exc.message)
        media.remove(upload_directory(request), *replaced)
        if values.get("action") == "submit":
            return await self._submit(request, actor, nomination_id)
        flash(request, "已保存。", "success")
        return Redirect(path=f"/staff/nominations/{nomination_id}")

    @post("/{nomination_id:int}/submit", name="nomination_submit", guards=[CLERK])
    async def submit(
        self, request: Request, actor: NamedDependency[Actor], nomination_id: FromPath[int]
    ) -> Template | Redirect:
        return await self._submit(request, actor, nomination_id)

    async def _submit(
        self, request: Request, actor: Actor, nomination_id: int
    ) -> Template | Redirect:
        ctx = await context_or_404(request.user, nomination_id)
        try:
            await services.submit(actor, request.user, ctx)
        except NominationError as exc:
            if exc.errors:
                # Back to the form, each problem shown next to its field.
                return await edit_page(
                    ctx,
                    services.form_values_of(ctx.nomination),
                    exc.errors,
                    HTTP_400_BAD_REQUEST,
                    exc.message,
                )
            flash(request, exc.message, "error")
            return Redirect(path=f"/staff/nominations/{nomination_id}")
        organiser = await campaign_svc.organiser_of(ctx.campaign)
        flash(request, f"已报送{organiser.name if organiser else '主办单位'}审核。", "success")
        return Redirect(path=f"/staff/nominations/{nomination_id}")

    @post("/{nomination_id:int}/withdraw", name="nomination_withdraw", guards=[CLERK])
    async def withdraw(
        self, request: Request, actor: NamedDependency[Actor], nomination_id: FromPath[int]
    ) -> Redirect:
        ctx = await context_or_404(request.user, nomination_id)
        reason = str((await request.form()).get("reason") or "")
        try:
            await services.withdraw(actor, request.user, ctx, reason)
        except NominationError as exc:
            flash(request, exc.message, "error")
        else:
            flash(request, "已撤回，该名额已释放。", "success")
        return Redirect(path=f"/staff/nominations/{nomination_id}")

    @post("/{nomination_id:int}/decide", name="nomination_decide", guards=[CITY_ADMIN])
    async def decide(
        self, request: Request, actor: NamedDependency[Actor], nomination_id: FromPath[int]
    ) -> Template | Redirect:
        ctx = await context_or_404(request.user, nomination_id)
        form = await request.form()
        decision = str(form.get("decision") or "")
        try:
            await services.decide(actor, ctx, decision, str(form.get("reason") or ""))
        except NominationError as exc:
            flash(request, exc.message, "error")
            if exc.errors:
                return await self._detail(request, ctx, exc.errors, HTTP_400_BAD_REQUEST)
            return Redirect(path=f"/staff/nominations/{nomination_id}")
        flash(request, DECIDED_MESSAGES[decision], "success")
        return Redirect(path=f"/staff/nominations/{nomination_id}")

    @post("/{nomination_id:int}/reveal", name="nomination_reveal", guards=[CITY_ADMIN])
    async def reveal(
        self, request: Request, actor: NamedDependency[Actor], nomination_id: FromPath[int]
    ) -> Redirect:
        """The nomination's phone numbers in full, once, for the organiser's administrator
        who must call: pages and exports show them masked; each reveal is audited."""
        ctx = await context_or_404(request.user, nomination_id)
        n = ctx.nomination
        phones = [
            f"{f.label}：{getattr(n, f.key) or '未填写'}"
            for f in fields.fields_for(ctx.category.kind)
            if f.kind == "phone"
        ]
        await audit.record(actor, "nomination.reveal", n, label=n.name)
        flash(request, f"「{n.name}」的{'；'.join(phones) or '联系电话：未填写'}", "info")
        return Redirect(path=f"/staff/nominations/{nomination_id}")

    @post("/shortlist", name="nomination_shortlist_many", guards=[CITY_ADMIN])
    async def shortlist_many(self, request: Request, actor: NamedDependency[Actor]) -> Redirect:
        form = await request.form()
        slug = str(form.get("campaign") or "")
        campaign = await current_campaign(slug, request.user) if slug else None
        if campaign is None:
            raise not_found("找不到该评选活动。")
        ids = []
        for raw in form.getall("ids", []):
            try:
                ids.append(int(raw))
            except (TypeError, ValueError):
                continue
        try:
            count = await services.shortlist_many(actor, campaign, ids)
        except NominationError as exc:
            flash(request, exc.message, "error")
        else:
            flash(request, f"已确定 {count} 个推荐对象入围。", "success" if count else "info")
        return Redirect(path=f"/staff/nominations?campaign={campaign.slug}&status=submitted")

    @post(
        "/{nomination_id:int}/documents/{document_id:int}/delete",
        name="nomination_document_delete",
        guards=[EDITORS],
    )
    async def delete_document(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        nomination_id: FromPath[int],
        document_id: FromPath[int],
    ) -> Redirect:
        ctx = await context_or_404(request.user, nomination_id)
        try:
            stored = await services.remove_document(actor, request.user, ctx, document_id)
        except Hidden:
            raise not_found("找不到该材料。") from None
        except NominationError as exc:
            flash(request, exc.message, "error")
        else:
            media.remove(upload_directory(request), stored)
            flash(request, "已删除该材料。", "success")
        return Redirect(path=f"/staff/nominations/{nomination_id}/edit")
