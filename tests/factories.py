"""Small factories of test data for the fixtures: the people who act, a campaign with its
categories, shortlisted candidates.

What a factory writes, it writes in one transaction: one connection and one commit
however many rows (on PostgreSQL without a pool each statement would open a connection
of its own, on SQLite each commit would wait for the disk).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from piccolo.table import Table

from nominations.tables import Nomination, Status
from portal.accounts import StaffUser, create_staff, load_staff
from portal.audit import Actor
from portal.db import write_transaction
from portal.tables import Bureau, Campaign, Category, Staff
from tests.helpers import PASSWORD


def actor_for(user: StaffUser) -> Actor:
    """The audit actor of a request made by ``user``."""
    return Actor(staff_id=user.id, name=user.username, role=user.role.value, network="127.0.0.1")


async def accounts(*specs: tuple[str, str, str | None]) -> None:
    """Staff accounts, each ``(username, role, bureau name or None)``, all with ``PASSWORD``."""
    async with write_transaction():
        for username, role, bureau in specs:
            await create_staff(username, PASSWORD, role, bureau)


async def bureau_ids() -> list[dict[str, Any]]:
    """Every bureau's id and name."""
    return await Bureau.select(Bureau.id, Bureau.name).run()


async def user(username: str) -> StaffUser:
    """The account ``username`` as a signed-in request user."""
    row = await Staff.objects().where(Staff.username == username).first().run()
    return await load_staff(row.id)  # type: ignore[return-value]


async def campaign(
    categories: Iterable[dict[str, Any]], **fields: Any
) -> tuple[Campaign, dict[str, Category]]:
    """A campaign of ``fields`` and its categories (each a dict of column values), the
    categories by key."""
    async with write_transaction():
        made = Campaign(**fields)
        await made.save().run()
        rows = [Category(campaign=made.id, **values) for values in categories]
        await save(*rows)
    return made, {row.key: row for row in rows}


def candidate(category: Category, bureau: int, name: str, **fields: Any) -> Nomination:
    """A shortlisted nomination in ``category`` (not saved: ``save`` them together)."""
    return Nomination(
        campaign=category.campaign,
        category=category.id,
        bureau=bureau,
        status=Status.shortlisted.value,
        name=name,
        **fields,
    )


async def save(*rows: Table) -> None:
    """Insert the rows (setting their ids) in one transaction."""
    async with write_transaction():
        for row in rows:
            await row.save().run()
