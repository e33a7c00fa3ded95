"""In-site messages (站内消息): each staff member reads and marks only their own."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal import messages
from portal.auth import ALL_STAFF, requires
from portal.errors import Hidden, not_found


def _back(request: Request, fallback: str = "/staff/messages") -> str:
    """Where to go after marking: the page the form came from, if it was ours."""
    target = str(request.query_params.get("next") or "").strip()
    return target if target in ("/staff", "/staff/messages") else fallback


class MessagePages(Controller):
    path = "/staff/messages"
    include_in_schema = False
    guards = [requires(*ALL_STAFF)]

    @get("/", name="message_list")
    async def index(self, request: Request) -> Template:
        user = request.user
        return Template(
            "staff/messages.html",
            context={
                "messages": await messages.messages_of(user),
                "unread": await messages.unread_count(user),
            },
        )

    @post("/{message_id:int}/read", name="message_read")
    async def read(self, request: Request, message_id: FromPath[int]) -> Redirect:
        try:
            await messages.mark_read(request.user, message_id)
        except Hidden:
            raise not_found("找不到该消息。") from None
        return Redirect(path=_back(request))

    @post("/read-all", name="message_read_all")
    async def read_all(self, request: Request) -> Redirect:
        await messages.mark_all_read(request.user)
        return Redirect(path=_back(request))
