"""Storing demo nominations: their files first (in threads), then the rows and their
audit entries in one transaction, the files removed again if the rows do not go in.
Only the stored file names (random by design) and the times differ between databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nominations import conditions
from nominations.demo.assets import PALETTE, document_lines, remove_files, store_files
from nominations.demo.corpus import CITY, TOWNS
from nominations.demo.plans import (
    SHORTLISTED,
    Plan,
    build_plans,
    check,
    columns,
    nominating_window,
    schedule,
    utc,
)
from nominations.tables import (
    Document,
    Nomination,
    Status,
)
from portal import audit, media
from portal.audit import Actor
from portal.db import write_transaction
from portal.tables import (
    AuditEntry,
    Bureau,
    BureauLevel,
    Campaign,
    Category,
    Role,
    Staff,
)

# The demo's rows and audit entries are the command line's, as `portal demo` writes them.
ACTOR = Actor.command_line("演示数据")


async def _has_nominations(campaign: Campaign) -> bool:
    return await Nomination.exists().where(Nomination.campaign == campaign.id).run()


async def ensure_demo_nominations(campaign: Campaign, var_dir: Path) -> None:
    """Nominate, vet and shortlist the demo campaign's candidates (idempotent).

    Does nothing if the campaign has any nomination already. Photos and documents are
    written to ``media.upload_dir(var_dir)`` first; the rows go in one transaction.
    """
    if await _has_nominations(campaign):
        return
    storage = await storage_of(campaign, SHORTLISTED)
    year = campaign.year or 2023
    plans = build_plans(year, list(TOWNS))
    held: dict[tuple[str, str], set[int]] = {}
    for plan in plans:
        category = storage.categories[plan.key]
        check(category["kind"], plan)
        if plan.status in (Status.submitted, Status.returned, Status.shortlisted):
            assert plan.place is not None and 1 <= plan.place <= category["county_cap"], plan
            places = held.setdefault((plan.key, plan.county), set())
            assert plan.place not in places, plan
            places.add(plan.place)
        else:
            assert plan.place is None
    schedule(plans, *nominating_window(campaign))
    await store_plans(campaign, plans, storage, var_dir)


@dataclass
class Storage:
    """What storing a campaign's planned nominations looks up: its categories by key,
    the county bureaus by county, and each bureau's first clerk (the creator)."""

    categories: dict[str, dict[str, Any]]
    bureaus: dict[str, int]
    clerks: dict[int, int]


async def storage_of(
    campaign: Campaign,
    keys: Iterable[str],
    nominators: Iterable[str] = TOWNS,
    level: BureauLevel = BureauLevel.county,
) -> Storage:
    """The lookups for ``store_plans``; raise if a category key or a nominating bureau
    (by short name, of ``level``: the counties of the demo city by default) is missing."""
    categories = {
        row["key"]: row
        for row in await Category.select(
            Category.id,
            Category.key,
            Category.title,
            Category.kind,
            Category.county_cap,
            Category.conditions,
        )
        .where(Category.campaign == campaign.id)
        .run()
    }
    bureaus = {
        row["county"]: row["id"]
        for row in await Bureau.select(Bureau.id, Bureau.short_name.as_alias("county"))
        .where(Bureau.level == level.value)
        .run()
    }
    missing = [k for k in keys if k not in categories] + [c for c in nominators if c not in bureaus]
    if missing:
        raise RuntimeError(
            f"the demo campaign {campaign.slug} lacks categories or bureaus: {missing}"
        )
    clerks: dict[int, int] = {}
    for row in (
        await Staff.select(Staff.id, Staff.bureau)
        .where(Staff.role == Role.county_clerk.value)
        .order_by(Staff.id)
        .run()
    ):
        clerks.setdefault(row["bureau"], row["id"])
    return Storage(categories, bureaus, clerks)


