"""Staff pages: the dashboard of each role and the campaign administration."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from portal import campaigns as svc
from portal import messages, phases, todo
from portal.audit import Actor
from portal.auth import ALL_STAFF, requires
from portal.campaigns import ValidationFailed
from portal.dashboard import dashboard_steps
from portal.phases import PhaseRefused
from portal.plugins import Extensions
from portal.tables import Campaign, Category, CategoryKind, Phase, Role
from portal.templating import form_time
from portal.web.lookups import campaign_or_404, category_or_404

READERS = requires(Role.city_admin, Role.auditor)
# Messages on the home page; the message page lists more.
HOME_MESSAGES = 5
CITY_ADMIN = requires(Role.city_admin)


def _form_values(campaign: Campaign) -> dict[str, Any]:
    """A campaign's fields as its edit form shows them (times in its own zone)."""
    values = svc.campaign_values(campaign)
    for name in svc.WINDOW_FIELDS:
        values[name] = form_time(values[name], campaign.timezone)
    return values


def _form_dict(form: Any) -> dict[str, Any]:
    return {key: form.get(key) for key in form}


class Dashboard(Controller):
    include_in_schema = False
    guards = [requires(*ALL_STAFF)]

    @get("/staff", name="dashboard")
    async def dashboard(
        self, request: Request, extensions: NamedDependency[Extensions]
    ) -> Template:
        user = request.user
        campaigns = await svc.list_campaigns(user)
        # What the apps ask of this person now, overdue first, then by deadline.
        todos = await todo.todos_of(user, extensions.staff_reminders)
        by_campaign = {c.id: await svc.categories_of(c.id) for c in campaigns}
        return Template(
            "staff/dashboard.html",
            context={
                "campaigns": campaigns,
                "categories": by_campaign,
                "role": user.role.value,
                "now": dt.datetime.now(dt.UTC),
                "todos": todos,
                "steps": dashboard_steps(campaigns) if user.role is Role.city_admin else [],
                "messages": await messages.messages_of(user, limit=HOME_MESSAGES),
                "unread": await messages.unread_count(user),
            },
        )


