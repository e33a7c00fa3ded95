"""The Piccolo app of the voting package: the vote ledger."""

import os

from piccolo.conf.apps import AppConfig

from voting.tables import Vote

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="voting",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[Vote],
    migration_dependencies=["portal.piccolo_app", "nominations.piccolo_app"],
    commands=[],
)
