from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-29T05:56:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "one panel seat per reviewer, one assignment per reviewer and candidate"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="nominations", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        await engine.run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS panel_member_campaign_reviewer "
            "ON panel_member (campaign, reviewer)"
        )
        await engine.run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS assignment_nomination_reviewer "
            "ON assignment (nomination, reviewer)"
        )

    async def run_backwards():
        engine = engine_finder()
        await engine.run_ddl("DROP INDEX IF EXISTS panel_member_campaign_reviewer")
        await engine.run_ddl("DROP INDEX IF EXISTS assignment_nomination_reviewer")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
