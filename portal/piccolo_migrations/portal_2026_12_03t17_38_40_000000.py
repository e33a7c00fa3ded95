from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-03T17:38:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "link the bureau tree of an installation that was one city above its counties"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="portal", description=DESCRIPTION
    )

    # A separate migration: Piccolo runs a migration's raw steps before its schema
    # steps, and these need the columns the previous migration adds.
    async def link_the_tree() -> None:
        # Before this migration an installation was one city above its counties: the
        # city gets its short name, and each county the city as its parent.
        engine = engine_finder()
        await engine.run_ddl(
            "UPDATE bureau SET short_name = REPLACE(name, '司法局', '') "
            "WHERE short_name = '' AND level = 'city'"
        )
        await engine.run_ddl(
            "UPDATE bureau SET parent = (SELECT MIN(id) FROM bureau AS city "
            "WHERE city.level = 'city') WHERE level = 'county' AND parent IS NULL"
        )
        # Campaigns so far were the city's.
        await engine.run_ddl(
            "UPDATE campaign SET organiser = (SELECT MIN(id) FROM bureau "
            "WHERE bureau.level = 'city') WHERE organiser IS NULL"
        )

    manager.add_raw(link_the_tree)
    return manager
