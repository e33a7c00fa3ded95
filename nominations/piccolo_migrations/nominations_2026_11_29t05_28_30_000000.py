from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-29T05:28:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "a county's places under a category's cap are unique"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="nominations", description=DESCRIPTION)

    async def run():
        # Each nomination that counts against the cap holds a numbered place 1..cap;
        # two concurrent submissions can never hold the same place (NULL = no place).
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS nomination_category_bureau_place "
            "ON nomination (category, bureau, place)"
        )

    async def run_backwards():
        await engine_finder().run_ddl("DROP INDEX IF EXISTS nomination_category_bureau_place")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
