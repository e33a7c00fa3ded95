"""Staff handling of objections: the list with every detail, the evidence files, and the
city admin's steps (investigate, uphold — which excludes the candidate — or dismiss).

City admins and auditors read; only city admins act. County clerks and reviewers have
no access: objections carry the objectors' names and phone numbers.
"""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import File, Redirect, Template

from portal.audit import Actor
from portal.auth import requires
from portal.errors import not_found
from portal.tables import Phase, Role
from portal.web.files import serve
from portal.web.lookups import campaign_or_404
from results import objections
from results.objections import ObjectionRefused
from results.services import ResultsRefused

CITY_READERS = requires(Role.city_admin, Role.auditor)
CITY_ADMIN = requires(Role.city_admin)

DONE = {
    "investigate": "已开始调查核实。",
    "uphold": "已认定异议成立，该对象已被取消资格，后续名次依次递补。",
    "dismiss": "已认定异议不成立，拟命名名单不变。",
}


class ObjectionsAdmin(Controller):
    path = "/staff/results/{slug:str}/objections"
    include_in_schema = False

    @get("/", name="objections_admin", guards=[CITY_READERS])
    async def index(self, request: Request, slug: FromPath[str]) -> Template:
        campaign = await campaign_or_404(slug, request.user)
        rows = await objections.objections_of(campaign)
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

    @get("/{objection_id:int}/evidence", name="objection_evidence", guards=[CITY_READERS])
    async def evidence(
        self, request: Request, slug: FromPath[str], objection_id: FromPath[int]
    ) -> File:
        campaign = await campaign_or_404(slug, request.user)
        objection = await objections.objection_of(campaign, objection_id)
        if objection is None or not objection.evidence:
            raise not_found("找不到该证据材料。")
        return serve(request, objection.evidence, filename=objection.evidence_name or "证据材料")

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
