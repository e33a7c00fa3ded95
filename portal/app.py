"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.plugins.flash import FlashConfig, FlashPlugin
from litestar.static_files import create_static_files_router

from nominations.controllers import ROUTES as NOMINATION_ROUTES
from portal import apidocs, visits
from portal.accounts import LoginGuard
from portal.auth import StaffMiddleware, actor_of, security_headers, session_config
from portal.controllers import ROUTES
from portal.db import close_database, open_database
from portal.errors import EXCEPTION_HANDLERS, JsonBodyRequest, unknown_path_ids
from portal.origin import host_guard
from portal.pagecache import TOTALS_TTL, PageCache, TtlCache
from portal.settings import Settings, get_settings
from portal.shedding import Shedder
from portal.stores import Stores, create_stores
from portal.templating import STATIC_DIR, template_config
from results.controllers import ROUTES as RESULTS_ROUTES
from stories.controllers import ROUTES as STORY_ROUTES
from voting.captcha import CaptchaService
from voting.controllers import ROUTES as VOTING_ROUTES
from voting.ledger import LedgerWriter
from voting.services import VotingService

# Forms and JSON bodies; upload routes raise their own limit.
MAX_BODY_BYTES = 1024 * 1024

CSRF_COOKIE = "portal_csrf"


def create_app(settings: Settings | None = None, stores: Stores | None = None) -> Litestar:
    """Build the portal. ``settings`` defaults to the environment; tests pass their own."""
    settings = settings or get_settings()
    stores = stores or create_stores(settings)
    voting = VotingService(
        stores.state,
        stores.limits,
        CaptchaService(
            stores.state.with_namespace("voting"),
            settings.secret_key,
            pool_size=settings.captcha_pool_size,
            test_answer=settings.captcha_test_answer,
        ),
        settings.secret_key,
        ledger=LedgerWriter(max_wait=settings.ledger_wait or None),  # 0: no bound
    )
    shedder = Shedder(settings.max_inflight, settings.queue_timeout)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await open_database()
        voting.ledger.start()
        tasks = [
            asyncio.create_task(visits.flush_forever(stores.state)),
            asyncio.create_task(voting.captcha.fill_forever()),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await voting.ledger.stop()
            with contextlib.suppress(Exception):
                await visits.flush(stores.state)
            await close_database()
            await stores.close()

    templates = template_config()
    app = Litestar(
        route_handlers=[
            *ROUTES,
            *NOMINATION_ROUTES,
            *VOTING_ROUTES,
            *RESULTS_ROUTES,
            *STORY_ROUTES,
            create_static_files_router(path="/static", directories=[STATIC_DIR], name="static"),
        ],
        lifespan=[lifespan],
        template_config=templates,
        plugins=[FlashPlugin(FlashConfig(template_config=templates))],
        before_request=unknown_path_ids,
        before_send=[security_headers(production=settings.production)],
        middleware=[
            # In production, a request for another host is refused before anything runs.
            host_guard(settings),
            # Then: a shed request touches neither the session store nor the database.
            shedder.middleware,
            session_config(secure=settings.production).middleware,
            StaffMiddleware(),
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name=CSRF_COOKIE,
            cookie_secure=settings.production,
            cookie_samesite="lax",
            # Forms carry the token; no script reads the cookie.
            cookie_httponly=True,
        ),
        stores={"sessions": stores.state.with_namespace("sessions")},
        dependencies={"actor": Provide(actor_of, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        request_class=JsonBodyRequest,
        openapi_config=OpenAPIConfig(
            title="枫桥式评选投票平台 API",
            version="1.0.0",
            path="/schema",
            render_plugins=apidocs.render_plugins(),
            description="Public API of the Fengqiao-style recognition and voting portal.",
        ),
        logging_config=LoggingConfig(
            root={"level": "INFO", "handlers": ["queue_listener"]},
            # Unexpected errors are logged once, by portal.errors; expected 4xx are not.
            log_exceptions="never",
        ),
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
    )
    app.state.settings = settings
    app.state.stores = stores
    app.state.login_guard = LoginGuard(stores.limits)
    app.state.voting = voting
    app.state.shedder = shedder
    app.state.page_cache = PageCache(ttl=settings.page_cache_seconds)
    app.state.vote_totals = TtlCache(ttl=TOTALS_TTL)
    return app
