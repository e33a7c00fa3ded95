"""Sessions, the signed-in staff member, and role guards.

Sessions are server-side, kept in the shared store; the cookie holds only a random id,
which is replaced at login so a planted id never becomes an authenticated one.
Every staff page and API call is guarded on the server by role; object ownership is
checked in the services that load the object.
"""

from __future__ import annotations

import secrets
import time
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


def session_config(secure: bool, max_hours: int = 12) -> SessionConfig:
    return SessionConfig(
        key=SESSION_COOKIE,
        store="sessions",
        max_age=max_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=secure,
        exclude=[PUBLIC_WITHOUT_SESSION],
    )


def start_session(connection: ASGIConnection, data: dict[str, Any]) -> None:
    """Fresh session data under a fresh session id (a planted id never signs in)."""
    connection.scope[_ROTATE] = True  # type: ignore[typeddict-unknown-key]
    connection.clear_session()
    connection.set_session(data)


# --- the session's lifetime (等保 2.0: 登录连接超时自动退出, one session per account) ----
# A staff session ends after PORTAL_SESSION_IDLE_MINUTES without a request, and
# PORTAL_SESSION_MAX_HOURS after its login whatever happens; a new login of the account
# ends the older session (the store keeps each account's current session token, which
# every server process reads). The page warns a minute before the idle end
# (static/js/session-timeout.js) and can keep the session alive (SESSION_ALIVE_PATH).
clock = time.time  # tests move it
SESSION_ALIVE_PATH = "/staff/session/alive"
# Where a session that must first change its password or enrol a second factor is sent.
MUST_PAGES = {"password": "/staff/account/password", "otp": "/staff/account/otp"}
_MUST_GATED = ("/staff", "/api/staff/")
_MUST_OPEN = ("/staff/account/", SESSION_ALIVE_PATH)
ENDED = {
    "idle": "您已超过 {idle} 分钟未操作，为保护账号安全已自动退出，请重新登录。",
    "expired": "本次登录已满 {hours} 小时，请重新登录。",
    "replaced": (
        "您的账号已在其他地方登录，本次登录已结束。如非本人操作，请重新登录后立即修改密码并告知管理员。"
    ),
}


def _active_key(staff_id: int) -> str:
    return f"staff-session:{staff_id}"


async def sign_in(connection: ASGIConnection, staff_id: int, must: str | None = None) -> None:
    """Start the signed-in session of ``staff_id``, ending any older one of the account;
    ``must`` ("password" or "otp") keeps it to that page until done."""
    state = connection.app.state
    token = secrets.token_urlsafe(16)
    now = clock()
    data: dict[str, Any] = {"staff_id": staff_id, "token": token, "started": now, "seen": now}
    if must:
        data["must"] = must
    start_session(connection, data)
    await state.stores.state.set(
        _active_key(staff_id), token, expires_in=state.settings.session_max_hours * 3600
    )


async def sign_out(connection: ASGIConnection) -> None:
    """End the session on the server (its data is deleted from the store)."""
    session = connection.scope.get("session")
    if isinstance(session, dict) and isinstance(session.get("staff_id"), int):
        store = connection.app.state.stores.state
        key = _active_key(session["staff_id"])
        if (await store.get(key) or b"").decode() == session.get("token"):
            await store.delete(key)
    connection.clear_session()


async def session_ended(session: dict[str, Any], state: Any) -> str | None:
    """Why a signed-in session is over (the message for the login page), or ``None``."""
    settings = state.settings
    now = clock()
    if now - float(session.get("started") or 0) > settings.session_max_hours * 3600:
        return ENDED["expired"].format(hours=settings.session_max_hours)
    if now - float(session.get("seen") or 0) > settings.session_idle_minutes * 60:
        return ENDED["idle"].format(idle=settings.session_idle_minutes)
    current = await state.stores.state.get(_active_key(session["staff_id"]))
    if current is None or current.decode() != session.get("token"):
        return ENDED["replaced"]
    return None


def finish_must(connection: ASGIConnection, what: str) -> None:
    """The session has done what it had to (changed its password, enrolled)."""
    if connection.session.get("must") == what:
        connection.session.pop("must")


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
            ended = await session_ended(session, scope["app"].state)
            if ended:
                # Signed out; the login page the next guard sends it to says why.
                session.clear()
                session["_messages"] = [{"message": ended, "category": "error"}]
            else:
                session["seen"] = clock()
                user = await load_staff(session["staff_id"])
                must = session.get("must")
                path = scope["path"]
                if (
                    user is not None
                    and must in MUST_PAGES
                    and path.startswith(_MUST_GATED)
                    and not path.startswith(_MUST_OPEN)
                    and path != "/staff/account"
                ):
                    target = MUST_PAGES[must].encode()
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 303,
                            "headers": [(b"location", target), (b"content-length", b"0")],
                        }
                    )
                    await send({"type": "http.response.body", "body": b""})
                    return
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
