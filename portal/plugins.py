"""What an app adds to the portal, and where the kernel offers room for it.

Every app (and the kernel itself) is one ``AppPlugin``: Litestar calls ``on_app_init``
to let it add its routes, dependency providers and lifespan to the application, and the
``portal`` command calls ``on_cli_init`` to let it add its commands. ``demo_steps`` are
what ``portal demo`` runs of it. The application's settings, stores and ``Extensions``
are in ``app_config.state`` before any plugin runs (``portal.app.create_app``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from litestar.di import Provide
from litestar.plugins import CLIPluginProtocol, InitPluginProtocol

if TYPE_CHECKING:
    from click import Group
    from litestar.config.app import AppConfig

    from portal.demo import DemoStep
    from portal.settings import Settings
    from portal.stores import Stores

# A part of the home page: its template variable's value (e.g. the latest stories).
HomeSection = Callable[[], Awaitable[Any]]
# A figure for ``/healthz/ready`` read from the store (raises StoreUnavailable).
ReadyProbe = Callable[[], Awaitable[int]]
# What an app asks of a signed-in staff member now, for their home page (/staff): a list
# of items with ``text``, ``href`` and ``urgent`` (e.g. re-check reports overdue).
StaffReminders = Callable[[Any], Awaitable[list[Any]]]


@dataclass
class Extensions:
    """Where apps add to the kernel's pages: home-page sections, readiness figures, pages
    of a campaign's categories and reminders on the staff home page."""

    home_sections: dict[str, HomeSection] = field(default_factory=dict)
    ready_probes: dict[str, ReadyProbe] = field(default_factory=dict)
    # Pages an app adds to each category of the campaign admin: link text → path, with
    # ``{slug}`` and ``{key}`` (e.g. a category's recommendation conditions).
    category_pages: dict[str, str] = field(default_factory=dict)
    # What each app reminds a staff member of on /staff (StaffReminders, by app).
    staff_reminders: dict[str, StaffReminders] = field(default_factory=dict)
    # The CAPTCHA of the staff login form after repeated failures (the voting app's):
    # ``await offer(network)`` → a challenge dict or None, ``await solved(id, answer)``.
    login_captcha: Any = None


class AppPlugin(InitPluginProtocol, CLIPluginProtocol):
    """One app of the portal. Subclasses override what they add."""

    demo_steps: tuple[DemoStep, ...] = ()

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        return app_config

    def on_cli_init(self, cli: Group) -> None:
        return None


def settings_of(app_config: AppConfig) -> Settings:
    return app_config.state["settings"]


def stores_of(app_config: AppConfig) -> Stores:
    return app_config.state["stores"]


def extensions_of(app_config: AppConfig) -> Extensions:
    return app_config.state["extensions"]


def provide(value: object) -> Provide:
    """A dependency provider that hands every handler the same ``value`` (a service)."""

    def provider() -> object:
        return value

    return Provide(provider, sync_to_thread=False)
