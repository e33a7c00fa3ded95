from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-30T09:42:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "one story per series number, each candidate once per story"

INDEXES = {
    # A series number (第N期) is given once, ever: two publications never share one.
    "story_series_no": "story (series_no)",
    "story_candidate_pair": "story_candidate (story, candidate)",
}
PLAIN = {
    "story_status_published": "story (status, published_at)",
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="stories", description=DESCRIPTION)

    async def run():
        for name, target in INDEXES.items():
            await engine_finder().run_ddl(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {target}")
        for name, target in PLAIN.items():
            await engine_finder().run_ddl(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")

    async def run_backwards():
        for name in [*INDEXES, *PLAIN]:
            await engine_finder().run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