async def store_plans(
    campaign: Campaign,
    plans: list[Plan],
    storage: Storage,
    var_dir: Path,
    palette_offset: int = 0,
    form: tuple[str, str] = (CITY, "县区"),
) -> None:
    """Draw and store each plan's photo and PDF (in threads), then insert the rows in one
    transaction; on any failure, or if another process stored them first, the files go.
    ``form``: the approval form's area and nominating bureaus (see ``document_lines``)."""
    directory = media.upload_dir(var_dir)
    year = campaign.year or 2023
    results = await asyncio.gather(
        *(
            asyncio.to_thread(
                store_files,
                plan,
                directory,
                PALETTE[(index + palette_offset) % len(PALETTE)],
                document_lines(plan, storage.categories[plan.key]["title"], year, *form),
            )
            for index, plan in enumerate(plans)
        ),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    for plan, stored in zip(plans, results, strict=True):
        if not isinstance(stored, BaseException):
            plan.stored = stored
    if failures:
        remove_files(directory, plans)
        raise failures[0]
    try:
        inserted = await insert_plans(
            campaign, plans, storage.categories, storage.bureaus, storage.clerks
        )
    except BaseException:
        remove_files(directory, plans)
        raise
    if not inserted:  # another process loaded the demo meanwhile
        remove_files(directory, plans)


async def insert_plans(
    campaign: Campaign,
    plans: list[Plan],
    categories: dict[str, dict[str, Any]],
    bureaus: dict[str, int],
    clerks: dict[int, int],
) -> bool:
    """Insert the planned nominations in one transaction; False if the campaign has some."""
    async with write_transaction():
        if await _has_nominations(campaign):
            return False
        rows = []
        for plan in plans:
            category, bureau = categories[plan.key], bureaus[plan.county]
            times = plan.times
            rows.append(
                Nomination(
                    campaign=campaign.id,
                    category=category["id"],
                    bureau=bureau,
                    status=plan.status.value,
                    place=plan.place,
                    **columns(category["kind"], plan.values),
                    photo=plan.stored.get("photo", ""),
                    thumbnail=plan.stored.get("thumbnail", ""),
                    decision_reason=plan.reason,
                    declarations=answers(plan, category),
                    designation=plan.designation,
                    created_by=clerks.get(bureau),
                    created_at=utc(times["created_at"]),
                    updated_at=utc(times["updated_at"]),
                    submitted_at=utc(times.get("submitted_at")),
                    decided_at=utc(times.get("decided_at")),
                    shortlisted_at=utc(times.get("shortlisted_at")),
                )
            )
        await Nomination.insert(*rows).run()
        documents, entries = [], []
        for plan, row in zip(plans, rows, strict=True):
            if "document" in plan.stored:
                stored_name, size = plan.stored["document"]
                documents.append(
                    Document(
                        nomination=row.id,
                        stored_name=stored_name,
                        filename=f"{plan.values['name']}推荐审批表.pdf",
                        size=size,
                        uploaded_at=utc(plan.times["uploaded_at"]),
                    )
                )
            entries.append(_audit_entry(plan, row))
        if documents:
            await Document.insert(*documents).run()
        await audit.append(*entries)
    return True


def answers(plan: Plan, category: dict[str, Any]) -> dict[str, str]:
    """A plan's answers to its category's declarations ("yes" to each once submitted),
    checked: a nomination the city shortlisted or is vetting meets every condition."""
    rules = conditions.stored(category.get("conditions"), category["kind"])
    if plan.declarations is not None:
        given = plan.declarations
    elif plan.status is Status.draft:
        given = {}
    else:
        given = {rule.key: conditions.YES for rule in rules if rule.is_declaration}
    if plan.status in (Status.shortlisted, Status.submitted):
        values = columns(category["kind"], plan.values)
        unmet = conditions.unmet(conditions.evaluate(rules, values, given))
        if unmet:
            raise AssertionError(
                f"demo nomination {plan.values.get('name')} fails {unmet[0].condition.wording}"
            )
    return given


def _audit_entry(plan: Plan, row: Nomination) -> AuditEntry:
    if plan.status is Status.draft:
        action, before, after = "nomination.create", None, {"status": "draft"}
        at = plan.times["created_at"]
    elif plan.status is Status.submitted:
        action, before, after = "nomination.submit", {"status": "draft"}, {"status": "submitted"}
        at = plan.times["submitted_at"]
    else:
        action = f"nomination.{plan.status.value}"
        before = {"status": Status.submitted.value}
        after = {"status": plan.status.value}
        if plan.reason:
            after["reason"] = plan.reason
        at = plan.times["decided_at"]
    return AuditEntry(
        at=utc(at),
        actor=ACTOR.staff_id,
        actor_name=ACTOR.name,
        actor_role=ACTOR.role,
        action=action,
        object_type=Nomination._meta.tablename,
        object_id=str(row.id),
        object_label=plan.values["name"][:200],
        before=before,
        after=after,
        network=ACTOR.network,
    )
