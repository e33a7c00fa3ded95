from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-04T14:11:37:000000"
VERSION = "1.38.0"
DESCRIPTION = "chain the audit entries made before the chain"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def chain_existing() -> None:
        # The entries made before the chain (demos, earlier releases) are chained in id
        # order with today's hash, so `portal verify-audit` checks them too.
        from portal.audit import GENESIS, entry_hash
        from portal.tables import AuditEntry

        rows = await AuditEntry.raw(
            "SELECT id, at, actor, actor_name, actor_role, action, object_type, object_id,"
            " object_label, before, after, network FROM audit_entry ORDER BY id"
        ).run()
        previous = GENESIS
        for row in rows:
            digest = entry_hash(previous, row)
            await AuditEntry.raw(
                "UPDATE audit_entry SET prev_hash = {}, entry_hash = {} WHERE id = {}",
                previous,
                digest,
                row["id"],
            ).run()
            previous = digest

    manager.add_raw(chain_existing)
    return manager