class CampaignAdmin(Controller):
    """Campaign pages: city admins change, auditors read."""

    path = "/staff/campaigns"
    include_in_schema = False

    @get("/", name="campaign_list", guards=[READERS])
    async def index(self, request: Request) -> Template:
        campaigns = await svc.list_campaigns(request.user)
        return Template("staff/campaigns/list.html", context={"campaigns": campaigns})

    @get("/new", name="campaign_new", guards=[CITY_ADMIN])
    async def new_form(self) -> Template:
        year = dt.date.today().year
        return Template(
            "staff/campaigns/form.html",
            context={
                "campaign": None,
                "values": {
                    "year": year,
                    "timezone": "Asia/Shanghai",
                    "notice_days": 7,
                    "network_votes_per_day": 100,
                    "network_votes_per_minute": 20,
                    "review_weight": "0.70",
                    "vote_weight": "0.30",
                },
                "errors": {},
            },
        )

    @post("/new", name="campaign_create", guards=[CITY_ADMIN])
    async def create(self, request: Request, actor: NamedDependency[Actor]) -> Template | Redirect:
        values = _form_dict(await request.form())
        try:
            campaign = await svc.create_campaign(
                actor, svc.parse_campaign(values), request.user.bureau_id
            )
        except ValidationFailed as exc:
            return Template(
                "staff/campaigns/form.html",
                context={"campaign": None, "values": values, "errors": exc.errors},
                status_code=HTTP_400_BAD_REQUEST,
            )
        flash(request, f"已创建评选活动「{campaign.title}」，请继续设置评选类别。", "success")
        return Redirect(path=f"/staff/campaigns/{campaign.slug}")

    @get("/{slug:str}", name="campaign_detail", guards=[READERS])
    async def detail(
        self, request: Request, slug: FromPath[str], extensions: NamedDependency[Extensions]
    ) -> Template:
        campaign = await campaign_or_404(slug, request.user)
        return Template(
            "staff/campaigns/detail.html",
            context={
                "campaign": campaign,
                "categories": await svc.categories_of(campaign.id),
                "next_phase": phases.next_phase(campaign.phase),
                "previous_phase": phases.previous_phase(campaign.phase),
                "method_locked": svc.method_locked(campaign),
                "category_pages": extensions.category_pages,
            },
        )

    @get("/{slug:str}/edit", name="campaign_edit", guards=[CITY_ADMIN])
    async def edit_form(self, request: Request, slug: FromPath[str]) -> Template:
        campaign = await campaign_or_404(slug, request.user)
        return Template(
            "staff/campaigns/form.html",
            context={
                "campaign": campaign,
                "values": _form_values(campaign),
                "errors": {},
                "method_locked": svc.method_locked(campaign),
            },
        )

    @post("/{slug:str}/edit", name="campaign_update", guards=[CITY_ADMIN])
    async def update(
        self, request: Request, actor: NamedDependency[Actor], slug: FromPath[str]
    ) -> Template | Redirect:
        campaign = await campaign_or_404(slug, request.user)
        values = _form_dict(await request.form())
        try:
            campaign = await svc.update_campaign(actor, slug, svc.parse_campaign(values))
        except ValidationFailed as exc:
            return Template(
                "staff/campaigns/form.html",
                context={
                    "campaign": campaign,
                    "values": values,
                    "errors": exc.errors,
                    "method_locked": svc.method_locked(campaign),
                },
                status_code=HTTP_400_BAD_REQUEST,
            )
        flash(request, "已保存活动设置。", "success")
        return Redirect(path=f"/staff/campaigns/{campaign.slug}")

    @post("/{slug:str}/phase", name="campaign_phase", guards=[CITY_ADMIN])
    async def phase(
        self, request: Request, actor: NamedDependency[Actor], slug: FromPath[str]
    ) -> Redirect:
        await campaign_or_404(slug, request.user)
        target = str((await request.form()).get("phase") or "")
        try:
            campaign = await phases.move_phase(actor, slug, target)
        except PhaseRefused as exc:
            flash(request, str(exc), "error")
        else:
            flash(request, f"活动已进入「{Phase(campaign.phase).label}」阶段。", "success")
        return Redirect(path=f"/staff/campaigns/{slug}")

    @get("/{slug:str}/categories/new", name="category_new", guards=[CITY_ADMIN])
    async def new_category_form(self, request: Request, slug: FromPath[str]) -> Template:
        campaign = await campaign_or_404(slug, request.user)
        values = {"votes_per_day": 1, "quota": 1, "county_cap": 1}
        return self._category_page(campaign, None, values, {})

    @post("/{slug:str}/categories/new", name="category_create", guards=[CITY_ADMIN])
    async def create_category(
        self, request: Request, actor: NamedDependency[Actor], slug: FromPath[str]
    ) -> Template | Redirect:
        return await self._save_category(request, actor, slug, None)

    @get("/{slug:str}/categories/{key:str}/edit", name="category_edit", guards=[CITY_ADMIN])
    async def edit_category_form(
        self, request: Request, slug: FromPath[str], key: FromPath[str]
    ) -> Template:
        campaign = await campaign_or_404(slug, request.user)
        category = await category_or_404(campaign, key)
        return self._category_page(campaign, category, category.to_dict(), {})

    @post("/{slug:str}/categories/{key:str}/edit", name="category_update", guards=[CITY_ADMIN])
    async def update_category(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        slug: FromPath[str],
        key: FromPath[str],
    ) -> Template | Redirect:
        return await self._save_category(request, actor, slug, key)

    @post("/{slug:str}/categories/{key:str}/delete", name="category_delete", guards=[CITY_ADMIN])
    async def delete_category(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        slug: FromPath[str],
        key: FromPath[str],
    ) -> Redirect:
        campaign = await campaign_or_404(slug, request.user)
        try:
            await svc.delete_category(actor, campaign, key)
        except ValidationFailed as exc:
            flash(request, exc.message, "error")
        else:
            flash(request, "已删除评选类别。", "success")
        return Redirect(path=f"/staff/campaigns/{slug}")

    @staticmethod
    def _category_page(
        campaign: Campaign, category: Category | None, values: dict, errors: dict, status: int = 200
    ) -> Template:
        return Template(
            "staff/campaigns/category_form.html",
            context={
                "campaign": campaign,
                "category": category,
                "values": values,
                "errors": errors,
                "kinds": CategoryKind,
            },
            status_code=status,
        )

    async def _save_category(
        self, request: Request, actor: NamedDependency[Actor], slug: FromPath[str], key: str | None
    ) -> Template | Redirect:
        campaign = await campaign_or_404(slug, request.user)
        category = await category_or_404(campaign, key) if key else None
        values = _form_dict(await request.form())
        try:
            saved = await svc.save_category(actor, campaign, svc.parse_category(values), key)
        except ValidationFailed as exc:
            return self._category_page(campaign, category, values, exc.errors, HTTP_400_BAD_REQUEST)
        flash(request, f"已保存评选类别「{saved.title}」。", "success")
        return Redirect(path=f"/staff/campaigns/{slug}")
