"""The Piccolo app of the nominations package: nominations and their documents."""

import os

from piccolo.conf.apps import AppConfig

from nominations.tables import Assignment, Criterion, Document, Nomination, PanelMember

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="nominations",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[Nomination, Document, Criterion, PanelMember, Assignment],
    migration_dependencies=["portal.piccolo_app"],
    commands=[],
)
