"""Staff pages of the story series: the list, the form, a story, and its way to publication."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.plugins.flash import flash
from litestar.response import File, Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from portal import media
from portal.accounts import StaffUser
from portal.audit import Actor
from portal.auth import requires
from portal.bureaus import subtree
from portal.campaigns import list_campaigns
from portal.errors import Hidden, not_found
from portal.markdown import render
from portal.tables import AuditEntry, Campaign, Phase, Role
from portal.web.files import serve, upload_directory
from portal.web.forms import stage_photo
from stories import publishing, reading, services
from stories.services import StoryError
from stories.tables import Story, StoryKind, StoryStatus

READERS = requires(Role.city_admin, Role.county_clerk, Role.auditor)
EDITORS = requires(Role.city_admin, Role.county_clerk)
CLERK = requires(Role.county_clerk)
CITY_ADMIN = requires(Role.city_admin)
# The form carries one cover picture (at most 5 MB) and the text.
FORM_MAX_BODY = 6 * 1024 * 1024
# The campaign chooser's value for "no campaign".
NO_CAMPAIGN = "-"


async def story_or_404(user: StaffUser, story_id: int) -> Story:
    try:
        return await services.load(user, story_id)
    except Hidden:
        raise not_found("找不到该稿件。") from None


def form_values(form: Any) -> dict[str, Any]:
    """The story fields of a submitted form (candidates as the list of checked ids)."""
    values = {
        key: form.get(key)
        for key in ("kind", "title", "body", "bureau", "campaign", "action")
        if isinstance(form.get(key), str)
    }
    values["candidates"] = [v for v in form.getall("candidates", []) if isinstance(v, str)]
    values["remove_cover"] = form.get("remove_cover") == "1"
    return values


async def stage_cover(request: Request, form: Any) -> tuple[tuple[str, str] | None, str]:
    """Check and store the cover sent with a form; ``(names, "")`` or ``(None, error)``."""
    names, refused = await stage_photo(form, "cover", upload_directory(request))
    return names, f"封面图片：{refused}" if refused else ""


def discard(request: Request, cover: tuple[str, str] | None) -> None:
    if cover:
        media.remove(upload_directory(request), *cover)


async def campaign_choices(user: StaffUser) -> list[Campaign]:
    """The campaigns a story may be linked to: the user's organisation's (drafts only
    for administrators)."""
    campaigns = await list_campaigns(user)
    if user.role is not Role.city_admin:
        campaigns = [c for c in campaigns if c.phase != Phase.draft.value]
    return campaigns


async def chosen_campaign(campaigns: list[Campaign], slug: str | None) -> Campaign | None:
    """The campaign whose candidates the form offers: the one asked for, else the latest."""
    if slug == NO_CAMPAIGN or slug == "":
        return None
    if slug:
        return next((c for c in campaigns if c.slug == slug), None)
    return next((c for c in campaigns if c.phase != Phase.draft.value), None)


async def form_page(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str],
    story: Story | None = None,
    campaign_slug: str | None = None,
    status: int = 200,
    message: str = "",
) -> Template:
    user: StaffUser = request.user
    campaigns = await campaign_choices(user)
    chosen = await chosen_campaign(campaigns, campaign_slug)
    bureaus = (
        [node for node in await subtree(user.bureau_id) if not node.retired]
        if user.role is Role.city_admin
        else []
    )
    selected = set()
    for raw in values.get("candidates") or []:
        try:
            selected.add(int(raw))
        except (TypeError, ValueError):
            continue
    return Template(
        "stories/staff_form.html",
        context={
            "story": story,
            "values": values,
            "errors": errors,
            "message": message,
            "campaigns": campaigns,
            "chosen": chosen,
            "no_campaign": NO_CAMPAIGN,
            "bureaus": bureaus,
            "candidates": await reading.linkable_candidates(chosen.id) if chosen else [],
            "selected": selected,
            "kinds": StoryKind,
            "max_title": services.MAX_TITLE,
        },
        status_code=status,
    )


async def stored_values(story: Story) -> dict[str, Any]:
    campaign = None
    if story.campaign is not None:
        campaign = (
            await Campaign.select(Campaign.slug).where(Campaign.id == story.campaign).first().run()
        )
    return {
        "kind": story.kind,
        "title": story.title,
        "body": story.body,
        "bureau": str(story.bureau),
        "campaign": campaign["slug"] if campaign else "",
        "candidates": await services.candidate_ids_of(story.id),
    }


class StoryAdmin(Controller):
    path = "/staff/stories"
    include_in_schema = False

    @get("/", name="story_admin_list", guards=[READERS])
    async def index(
        self,
        request: Request,
        status: FromQuery[str | None] = None,
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> Template:
        try:
            listing = await reading.staff_page(request.user, status, page)
        except reading.PageNotFound:
            raise not_found("没有这一页。") from None
        return Template(
            "stories/staff_list.html",
            context={
                "listing": listing,
                "status": status if status in {s.value for s in StoryStatus} else "",
                "statuses": StoryStatus,
            },
        )

    @get("/new", name="story_new", guards=[EDITORS])
    async def new_form(self, request: Request, campaign: FromQuery[str | None] = None) -> Template:
        values: dict[str, Any] = {"kind": "case", "candidates": []}
        if request.user.role is Role.city_admin:
            values["bureau"] = str(request.user.bureau_id)
        return await form_page(request, values, {}, campaign_slug=campaign)

    @post("/new", name="story_create", guards=[EDITORS], request_max_body_size=FORM_MAX_BODY)
    async def create(self, request: Request, actor: NamedDependency[Actor]) -> Template | Redirect:
        form = await request.form()
        values = form_values(form)
        slug = values.get("campaign") or NO_CAMPAIGN
        cover, cover_error = await stage_cover(request, form)
        if cover_error:
            _, errors = await services.clean(request.user, values)
            errors["cover"] = cover_error
            return await form_page(request, values, errors, None, slug, HTTP_400_BAD_REQUEST)
        try:
            story = await services.create(actor, request.user, values, cover)
        except StoryError as exc:
            discard(request, cover)
            return await form_page(
                request, values, exc.errors, None, slug, HTTP_400_BAD_REQUEST, exc.message
            )
        if values.get("action") == "submit":
            return await self._submit(request, actor, story)
        flash(request, "已保存稿件。", "success")
        return Redirect(path=f"/staff/stories/{story.id}")

    @get("/{story_id:int}", name="story_admin_detail", guards=[READERS])
    async def detail(self, request: Request, story_id: FromPath[int]) -> Template:
        story = await story_or_404(request.user, story_id)
        return await self._detail(request, story)

    async def _detail(
        self, request: Request, story: Story, errors: dict | None = None, status: int = 200
    ) -> Template:
        user: StaffUser = request.user
        campaign = None
        if story.campaign is not None:
            campaign = await Campaign.objects().where(Campaign.id == story.campaign).first().run()
        history = (
            await AuditEntry.select(
                AuditEntry.at, AuditEntry.actor_name, AuditEntry.action, AuditEntry.after
            )
            .where(
                (AuditEntry.object_type == Story._meta.tablename)
                & (AuditEntry.object_id == str(story.id))
            )
            .order_by(AuditEntry.id)
            .output(load_json=True)
            .run()
        )
        return Template(
            "stories/staff_detail.html",
            context={
                "story": story,
                "bureau": await reading.bureau_of(story),
                "campaign": campaign,
                "candidates": await reading.linked_candidates(story.id, public=False),
                "body_html": render(story.body),
                "history": history,
                "kinds": StoryKind,
                "statuses": StoryStatus,
                "may_edit": services.may_edit(user, story),
                "may_submit": services.may_submit(user, story),
                "may_publish": services.may_publish(user, story),
                "may_return": user.role is Role.city_admin
                and story.status == StoryStatus.submitted.value,
                "may_unpublish": user.role is Role.city_admin
                and story.status == StoryStatus.published.value,
                "errors": errors or {},
            },
            status_code=status,
        )

    @get("/{story_id:int}/edit", name="story_edit", guards=[EDITORS])
    async def edit_form(
        self, request: Request, story_id: FromPath[int], campaign: FromQuery[str | None] = None
    ) -> Template:
        story = await story_or_404(request.user, story_id)
        if not services.may_edit(request.user, story):
            raise PermissionDeniedException("当前状态下您不能修改该稿件。")
        values = await stored_values(story)
        slug = campaign if campaign is not None else (values["campaign"] or NO_CAMPAIGN)
        return await form_page(request, values, {}, story, slug)

    @post(
        "/{story_id:int}/edit",
        name="story_update",
        guards=[EDITORS],
        request_max_body_size=FORM_MAX_BODY,
    )
    async def update(
        self, request: Request, actor: NamedDependency[Actor], story_id: FromPath[int]
    ) -> Template | Redirect:
        story = await story_or_404(request.user, story_id)
        if not services.may_edit(request.user, story):
            raise PermissionDeniedException("当前状态下您不能修改该稿件。")
        form = await request.form()
        values = form_values(form)
        slug = values.get("campaign") or NO_CAMPAIGN
        cover, cover_error = await stage_cover(request, form)
        if cover_error:
            _, errors = await services.clean(request.user, values)
            errors["cover"] = cover_error
            return await form_page(request, values, errors, story, slug, HTTP_400_BAD_REQUEST)
        try:
            replaced = await services.update(
                actor, request.user, story, values, cover, bool(values.get("remove_cover"))
            )
        except StoryError as exc:
            discard(request, cover)
            return await form_page(
                request, values, exc.errors, story, slug, HTTP_400_BAD_REQUEST, exc.message
            )
        media.remove(upload_directory(request), *replaced)
        if values.get("action") == "submit":
            return await self._submit(request, actor, story)
        flash(request, "已保存。", "success")
        return Redirect(path=f"/staff/stories/{story.id}")

    @get("/{story_id:int}/cover.jpg", name="story_admin_cover", guards=[READERS])
    async def cover(self, request: Request, story_id: FromPath[int]) -> File:
        story = await story_or_404(request.user, story_id)
        return serve(request, story.cover)

    @post("/{story_id:int}/submit", name="story_submit", guards=[CLERK])
    async def submit(
        self, request: Request, actor: NamedDependency[Actor], story_id: FromPath[int]
    ) -> Template | Redirect:
        story = await story_or_404(request.user, story_id)
        return await self._submit(request, actor, story)

    async def _submit(self, request: Request, actor: Actor, story: Story) -> Template | Redirect:
        try:
            await publishing.submit(actor, request.user, story)
        except StoryError as exc:
            if exc.errors:
                return await form_page(
                    request,
                    await stored_values(story),
                    exc.errors,
                    story,
                    None,
                    HTTP_400_BAD_REQUEST,
                    exc.message,
                )
            flash(request, exc.message, "error")
        else:
            flash(request, "已报送，等待发布。", "success")
        return Redirect(path=f"/staff/stories/{story.id}")

    @post("/{story_id:int}/publish", name="story_publish", guards=[CITY_ADMIN])
    async def publish(
        self, request: Request, actor: NamedDependency[Actor], story_id: FromPath[int]
    ) -> Redirect:
        story = await story_or_404(request.user, story_id)
        try:
            await publishing.publish(actor, request.user, story)
        except StoryError as exc:
            flash(request, exc.message, "error")
        else:
            flash(request, f"已发布，为第 {story.series_no} 期。", "success")
        return Redirect(path=f"/staff/stories/{story.id}")

    @post("/{story_id:int}/return", name="story_return", guards=[CITY_ADMIN])
    async def return_story(
        self, request: Request, actor: NamedDependency[Actor], story_id: FromPath[int]
    ) -> Template | Redirect:
        story = await story_or_404(request.user, story_id)
        reason = str((await request.form()).get("reason") or "")
        try:
            await publishing.return_to_county(actor, request.user, story, reason)
        except StoryError as exc:
            if exc.errors:
                flash(request, exc.message, "error")
                return await self._detail(request, story, exc.errors, HTTP_400_BAD_REQUEST)
            flash(request, exc.message, "error")
        else:
            flash(request, "已退回修改。", "success")
        return Redirect(path=f"/staff/stories/{story.id}")

    @post("/{story_id:int}/unpublish", name="story_unpublish", guards=[CITY_ADMIN])
    async def unpublish(
        self, request: Request, actor: NamedDependency[Actor], story_id: FromPath[int]
    ) -> Template | Redirect:
        story = await story_or_404(request.user, story_id)
        reason = str((await request.form()).get("unpublish_reason") or "")
        try:
            await publishing.unpublish(actor, request.user, story, reason)
        except StoryError as exc:
            if exc.errors:
                flash(request, exc.message, "error")
                errors = {"unpublish_reason": exc.errors["reason"]}
                return await self._detail(request, story, errors, HTTP_400_BAD_REQUEST)
            flash(request, exc.message, "error")
        else:
            flash(
                request, f"已撤下。第 {story.series_no} 期的期号保留，不会给其他稿件。", "success"
            )
        return Redirect(path=f"/staff/stories/{story.id}")
