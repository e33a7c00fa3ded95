"""Stories as a plugin: the series of success stories, its editing, and the home page's
latest stories."""

from __future__ import annotations

from litestar.config.app import AppConfig

from portal.bureaus import HISTORY
from portal.plugins import AppPlugin, extensions_of
from stories import todo
from stories.controllers import ROUTES
from stories.reading import latest
from stories.tables import Story


async def _latest_stories() -> list:
    return await latest(4)


HISTORY["案例稿件"] = lambda bureau_id: Story.exists().where(Story.bureau == bureau_id)


class StoriesPlugin(AppPlugin):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers.extend(ROUTES)
        extensions_of(app_config).home_sections["stories"] = _latest_stories
        extensions_of(app_config).staff_reminders["stories"] = todo.reminders
        return app_config
