from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-29T04:51:55:564295"
VERSION = "1.38.0"
DESCRIPTION = "unique category key"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="portal", description=DESCRIPTION
    )

    async def run():
        # Piccolo adds table constraints with ALTER TABLE, which SQLite lacks; a
        # unique index is portable and enforces the same rule on both engines.
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS category_campaign_key "
            'ON category (campaign, "key")'
        )

    async def run_backwards():
        await engine_finder().run_ddl("DROP INDEX IF EXISTS category_campaign_key")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)

    return manager
