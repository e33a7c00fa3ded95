from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-04T10:24:50:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique visit day"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def run():
        # One row per campaign and day: the flush adds to it (ON CONFLICT needs the index).
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS visit_day_campaign_day ON visit_day (campaign, day)"
        )

    async def run_backwards():
        await engine_finder().run_ddl("DROP INDEX IF EXISTS visit_day_campaign_day")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)

    return manager
