"""Nominations as a plugin: its pages and API, its review, its demo, and its phase guard."""

from __future__ import annotations

from litestar.config.app import AppConfig

from nominations import demo, todo
from nominations.controllers import ROUTES
from nominations.services import undecided_count
from nominations.tables import Nomination
from portal.bureaus import HISTORY
from portal.phases import PHASES
from portal.plugins import AppPlugin, extensions_of
from portal.tables import Campaign, Phase


async def _all_decided(campaign: Campaign) -> list[str]:
    """The review starts once the city has decided on every nomination."""
    pending = await undecided_count(campaign.id)
    if pending:
        return [f"还有 {pending} 个推荐对象待审核或退回修改中，审核完毕后才能进入专家评审。"]
    return []


PHASES.guard(Phase.reviewing, _all_decided)
HISTORY["推荐对象"] = lambda bureau_id: Nomination.exists().where(Nomination.bureau == bureau_id)


class NominationsPlugin(AppPlugin):
    demo_steps = demo.STEPS

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.extend(ROUTES)
        extensions_of(app_config).category_pages["推荐条件"] = (
            "/staff/campaigns/{slug}/categories/{key}/conditions"
        )
        extensions_of(app_config).staff_reminders["nominations"] = todo.reminders
        return app_config
