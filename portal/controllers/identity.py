"""The site's identity: its staff page (the top bureau's administrators) and its logo."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.plugins.flash import flash
from litestar.response import File, Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from portal import identity, media
from portal.accounts import StaffUser
from portal.audit import Actor
from portal.auth import requires
from portal.errors import Invalid, not_found
from portal.tables import Role
from portal.web.files import serve, upload_directory
from portal.web.forms import form_values, stage_photo

ADMIN = requires(Role.city_admin)
TOP_ONLY = "只有主办单位（最上级单位）的管理员可以设置网站信息。"
# The fields and one logo.
FORM_MAX_BODY = media.MAX_PHOTO_BYTES + 64 * 1024


def _top_admin(user: StaffUser) -> None:
    if not user.top:
        raise PermissionDeniedException(TOP_ONLY)


class SiteIdentityPages(Controller):
    path = "/staff/identity"
    include_in_schema = False

    @get("/", name="identity_form", guards=[ADMIN])
    async def form(self, request: Request) -> Template:
        _top_admin(request.user)
        return self._page(await identity.saved_values(), {}, await identity.load_identity())

    @post("/", name="identity_save", guards=[ADMIN], request_max_body_size=FORM_MAX_BODY)
    async def save(self, request: Request, actor: NamedDependency[Actor]) -> Template | Redirect:
        _top_admin(request.user)
        form = await request.form()
        directory = upload_directory(request)
        logo, logo_error = await stage_photo(form, "logo", directory)
        values = form_values(form)
        try:
            await identity.save_identity(actor, values, logo, directory, logo_error)
        except Invalid as exc:
            current = await identity.load_identity()
            return self._page(values, exc.errors, current, HTTP_400_BAD_REQUEST)
        identity.forget(request)
        flash(request, "已保存网站信息，页眉、页脚和分享信息随即更新。", "success")
        return Redirect(path="/staff/identity")

    @staticmethod
    def _page(
        values: dict, errors: dict[str, str], current: identity.Identity, status: int = 200
    ) -> Template:
        return Template(
            "staff/identity.html",
            context={
                "values": values,
                "errors": errors,
                "fields": identity.FIELDS,
                "current": current,
                "default_name": identity.SITE_NAME,
            },
            status_code=status,
        )


class SiteLogo(Controller):
    path = "/site"
    include_in_schema = False

    @get("/logo.jpg", name="site_logo")
    async def logo(self, request: Request) -> File:
        current = await identity.identity_of(request)
        if not current.logo:
            raise not_found("本站尚未设置标志。")
        return serve(request, current.logo, public=True)
