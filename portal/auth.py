"""Sessions, the signed-in staff member, and role guards.

Sessions are server-side, kept in the shared store; the cookie holds only a random id,
which is replaced at login so a planted id never becomes an authenticated one.
Every staff page and API call is guarded on the server by role; object ownership is
checked in the services that load the object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.types import (
    ASGIApp,
    BeforeMessageSendHookHandler,
    Empty,
    Message,
    Receive,
    Scope,
    Send,
)

from portal.accounts import StaffUser, load_staff
from portal.apidocs import DOCS_CSP
from portal.audit import Actor
from portal.network import client_network
from portal.tables import Role

SESSION_COOKIE = "portal_session"
# Static files, and the public JSON API (/api/v1/; the staff API has sessions): anonymous
# and stateless (its clients send no session, and a vote is one of the hottest
# requests), so neither sessions, the signed-in user nor CSRF tokens are looked at there.
PUBLIC_WITHOUT_SESSION = "^/(static|api/v1)/"
SESSION_MAX_AGE = 8 * 3600
_ROTATE = "portal_rotate_session"
_NEW_ID = "portal_new_session_id"

ALL_STAFF = tuple(Role)


class RotatingSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side sessions, plus a new session id on request (at login)."""

    def get_session_id(self, connection: ASGIConnection) -> str:
        return connection.scope.get(_NEW_ID) or super().get_session_id(connection)  # type: ignore[return-value]

    async def store_in_message(
        self, scope_session: Any, message: Message, connection: ASGIConnection
    ) -> None:
        scope = connection.scope
        if not scope_session:
            # Litestar would store an empty session for every visitor: public pages
            # would then write to the store and set a cookie on each view.
            if connection.cookies.get(self.config.key) in (None, "null"):
                return
            scope_session = Empty
        if scope.get(_ROTATE) and not scope.get(_NEW_ID):
            old_id = connection.cookies.get(self.config.key)
            if old_id:
                await self.delete(old_id, store=self.config.get_store_from_app(scope["app"]))
            scope[_NEW_ID] = self.generate_session_id()  # type: ignore[typeddict-unknown-key]
        await super().store_in_message(scope_session, message, connection)


@dataclass
class SessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend  # type: ignore[assignment]


def session_config(secure: bool) -> SessionConfig:
    return SessionConfig(
        key=SESSION_COOKIE,
        store="sessions",
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=secure,
        exclude=[PUBLIC_WITHOUT_SESSION],
    )


def start_session(connection: ASGIConnection, staff_id: int) -> None:
    """Sign a staff member in: fresh session data under a fresh session id."""
    connection.scope[_ROTATE] = True  # type: ignore[typeddict-unknown-key]
    connection.clear_session()
    connection.set_session({"staff_id": staff_id})


class StaffMiddleware(ASGIMiddleware):
    """Puts the signed-in staff member (or ``None``) on ``request.user``."""

    scopes = ("http",)  # type: ignore[assignment]

    @staticmethod
    def should_bypass_for_scope(scope: Scope) -> bool:
        # Static files and the public API need no user (a path-pattern exclusion would
        # change in Litestar 3).
        return scope["path"].startswith(("/static/", "/api/v1/"))

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        user: StaffUser | None = None
        session = scope.get("session")
        if isinstance(session, dict) and isinstance(session.get("staff_id"), int):
            user = await load_staff(session["staff_id"])
        scope["user"] = user
        await next_app(scope, receive, send)


def requires(*roles: Role) -> Callable[[ASGIConnection, BaseRouteHandler], None]:
    """A guard admitting signed-in staff with one of these roles."""
    allowed = frozenset(roles)

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        user = connection.user
        if user is None:
            raise NotAuthorizedException("请先登录。")
        if user.role not in allowed:
            raise PermissionDeniedException("您的角色无权执行此操作。")

    guard.__name__ = "requires_" + "_".join(r.value for r in roles)
    return guard


def actor_of(request: ASGIConnection) -> Actor:
    """The signed-in staff member as the audit log records them."""
    user: StaffUser = request.user
    return Actor(
        staff_id=user.id, name=user.username, role=user.role.value, network=client_network(request)
    )


def safe_next(target: str | None, default: str = "/staff") -> str:
    """A redirect target after login: only a path on this site, never another host.

    Browsers drop tabs and newlines inside a URL and read a backslash as a slash, so
    "/", a tab, "/evil.example" would leave the site: any control character or
    backslash refuses the target, as does a second leading slash.
    """
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return default
    if target.startswith("/login"):
        return default
    return target


# Every response but the API docs: scripts, styles and everything else from this site
# only, never framed. (The templates hold no inline script, style or event handler;
# tests/portal/test_security.py scans them.)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; media-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# Staff pages and the login form show personal data: never kept by a browser or proxy
# (the back button after logout asks the server again).
NO_STORE_PREFIXES = ("/staff", "/api/staff/", "/login")


def _is_docs(path: str) -> bool:
    return path == "/schema" or path.startswith("/schema/")


def security_headers(production: bool) -> BeforeMessageSendHookHandler:
    """Headers every response carries: no inline script, no framing, no sniffing.

    A before-send hook rather than a middleware, so that it also reaches the answers
    Litestar gives outside the middleware stack: unknown paths (404), wrong methods (405)
    and errors raised by the session middleware (e.g. 503 when the store is down).
    """
    common = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    ]
    if production:
        common.append((b"strict-transport-security", b"max-age=31536000"))
    page_csp = (b"content-security-policy", CSP.encode())
    docs_csp = (b"content-security-policy", DOCS_CSP.encode())

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        path = scope["path"]
        headers = list(message.get("headers", []))
        names = {name.lower() for name, _ in headers}
        extra = [*common, docs_csp if _is_docs(path) else page_csp]
        if path.startswith(NO_STORE_PREFIXES):
            extra.append((b"cache-control", b"no-store"))
        headers.extend(h for h in extra if h[0] not in names)
        message["headers"] = headers

    return add_headers
