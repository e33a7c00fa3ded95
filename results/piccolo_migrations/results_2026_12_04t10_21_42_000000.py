import datetime as dt
from types import SimpleNamespace

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.table import Table

from portal.bureaus import certificate_number
from results.register import term_end

ID = "2026-12-04T10:21:42:000000"
VERSION = "1.38.0"
DESCRIPTION = "the campaigns designated before the register enter it, numbered in order"

CAMPAIGNS = """
SELECT c.id, c.year, c.timezone, c.organiser, c.term_years, t.designated_at
FROM campaign c JOIN tally t ON t.campaign = c.id
WHERE c.phase = 'published' AND t.designated_at IS NOT NULL
ORDER BY t.designated_at, c.id
"""
STANDINGS = """
SELECT s.candidate, s.category FROM standing s JOIN category k ON k.id = s.category
WHERE s.campaign = {} AND s.designated = {}
AND s.candidate NOT IN (SELECT candidate FROM designation)
ORDER BY k.position, k.id, s.rank
"""


def _moment(value):
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="results", description=DESCRIPTION)

    # Plain SQL, not the app's tables: the columns of this moment, whatever they become.
    class Sql(Table, tablename="designation"):
        pass

    async def query(sql, *args):
        return await Sql.raw(sql, *args).run()

    async def run():
        from zoneinfo import ZoneInfo

        for campaign in await query(CAMPAIGNS):
            owner_id = campaign["organiser"]
            if owner_id is None:
                roots = await query(
                    "SELECT id FROM bureau WHERE parent IS NULL ORDER BY id LIMIT 1"
                )
                if not roots:
                    continue
                owner_id = roots[0]["id"]
            owner = SimpleNamespace(
                **(
                    await query(
                        "SELECT name, short_name, certificate_pattern FROM bureau WHERE id = {}",
                        owner_id,
                    )
                )[0]
            )
            standings = await query(STANDINGS, campaign["id"], True)
            if not standings:
                continue
            last = await query(
                "SELECT MAX(serial) AS last FROM designation WHERE organiser = {} AND year = {}",
                owner_id,
                campaign["year"],
            )
            serial = (last[0]["last"] if last else None) or 0
            day = (
                _moment(campaign["designated_at"])
                .astimezone(ZoneInfo(campaign["timezone"] or "Asia/Shanghai"))
                .date()
            )
            until = term_end(day, campaign["term_years"] or 3)
            for standing in standings:
                serial += 1
                number = certificate_number(owner, campaign["year"], serial)
                await query(
                    "INSERT INTO designation (campaign, category, candidate, organiser, year,"
                    " serial, certificate_no, designated_on, valid_until, revocation_reason,"
                    " created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, '',"
                    " CURRENT_TIMESTAMP)",
                    campaign["id"],
                    standing["category"],
                    standing["candidate"],
                    owner_id,
                    campaign["year"],
                    serial,
                    number,
                    day,
                    until,
                )

    manager.add_raw(run)
    return manager
