"""The visitor's view switches (care mode, text size) and the site's icons."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.datastructures import Cookie
from litestar.params import FromQuery
from litestar.response import Redirect

from portal import icons, identity, media, view
from portal.web.files import upload_directory

# Icons change only with the logo (whose address does not carry a version): a day.
ICON_CACHE = "public, max-age=86400"


def _cookie(name: str, value: str) -> Cookie:
    return Cookie(
        key=name,
        value=value,
        max_age=view.COOKIE_AGE,
        path="/",
        httponly=True,
        samesite="lax",
    )


class ViewSwitch(Controller):
    include_in_schema = False

    @get("/view", name="view_switch", cache_control=None)
    async def switch(
        self,
        care: FromQuery[str | None] = None,
        text: FromQuery[str | None] = None,
        next: FromQuery[str | None] = None,
    ) -> Redirect:
        """Set care mode (``care=on|off``) and/or the text size (``text=sm|md|lg|xl``),
        then go back to ``next`` (a path of this site only). It only sets these
        preference cookies: a link works without JavaScript."""
        cookies = []
        if care in view.CARE_VALUES:
            cookies.append(_cookie(view.CARE_COOKIE, view.CARE_VALUES[care]))
        if text in view.TEXT_SIZES:
            cookies.append(_cookie(view.TEXT_COOKIE, text))
        return Redirect(
            path=view.safe_next(next),
            status_code=303,
            cookies=cookies,
            headers={"Cache-Control": "no-store"},
        )


class SiteIcons(Controller):
    include_in_schema = False

    _drawn: dict[tuple[str, str], bytes] = {}

    async def _icon(self, request: Request, name: str) -> Response:
        kind = icons.ICONS[name][1]
        current = await identity.identity_of(request)
        body = None
        if current.logo:
            key = (current.logo, name)
            body = self._drawn.get(key)
            if body is None:
                try:
                    path = media.stored_path(upload_directory(request), current.logo)
                    body = icons.from_logo(path, name)
                except (FileNotFoundError, OSError):
                    body = None
                else:
                    self._drawn[key] = body
        if body is None:
            body = icons.default_icon(name).read_bytes()
        return Response(
            body,
            media_type=icons.MEDIA_TYPES[kind],
            headers={"Cache-Control": ICON_CACHE, "X-Content-Type-Options": "nosniff"},
        )

    @get("/favicon.ico", name="favicon")
    async def favicon(self, request: Request) -> Response:
        return await self._icon(request, "favicon.ico")

    @get("/apple-touch-icon.png", name="apple_touch_icon")
    async def apple_touch_icon(self, request: Request) -> Response:
        return await self._icon(request, "apple-touch-icon.png")

    @get("/icon-192.png", name="icon_192")
    async def icon_192(self, request: Request) -> Response:
        return await self._icon(request, "icon-192.png")

    @get("/icon-512.png", name="icon_512")
    async def icon_512(self, request: Request) -> Response:
        return await self._icon(request, "icon-512.png")
