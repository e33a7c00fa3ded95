"""The site's public origin (``PORTAL_PUBLIC_URL``): absolute URLs, and the Host check.

An absolute URL outlives the request that built it: the Atom feed and the QR codes are
cached publicly, share cards are copied into WeChat, a QR code is printed. Built from
the request's ``Host`` header, a forged one (``Host: evil.example``) would put another
site's address into all of them. So every absolute URL is built by
:func:`absolute_url` from the configured origin, and in production a request naming
another host is refused before anything else runs (:func:`host_guard`). Without the
setting (development, tests) the request's own host is used, as a local server
reached as ``localhost`` or by its LAN address should link to itself.

The portal compares the ``Host`` header only: ``X-Forwarded-Host`` is never read, so
the reverse proxy must pass the client's ``Host`` on (nginx: ``proxy_set_header Host
$host``).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from litestar import Request
from litestar.datastructures import Headers
from litestar.status_codes import HTTP_400_BAD_REQUEST
from litestar.types import ASGIApp, Receive, Scope, Send

from portal.errors import ApiError
from portal.settings import DEFAULT_PORTS, Settings

# Load balancers probe a node by its address, not by the site's name.
EXEMPT = ("/healthz",)

WRONG_HOST_MESSAGE = "请求的网站地址有误，请通过本平台的正式网址访问。"


def absolute_url(request: Request, path: str) -> str:
    """``path`` (starting with ``/``) on this site as a full URL: on ``PORTAL_PUBLIC_URL``,
    or without it on the host the request was made to."""
    origin = request.app.state.settings.public_url
    if origin is None:
        base = request.base_url
        origin = f"{base.scheme}://{base.netloc}"
    return origin + path


def accepted_hosts(origin: str) -> frozenset[str]:
    """The ``Host`` header values that name ``origin`` (with and without a default port)."""
    parts = urlsplit(origin)
    hosts = {parts.netloc}
    if parts.port is None:
        hosts.add(f"{parts.netloc}:{DEFAULT_PORTS[parts.scheme]}")
    return frozenset(hosts)


def host_guard(settings: Settings) -> Callable[[ASGIApp], ASGIApp]:
    """The ASGI middleware refusing, in production, requests for a host other than the
    public URL's (400, as the contract's JSON under ``/api/``); elsewhere it adds nothing.

    Litestar's own ``allowed_hosts`` answers ``{"message": "invalid host header"}``,
    which is not the contract's error shape, hence this one.
    """
    if not (settings.production and settings.public_url):
        return lambda app: app
    hosts = accepted_hosts(settings.public_url)

    def middleware(app: ASGIApp) -> ASGIApp:
        async def guard(scope: Scope, receive: Receive, send: Send) -> None:
            if not scope["path"].startswith(EXEMPT):
                host = Headers.from_scope(scope).get("host", "").lower()
                if host not in hosts:
                    raise ApiError(HTTP_400_BAD_REQUEST, "invalid", WRONG_HOST_MESSAGE)
            await app(scope, receive, send)

        return guard

    return middleware
