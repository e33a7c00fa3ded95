"""Piccolo configuration: the engine from DATABASE_URL and the project's apps."""

from piccolo.conf.apps import AppRegistry

from portal.db import engine_from_url
from portal.settings import get_settings

DB = engine_from_url(get_settings().database_url)

APP_REGISTRY = AppRegistry(
    apps=[
        "portal.piccolo_app",
        "nominations.piccolo_app",
        "voting.piccolo_app",
        "results.piccolo_app",
        "stories.piccolo_app",
    ]
)
