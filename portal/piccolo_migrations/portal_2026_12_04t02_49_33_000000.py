from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-04T02:49:33:000000"
VERSION = "1.38.0"
DESCRIPTION = "when the campaigns published so far were published"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="portal", description=DESCRIPTION
    )

    # A separate migration: Piccolo runs a migration's raw steps before its schema
    # steps, and this needs the column the previous migration adds.
    async def date_the_published() -> None:
        # Entering the published phase was the campaign's last change so far.
        await engine_finder().run_ddl(
            "UPDATE campaign SET finished_at = updated_at "
            "WHERE phase = 'published' AND finished_at IS NULL"
        )

    manager.add_raw(date_the_published)
    return manager
