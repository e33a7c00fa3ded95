"""The city admin's results page: tally, ranking, exclusions, notice and designation.

``/staff/results/{slug}`` shows what blocks the tally, the ranking of every category
with each component, and the next step (publish the notice, then designate). The
auditor reads the same page; only the city admin acts.
"""

from __future__ import annotations

import datetime as dt

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.plugins.flash import flash
from litestar.response import Redirect, Template

from portal import campaigns as campaign_svc
from portal.audit import Actor
from portal.auth import requires
from portal.campaigns import zone
from portal.clock import utc_now
from portal.tables import Phase, Role
from portal.web.lookups import campaign_or_404
from portal.zones import local_text
from results import services as results
from results.services import ResultsRefused

CITY_READERS = requires(Role.city_admin, Role.auditor)
CITY_ADMIN = requires(Role.city_admin)


def _manual_end(value: object, tz: str) -> dt.datetime | None:
    """The manual notice end from the form (local time in the campaign's zone), or None."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ResultsRefused("公示截止时间格式无效，请按“年-月-日 时:分”填写。") from None
    return parsed.replace(tzinfo=zone(tz)) if parsed.tzinfo is None else parsed


def _int(value: object) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


class ResultsAdmin(Controller):
    path = "/staff/results"
    include_in_schema = False

    @get("/", name="results_index", guards=[CITY_READERS])
    async def index(self, request: Request) -> Template:
        campaigns = [
            c
            for c in await campaign_svc.list_campaigns(request.user)
            if c.phase in {Phase.voting, Phase.tallying, Phase.notice, Phase.published}
        ]
        return Template("results/staff_index.html", context={"campaigns": campaigns})

    @get("/{slug:str}", name="results_admin", guards=[CITY_READERS])
    async def page(self, request: Request, slug: FromPath[str]) -> Template:
        campaign = await campaign_or_404(slug, request.user)
        tally = await results.tally_of(campaign.id)
        phase = Phase(campaign.phase)
        context = {
            "campaign": campaign,
            "tally": tally,
            "method": results.method_of(tally or campaign),
            "ranking": await results.ranking(campaign) if tally else [],
            "tally_blockers": await results.tally_blockers(campaign),
            "notice_blockers": (
                await results.notice_blockers(campaign) if phase is Phase.tallying else []
            ),
            "designation_blockers": (
                await results.designation_blockers(campaign) if phase is Phase.notice else []
            ),
            "open_objections": await results.open_objections(campaign.id),
        }
        if phase is Phase.tallying:
            days = _int(request.query_params.get("days"))
            days = days if days and 1 <= days <= 30 else campaign.notice_days
            context["notice_days"] = days
            context["notice_projection"] = results.notice_projection(utc_now(), days, campaign)
        return Template("results/staff.html", context=context)

    @post("/{slug:str}/tally", name="results_tally", guards=[CITY_ADMIN])
    async def tally(
        self, request: Request, actor: NamedDependency[Actor], slug: FromPath[str]
    ) -> Redirect:
        await campaign_or_404(slug, request.user)
        try:
            await results.tally(actor, slug)
        except ResultsRefused as exc:
            flash(request, "暂不能进行综合评定：" + exc.message, "error")
        else:
            flash(request, "已计算综合排名，请核对后发布公示。", "success")
        return Redirect(path=f"/staff/results/{slug}")

    @post(
        "/{slug:str}/candidates/{candidate_id:int}/exclude",
        name="results_exclude",
        guards=[CITY_ADMIN],
    )
    async def exclude(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        slug: FromPath[str],
        candidate_id: FromPath[int],
    ) -> Redirect:
        return await self._decide(request, actor, slug, candidate_id, exclude=True)

    @post(
        "/{slug:str}/candidates/{candidate_id:int}/reinstate",
        name="results_reinstate",
        guards=[CITY_ADMIN],
    )
    async def reinstate(
        self,
        request: Request,
        actor: NamedDependency[Actor],
        slug: FromPath[str],
        candidate_id: FromPath[int],
    ) -> Redirect:
        return await self._decide(request, actor, slug, candidate_id, exclude=False)

    async def _decide(
        self, request: Request, actor: Actor, slug: str, candidate_id: int, *, exclude: bool
    ) -> Redirect:
        campaign = await campaign_or_404(slug, request.user)
        reason = str((await request.form()).get("reason") or "")
        decide = results.exclude if exclude else results.reinstate
        try:
            await decide(actor, campaign, candidate_id, reason)
        except ResultsRefused as exc:
            flash(request, exc.message, "error")
        else:
            done = (
                "已取消该候选对象的资格，后续名次依次递补。"
                if exclude
                else "已恢复该候选对象的资格。"
            )
            flash(request, done, "success")
        return Redirect(path=f"/staff/results/{slug}#candidate-{candidate_id}")

    @post("/{slug:str}/notice", name="results_notice", guards=[CITY_ADMIN])
    async def notice(
        self, request: Request, actor: NamedDependency[Actor], slug: FromPath[str]
    ) -> Redirect:
        campaign = await campaign_or_404(slug, request.user)
        form = await request.form()
        days = _int(form.get("days"))
        back = f"/staff/results/{slug}"
        try:
            if days is None or not 1 <= days <= 30:
                raise ResultsRefused("请填写公示期（1 到 30 之间的整数，按工作日计算）。")
            back += f"?days={days}"
            ends_at = _manual_end(form.get("ends_at"), campaign.timezone)
            tally = await results.open_notice(actor, slug, days, ends_at=ends_at)
        except ResultsRefused as exc:
            flash(request, "暂不能发布公示：" + exc.message, "error")
            return Redirect(path=back + "#notice-heading")
        ends = local_text(tally.notice_ends_at, campaign.timezone)
        flash(request, f"拟命名名单已发布公示，公示期 {days} 个工作日，至 {ends}。", "success")
        return Redirect(path=f"/staff/results/{slug}")

    @post("/{slug:str}/designate", name="results_designate", guards=[CITY_ADMIN])
    async def designate(
        self, request: Request, actor: NamedDependency[Actor], slug: FromPath[str]
    ) -> Redirect:
        await campaign_or_404(slug, request.user)
        document_no = str((await request.form()).get("document_no") or "")
        try:
            await results.designate(actor, slug, document_no)
        except ResultsRefused as exc:
            flash(request, "暂不能正式命名：" + exc.message, "error")
        else:
            flash(request, "已正式命名，光荣榜和命名决定已对外发布。", "success")
        return Redirect(path=f"/staff/results/{slug}")
