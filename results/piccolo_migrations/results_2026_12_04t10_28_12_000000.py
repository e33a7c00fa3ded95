from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-04T10:28:12:000000"
VERSION = "1.38.0"
DESCRIPTION = "one re-check per organiser and year, a designation once per re-check"

INDEXES = {
    "recheck_organiser_year": "recheck (organiser, year)",
    "recheck_item_designation": "recheck_item (recheck, designation)",
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="results", description=DESCRIPTION)

    async def run():
        for name, target in INDEXES.items():
            await engine_finder().run_ddl(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {target}")

    async def run_backwards():
        for name in INDEXES:
            await engine_finder().run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
