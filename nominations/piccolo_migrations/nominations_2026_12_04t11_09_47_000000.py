from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-04T11:09:47:000000"
VERSION = "1.38.0"
DESCRIPTION = "one sealed recommendation form per nomination"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="nominations", description=DESCRIPTION)

    # A separate migration: it needs the kind column the previous one adds.
    async def run():
        # Two uploads of the sealed form at once: one is kept, the other refused.
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS document_sealed_form "
            "ON document (nomination) WHERE kind = 'sealed_form'"
        )

    async def run_backwards():
        await engine_finder().run_ddl("DROP INDEX IF EXISTS document_sealed_form")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
