"""The live preview of the Markdown editor (static/js/editor.js): the text as typed,
rendered and sanitised by portal.markdown exactly as the saved page will show it.

A POST (the text can be long, and a GET would put a draft deed in access logs) with
the form's CSRF token in the ``x-csrftoken`` header; only the staff who write deeds and
stories may ask. Nothing is stored.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, post
from litestar.enums import MediaType

from portal.auth import requires
from portal.markdown import render
from portal.tables import Role

# The longest text a form takes (a story's body) with room for the URL encoding of
# Chinese text (9 bytes a character).
PREVIEW_MAX_BODY = 1024 * 1024
WRITERS = requires(Role.city_admin, Role.county_clerk)


class MarkdownPreview(Controller):
    path = "/staff/markdown"
    include_in_schema = False

    @post(
        "/preview",
        name="markdown_preview",
        guards=[WRITERS],
        request_max_body_size=PREVIEW_MAX_BODY,
        status_code=200,
    )
    async def preview(self, request: Request) -> Response[str]:
        """The sanitised HTML of the form field ``text``: an HTML fragment, not a page."""
        form = await request.form()
        text = form.get("text")
        html = str(render(text if isinstance(text, str) else ""))
        return Response(html, media_type=MediaType.HTML, headers={"Cache-Control": "no-store"})
