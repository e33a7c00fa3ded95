"""The application factory: the kernel and the apps, as plugins, in dependency order."""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import State

from nominations.plugin import NominationsPlugin
from portal.plugin import MAX_BODY_BYTES, PortalPlugin
from portal.plugins import AppPlugin
from portal.settings import Settings, get_settings
from portal.stores import Stores, create_stores
from results.plugin import ResultsPlugin
from stories.plugin import StoriesPlugin
from voting.plugin import VotingPlugin

PLUGINS: tuple[AppPlugin, ...] = (
    PortalPlugin(),
    NominationsPlugin(),
    VotingPlugin(),
    ResultsPlugin(),
    StoriesPlugin(),
)


def create_app(settings: Settings | None = None, stores: Stores | None = None) -> Litestar:
    """Build the portal. ``settings`` defaults to the environment; tests pass their own."""
    settings = settings or get_settings()
    return Litestar(
        plugins=list(PLUGINS),
        state=State({"settings": settings, "stores": stores or create_stores(settings)}),
        # Litestar reads this one from its own argument only, not from a plugin.
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,
    )
