"""Results as a plugin: the tally, the notice and its objections, the honour lists; the
steps into the notice and published phases; the home page's archive; ``portal tally``."""

from __future__ import annotations

from click import Group
from litestar.config.app import AppConfig

from nominations.designees import SOURCES
from portal.audit import Actor
from portal.phases import PHASES
from portal.plugins import AppPlugin, extensions_of, provide, stores_of
from portal.tables import Phase
from results import demo, recheck_demo, services, todo
from results.cli import tally
from results.controllers import ROUTES
from results.honours import archive
from results.objections import ObjectionGuard
from results.rechecks import reminders
from results.register import designees_of


async def _open_notice(actor: Actor, slug: str, goal: Phase) -> None:
    await services.open_notice(actor, slug)


async def _designate(actor: Actor, slug: str, goal: Phase) -> None:
    await services.designate(actor, slug)


# The notice needs a current tally, the designation a finished notice period; both are
# entered by their own steps, which set their dates as the results page's buttons do.
PHASES.guard(Phase.notice, services.notice_blockers)
PHASES.guard(Phase.published, services.designation_blockers)
PHASES.entry(Phase.notice, _open_notice)
PHASES.entry(Phase.published, _designate)
# A bureau's designees, for its parent's campaigns: its register, revoked titles left out.
SOURCES.append(designees_of)


class ResultsPlugin(AppPlugin):
    demo_steps = demo.STEPS + recheck_demo.STEPS

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.extend(ROUTES)
        app_config.dependencies["objection_guard"] = provide(
            ObjectionGuard(stores_of(app_config).limits)
        )
        extensions_of(app_config).home_sections["archive"] = archive
        extensions_of(app_config).staff_reminders["rechecks"] = reminders
        extensions_of(app_config).staff_reminders["objections"] = todo.reminders
        return app_config

    def on_cli_init(self, cli: Group) -> None:
        cli.add_command(tally)
