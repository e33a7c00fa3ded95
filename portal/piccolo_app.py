"""The Piccolo app of the portal package: its tables and migrations."""

import os

from piccolo.conf.apps import AppConfig

from portal.tables import (
    AuditEntry,
    Bureau,
    BureauName,
    Campaign,
    Category,
    LoginLock,
    SiteIdentity,
    Staff,
    StaffMessage,
    VisitDay,
)

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

APP_CONFIG = AppConfig(
    app_name="portal",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=[
        Bureau,
        BureauName,
        Staff,
        Campaign,
        Category,
        AuditEntry,
        SiteIdentity,
        VisitDay,
        StaffMessage,
        LoginLock,
    ],
    migration_dependencies=[],
    commands=[],
)
