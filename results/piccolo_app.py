"""The Piccolo app of the results: tallies, standings, objections."""

import os

from piccolo.conf.apps import AppConfig

from results.tables import (
    Designation,
    Objection,
    ObjectionAttachment,
    Recheck,
    RecheckEvidence,
    RecheckItem,
    Standing,
    Tally,
)

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="results",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[
        Tally,
        Standing,
        Objection,
        ObjectionAttachment,
        Designation,
        Recheck,
        RecheckItem,
        RecheckEvidence,
    ],
    migration_dependencies=["voting.piccolo_app"],
    commands=[],
)
