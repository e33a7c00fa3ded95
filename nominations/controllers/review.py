"""Expert review pages: the city admin's panel and progress, the reviewer's scoring."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from nominations import fields, review, review_math, services
from nominations.services import NominationError
from nominations.tables import Assignment, AssignmentStatus
from portal import campaigns as campaign_svc
from portal.audit import Actor
from portal.auth import requires
from portal.errors import Hidden, not_found
from portal.markdown import render
from portal.sheets import xlsx_response
from portal.tables import Campaign, Category, Role
from portal.web.forms import ints
from portal.web.lookups import campaign_or_404, category_or_404, public_campaign
from results.services import method_of

CITY_READERS = requires(Role.city_admin, Role.auditor)
CITY_ADMIN = requires(Role.city_admin)
REVIEWER = requires(Role.reviewer)
MAX_CRITERIA = 10


async def assignment_or_404(user: Any, assignment_id: int) -> tuple:
    try:
        return await review.load_assignment(user, assignment_id)
    except Hidden:
        raise not_found("找不到该评审任务。") from None


class ReviewAdmin(Controller):
    """The city admin's side: criteria, panel, assignments, progress and scores."""

    path = "/staff/review/campaigns/{slug:str}"
    include_in_schema = False

    @get("/", name="review_overview", guards=[CITY_READERS])
    async def overview(self, request: Request, slug: FromPath[str]) -> Template:
        campaign = await campaign_or_404(slug, request.user)
        categories = await campaign_svc.categories_of(campaign.id)
        criteria = {c.id: await review.criteria_of(c.id) for c in categories}
        assignments = await review.campaign_assignments(campaign.id)
        by_candidate: dict[int, list[dict]] = {}
        for row in assignments:
            by_candidate.setdefault(row["nomination"], []).append(row)
        return Template(
            "review/overview.html",
            context={
                "campaign": campaign,
                "categories": categories,
                "criteria": criteria,
                "reviewers": await review.reviewers(),
                "panel": await review.panel_ids(campaign.id),
                "progress": await review.progress(campaign),
                "results": await review.results(campaign),
                "by_candidate": by_candidate,
                "closed": review.review_closed(campaign),
                "display": review_math.display,
            },
        )

    @post("/options", name="review_options", guards=[CITY_ADMIN])
    async def options(
        self, request: Request, actor: NamedDependency[Actor], slug: FromPath[str]
    ) -> Redirect:
        campaign = await campaign_or_404(slug, request.user)
        form = await request.form()
        try:
            per = int(str(form.get("reviewers_per_candidate") or "0"))
            await review.set_options(actor, campaign, per, form.get("standardise") == "1")
        except ValueError:
            flash(request, "每个对象的评审人数须为整数。", "error")
        except NominationError as exc:
            flash(request, exc.message, "error")
        else:
            flash(request, "已保存评审设置。", "success")
        return Redirect(path=f"/staff/review/campaigns/{slug}")

    @post("/panel", name="review_panel", guards=[CITY_ADMIN])
    async def panel(
        self, request: Request, actor: NamedDependency[Actor], slug: FromPath[str]
    ) -> Redirect:
        campaign = await campaign_or_404(slug, request.user)
        form = await request.form()
        try:
            await review.set_panel(actor, campaign, ints(form.getall("reviewers", [])))
        except NominationError as exc:
            flash(request, exc.message, "error")
        else:
            flash(request, "已保存评审专家名单。", "success")
        return Redirect(path=f"/staff/review/campaigns/{slug}")

    @post("/assign", name="review_assign", guards=[CITY_ADMIN])
    async def assign(
        self, request: Request, actor: NamedDependency[Actor], slug: FromPath[str]
    ) -> Redirect:
        campaign = await campaign_or_404(slug, request.user)
        try:
            plan = await review.auto_assign(actor, campaign)
        except NominationError as exc:
            flash(request, exc.message, "error")
        else:
            message = "已按回避规则自动分配评审任务。"
            if plan.short:
                message += (
                    f"有 {len(plan.short)} 个对象的评审专家人数不足（已用尽可回避后的专家）。"
                )
            flash(request, message, "success")
        return Redirect(path=f"/staff/review/campaigns/{slug}")

    @post("/assignments", name="review_assignment_add", guards=[CITY_ADMIN])
    async def add(
        self, request: Request, actor: NamedDependency[Actor], slug: FromPath[str]
    ) -> Redirect:
        campaign = await campaign_or_404(slug, request.user)
        form = await request.form()
        picked = ints([form.get("nomination"), form.get("reviewer")])
        try:
            if len(picked) != 2:
                raise NominationError("请选择对象和评审专家。")
            await review.add_assignment(actor, campaign, picked[0], picked[1])
        except NominationError as exc:
            flash(request, exc.message, "error")
        else:
            flash(request, "已增加分配。", "success")
        return Redirect(path=f"/staff/review/campaigns/{slug}")

    @get("/criteria/{key:str}", name="review_criteria", guards=[CITY_ADMIN])
    async def criteria_form(
        self, request: Request, slug: FromPath[str], key: FromPath[str]
    ) -> Template:
        campaign = await campaign_or_404(slug, request.user)
        category = await category_or_404(campaign, key)
        rows = [
            {
                "title": c.title,
                "guidance": c.guidance,
                "max_points": review_math.display(c.max_points, 1),
            }
            for c in await review.criteria_of(category.id)
        ]
        return self._criteria_page(campaign, category, rows, {}, 200)

    @post("/criteria/{key:str}", name="review_criteria_save", guards=[CITY_ADMIN])
    async def criteria_save(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        slug: FromPath[str],
        key: FromPath[str],
    ) -> Template | Redirect:
        campaign = await campaign_or_404(slug, request.user)
        category = await category_or_404(campaign, key)
        form = await request.form()
        rows = [
            {
                "title": str(form.get(f"title-{i}") or ""),
                "guidance": str(form.get(f"guidance-{i}") or ""),
                "max_points": str(form.get(f"max_points-{i}") or ""),
            }
            for i in range(MAX_CRITERIA)
        ]
        try:
            await review.save_criteria(actor, campaign, category, rows)
        except NominationError as exc:
            return self._criteria_page(
                campaign,
                category,
                rows,
                exc.errors or {"criteria": exc.message},
                HTTP_400_BAD_REQUEST,
            )
        flash(request, f"已保存「{category.title}」的评分标准。", "success")
        return Redirect(path=f"/staff/review/campaigns/{slug}")

    @staticmethod
    def _criteria_page(
        campaign: Campaign, category: Category, rows: list, errors: dict, status: int
    ) -> Template:
        rows = list(rows) + [{}] * (MAX_CRITERIA - len(rows))
        return Template(
            "review/criteria.html",
            context={
                "campaign": campaign,
                "category": category,
                "rows": rows[:MAX_CRITERIA],
                "errors": errors,
            },
            status_code=status,
        )

    @get("/scores.xlsx", name="review_export", guards=[CITY_READERS])
    async def export(self, request: Request, slug: FromPath[str]) -> Response:
        campaign = await campaign_or_404(slug, request.user)
        data = await review_export(campaign)
        return xlsx_response(data, f"{campaign.year}年度专家评分.xlsx")


