"""The kernel as a plugin: the site's shell of middleware, sessions, CSRF, templates,
errors and the API schema, the kernel's own pages, and its services for handlers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar, Request
from litestar.config.app import AppConfig
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.plugins.flash import FlashConfig, FlashPlugin
from litestar.static_files import create_static_files_router

from portal import apidocs, mail, visits
from portal.assets import STATIC_DIR, static_caching
from portal.auth import (
    PUBLIC_WITHOUT_SESSION,
    StaffMiddleware,
    actor_of,
    security_headers,
    session_config,
)
from portal.compression import compression_config
from portal.controllers import ROUTES
from portal.db import close_database, open_database
from portal.errors import EXCEPTION_HANDLERS, JsonBodyRequest, unknown_path_ids
from portal.identity import IDENTITY_TTL, identity_of
from portal.lockout import LoginGuard
from portal.origin import host_guard
from portal.pagecache import TOTALS_TTL, PageCache, TtlCache
from portal.plugins import AppPlugin, Extensions, provide, settings_of, stores_of
from portal.shedding import Shedder
from portal.templating import template_config

# Forms and JSON bodies; upload routes raise their own limit.
MAX_BODY_BYTES = 1024 * 1024

CSRF_COOKIE = "portal_csrf"


async def before_request(request: Request) -> None:
    """Before each handler: ids no row can have are a 404, and the site's identity is
    fresh for the templates (a no-op until its copy is ``IDENTITY_TTL`` old)."""
    unknown_path_ids(request)
    await identity_of(request)


class PortalPlugin(AppPlugin):
    """The kernel: listed first, so that the apps find its state and middleware."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        settings = settings_of(app_config)
        stores = stores_of(app_config)
        shedder = Shedder(settings.max_inflight, settings.queue_timeout)
        state = app_config.state
        state["extensions"] = Extensions()
        state["login_guard"] = LoginGuard(stores.state, settings.login_lock_minutes)
        state["shedder"] = shedder
        state["page_cache"] = PageCache(ttl=settings.page_cache_seconds)
        state["vote_totals"] = TtlCache(ttl=TOTALS_TTL)
        state["identity"] = TtlCache(ttl=IDENTITY_TTL)

        @contextlib.asynccontextmanager
        async def lifespan(app: Litestar) -> AsyncIterator[None]:
            await open_database()
            flusher = asyncio.create_task(visits.flush_forever(stores.state))
            try:
                yield
            finally:
                flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flusher
                with contextlib.suppress(Exception):
                    await visits.flush(stores.state)
                await close_database()
                await stores.close()

        templates = template_config()
        app_config.route_handlers.extend(
            [
                *ROUTES,
                create_static_files_router(path="/static", directories=[STATIC_DIR], name="static"),
            ]
        )
        app_config.lifespan.insert(0, lifespan)
        # After the database opens, before it closes: staff messages' e-mail, if configured.
        app_config.lifespan.append(mail.lifespan)
        app_config.template_config = templates
        app_config.compression_config = compression_config()
        app_config.before_request = before_request
        app_config.before_send.append(security_headers(production=settings.production))
        app_config.before_send.append(static_caching())
        app_config.middleware.extend(
            [
                # In production, a request for another host is refused before anything runs.
                host_guard(settings),
                # Then: a shed request touches neither the session store nor the database.
                shedder.middleware,
                session_config(settings.production, settings.session_max_hours).middleware,
                StaffMiddleware(),
            ]
        )
        app_config.csrf_config = CSRFConfig(
            secret=settings.secret_key,
            cookie_name=CSRF_COOKIE,
            cookie_secure=settings.production,
            cookie_samesite="lax",
            # Forms carry the token; no script reads the cookie.
            cookie_httponly=True,
            # The public API takes JSON only (415 otherwise), which no cross-site form
            # can send, and no session: no token to check or to hand out.
            exclude=[PUBLIC_WITHOUT_SESSION],
        )
        app_config.stores = {"sessions": stores.state.with_namespace("sessions")}
        app_config.dependencies.update(
            {
                "actor": Provide(actor_of, sync_to_thread=False),
                "stores": provide(stores),
                "extensions": provide(state["extensions"]),
                "login_guard": provide(state["login_guard"]),
                "page_cache": provide(state["page_cache"]),
                "vote_totals": provide(state["vote_totals"]),
            }
        )
        app_config.exception_handlers.update(EXCEPTION_HANDLERS)  # type: ignore[arg-type]
        app_config.request_class = JsonBodyRequest
        app_config.openapi_config = OpenAPIConfig(
            title="枫桥式评选投票平台 API",
            version="1.0.0",
            path="/schema",
            render_plugins=apidocs.render_plugins(),
            description="Public API of the Fengqiao-style recognition and voting portal.",
        )
        app_config.logging_config = LoggingConfig(
            root={"level": "INFO", "handlers": ["queue_listener"]},
            # Unexpected errors are logged once, by portal.errors; expected 4xx are not.
            log_exceptions="never",
        )
        # Flash messages need the session middleware and the template engine set above.
        return FlashPlugin(FlashConfig(template_config=templates)).on_app_init(app_config)
