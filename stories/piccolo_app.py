"""The Piccolo app of the story series."""

import os

from piccolo.conf.apps import AppConfig

from stories.tables import Story, StoryCandidate

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="stories",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[Story, StoryCandidate],
    migration_dependencies=["nominations.piccolo_app"],
    commands=[],
)