async def review_export(campaign: Campaign) -> bytes:
    """Scores to .xlsx: one sheet per reviewer, a summary sheet per category."""
    from nominations.review_export import workbook

    categories = await campaign_svc.categories_of(campaign.id)
    criteria = {c.id: await review.criteria_of(c.id) for c in categories}
    rows = await review.campaign_assignments(campaign.id)
    names = {
        r["nomination"]: r
        for r in await services.Nomination.select(
            services.Nomination.id.as_alias("nomination"),
            services.Nomination.name,
            services.Nomination.bureau.short_name.as_alias("county"),
        )
        .where(services.Nomination.campaign == campaign.id)
        .run()
    }
    results = await review.results(campaign)
    return await anyio.to_thread.run_sync(workbook, categories, criteria, rows, names, results)


class ReviewAssignments(Controller):
    """Per assignment: reviewers score; city admins reopen, waive or remove."""

    path = "/staff/review/assignments/{assignment_id:int}"
    include_in_schema = False

    @get("/", name="review_score_form", guards=[REVIEWER])
    async def score_form(self, request: Request, assignment_id: FromPath[int]) -> Template:
        found = await assignment_or_404(request.user, assignment_id)
        return await self._page(*found)

    async def _page(
        self,
        assignment: Assignment,
        nomination: Any,
        campaign: Campaign,
        category: Category,
        values: dict | None = None,
        errors: dict | None = None,
        status: int = 200,
        message: str = "",
    ) -> Template:
        saved = review.stored_scores(assignment)
        criteria = await review.criteria_of(category.id)
        current = values or {f"c{c.id}": saved.get(str(c.id), "") for c in criteria}
        if values is None:
            current["comment"] = assignment.comment
        total = review_math.reviewer_total(review_math.Decimal(v) for v in saved.values())
        return Template(
            "review/score.html",
            context={
                "assignment": assignment,
                "n": nomination,
                "campaign": campaign,
                "category": category,
                "criteria": criteria,
                "values": current,
                "errors": errors or {},
                "message": message,
                "total": review_math.display(total, 1),
                "open": review.review_open(campaign),
                "locked": assignment.submitted_at is not None,
                "conflict": assignment.status == AssignmentStatus.conflict.value,
                "fields": [f for f in fields.fields_for(category.kind) if f.group != "contact"],
                "deeds_html": render(nomination.deeds),
                "success_rate": fields.success_rate(
                    nomination.disputes_mediated, nomination.disputes_resolved
                ),
                "documents": await services.documents_of(nomination.id),
                "county": (
                    await services.Bureau.objects()
                    .where(services.Bureau.id == nomination.bureau)
                    .first()
                    .run()
                ).short_name,
            },
            status_code=status,
        )

    @post("/", name="review_score_save", guards=[REVIEWER])
    async def save(
        self, request: Request, actor: NamedDependency[Actor], assignment_id: FromPath[int]
    ) -> Template | Redirect:
        assignment, nomination, campaign, category = await assignment_or_404(
            request.user, assignment_id
        )
        form = await request.form()
        values = {k: form.get(k) for k in form}
        submit = values.get("action") == "submit"
        try:
            await review.save_scores(
                actor,
                request.user,
                assignment,
                campaign,
                category,
                values,
                str(values.get("comment") or ""),
                submit,
            )
        except NominationError as exc:
            return await self._page(
                assignment,
                nomination,
                campaign,
                category,
                values,
                exc.errors,
                HTTP_400_BAD_REQUEST,
                exc.message,
            )
        flash(request, "评分已提交并锁定。" if submit else "已保存草稿。", "success")
        return Redirect(path=f"/staff/review/assignments/{assignment_id}")

    @post("/conflict", name="review_conflict", guards=[REVIEWER])
    async def conflict(
        self, request: Request, actor: NamedDependency[Actor], assignment_id: FromPath[int]
    ) -> Template | Redirect:
        assignment, nomination, campaign, category = await assignment_or_404(
            request.user, assignment_id
        )
        reason = str((await request.form()).get("conflict_reason") or "")
        try:
            await review.declare_conflict(actor, request.user, assignment, reason)
        except NominationError as exc:
            return await self._page(
                assignment,
                nomination,
                campaign,
                category,
                None,
                exc.errors,
                HTTP_400_BAD_REQUEST,
                exc.message,
            )
        flash(request, "已声明回避，该对象不再分配给您。", "success")
        return Redirect(path="/staff/review")

    @post("/reopen", name="review_reopen", guards=[CITY_ADMIN])
    async def reopen(
        self, request: Request, actor: NamedDependency[Actor], assignment_id: FromPath[int]
    ) -> Redirect:
        assignment, _, campaign, _ = await assignment_or_404(request.user, assignment_id)
        await self._admin_action(
            request,
            review.reopen(actor, assignment, await _reason(request)),
            "已退回评分，专家可修改后重新提交。",
        )
        return Redirect(path=f"/staff/review/campaigns/{campaign.slug}")

    @post("/waive", name="review_waive", guards=[CITY_ADMIN])
    async def waive(
        self, request: Request, actor: NamedDependency[Actor], assignment_id: FromPath[int]
    ) -> Redirect:
        assignment, _, campaign, _ = await assignment_or_404(request.user, assignment_id)
        await self._admin_action(
            request, review.waive(actor, assignment, await _reason(request)), "已免除该评分。"
        )
        return Redirect(path=f"/staff/review/campaigns/{campaign.slug}")

    @post("/remove", name="review_remove", guards=[CITY_ADMIN])
    async def remove(
        self, request: Request, actor: NamedDependency[Actor], assignment_id: FromPath[int]
    ) -> Redirect:
        assignment, _, campaign, _ = await assignment_or_404(request.user, assignment_id)
        await self._admin_action(
            request, review.remove_assignment(actor, assignment), "已撤销该分配。"
        )
        return Redirect(path=f"/staff/review/campaigns/{campaign.slug}")

    @staticmethod
    async def _admin_action(request: Request, action: Any, done: str) -> None:
        try:
            await action
        except NominationError as exc:
            flash(request, exc.message, "error")
        else:
            flash(request, done, "success")


async def _reason(request: Request) -> str:
    return str((await request.form()).get("reason") or "")


class ReviewHome(Controller):
    include_in_schema = False

    @get(
        "/staff/review",
        name="review_home",
        guards=[requires(Role.reviewer, Role.city_admin, Role.auditor)],
    )
    async def home(self, request: Request) -> Template:
        user = request.user
        if user.role is Role.reviewer:
            return Template("review/mine.html", context={"rows": await review.my_assignments(user)})
        return Template(
            "review/campaigns.html",
            context={"campaigns": await campaign_svc.list_campaigns(request.user)},
        )


class MethodPage(Controller):
    """The public 评分方法 page: criteria and how scores are combined."""

    include_in_schema = False

    @get("/campaigns/{slug:str}/method", name="method")
    async def method(self, slug: FromPath[str]) -> Template:
        campaign = await public_campaign(slug)
        categories = await campaign_svc.categories_of(campaign.id)
        return Template(
            "review/method.html",
            context={
                "campaign": campaign,
                "categories": categories,
                "criteria": {c.id: await review.criteria_of(c.id) for c in categories},
                "display": review_math.display,
                "method": method_of(campaign),
                "method_locked": campaign_svc.method_locked(campaign),
            },
        )
