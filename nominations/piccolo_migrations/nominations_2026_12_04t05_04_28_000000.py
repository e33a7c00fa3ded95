from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-04T05:04:28:000000"
VERSION = "1.38.0"
DESCRIPTION = "a designee is put forward once per campaign"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="nominations", description=DESCRIPTION)

    # A separate migration: it needs the designation column the previous one adds.
    async def run():
        # Two clerks picking the same designee at once: one draft wins. Withdrawn and
        # rejected nominations free the designee.
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS nomination_campaign_designation "
            "ON nomination (campaign, designation) WHERE designation IS NOT NULL "
            "AND status IN ('draft', 'submitted', 'returned', 'shortlisted')"
        )

    async def run_backwards():
        await engine_finder().run_ddl("DROP INDEX IF EXISTS nomination_campaign_designation")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
