from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-03T07:55:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "an idempotent retry is known by its key and network, not by the voter cookie"

# A retry that lost the first answer (and its cookie) is a new voter: keyed on the voter
# hash, it was counted again. Of the rows that share a key from one network, the first
# keeps it; the later ones (those double counts) keep their vote and lose the key.
FORGET_LATER_KEYS = """
UPDATE vote SET idempotency_key = NULL
WHERE idempotency_key IS NOT NULL AND EXISTS (
    SELECT 1 FROM vote AS earlier
    WHERE earlier.campaign = vote.campaign
      AND earlier.network = vote.network
      AND earlier.idempotency_key = vote.idempotency_key
      AND earlier.seq < vote.seq
)
"""


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="voting", description=DESCRIPTION)

    async def run():
        engine = engine_finder()
        await engine.run_ddl(FORGET_LATER_KEYS)
        await engine.run_ddl("DROP INDEX IF EXISTS vote_idempotency")
        await engine.run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS vote_idempotency_network "
            "ON vote (campaign, network, idempotency_key)"
        )

    async def run_backwards():
        # One network per voter hash: rows unique by network are unique by voter too.
        engine = engine_finder()
        await engine.run_ddl("DROP INDEX IF EXISTS vote_idempotency_network")
        await engine.run_ddl(
            "CREATE UNIQUE INDEX IF NOT EXISTS vote_idempotency "
            "ON vote (campaign, voter_hash, idempotency_key)"
        )

    manager.add_raw(run)
    manager.add_raw_backwards(run_backwards)
    return manager
