from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-29T07:49:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "ledger order, one vote per voter/candidate/day, idempotent retries"

INDEXES = {
    # One chain per campaign: a sequence number is never given twice.
    "vote_campaign_seq": "vote (campaign, seq)",
    # The limits are kept in the store; these make the database refuse what slips by.
    "vote_once_a_day": "vote (campaign, day, voter_hash, candidate)",
    "vote_idempotency": "vote (campaign, voter_hash, idempotency_key)",
}
PLAIN = {
    "vote_candidate_time": "vote (candidate, cast_ts)",
    "vote_campaign_status": "vote (campaign, status)",
}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="voting", description=DESCRIPTION)

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
