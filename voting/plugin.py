"""Voting as a plugin: the vote API and pages, the voting service with its CAPTCHA pool
and ledger writer, the commands that check votes against the ledger, and its demo."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from click import Group
from litestar import Litestar
from litestar.config.app import AppConfig

from portal.phases import PHASES
from portal.plugins import AppPlugin, extensions_of, provide, settings_of, stores_of
from voting import demo, todo
from voting.captcha import POOL_KEY, CaptchaService
from voting.challenge import LoginCaptcha
from voting.cli import captcha_worker, counters, verify_ledger
from voting.controllers import ROUTES
from voting.ledger import LedgerWriter
from voting.services import VotingService


class VotingPlugin(AppPlugin):
    demo_steps = demo.STEPS

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        settings = settings_of(app_config)
        stores = stores_of(app_config)
        service = VotingService(
            stores.state,
            CaptchaService(
                stores.state.with_namespace("voting"),
                settings.secret_key,
                pool_size=settings.captcha_pool_size,
                test_answer=settings.captcha_test_answer,
                drawers=settings.captcha_drawers,
                digits_only=settings.captcha_digits_only,
            ),
            settings.secret_key,
            ledger=LedgerWriter(max_wait=settings.ledger_wait or None),  # 0: no bound
        )

        @contextlib.asynccontextmanager
        async def lifespan(app: Litestar) -> AsyncIterator[None]:
            service.ledger.start()
            # Ready to draw before the first request: an empty pool is then refilled
            # within the wait a challenge request allows (API_POOL_WAIT).
            await service.captcha.warm()
            filler = asyncio.create_task(service.captcha.fill_forever())
            try:
                yield
            finally:
                filler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await filler
                await service.ledger.stop()

        async def captcha_pool() -> int:
            return await service.captcha.store.length(POOL_KEY)

        app_config.state["voting"] = service
        app_config.route_handlers.extend(ROUTES)
        app_config.lifespan.append(lifespan)
        app_config.dependencies["voting"] = provide(service)
        extensions_of(app_config).ready_probes["captcha_pool"] = captcha_pool
        extensions_of(app_config).staff_reminders["held_votes"] = todo.reminders
        extensions_of(app_config).login_captcha = LoginCaptcha(service)
        # A staff change (phase, window, categories) is voted by at once in this process.
        PHASES.on_change(service.forget)
        return app_config

    def on_cli_init(self, cli: Group) -> None:
        cli.add_command(counters)
        cli.add_command(captcha_worker)
        cli.add_command(verify_ledger)
