"""Setting a category's recommendation conditions (the rules are in nominations.conditions).

The conditions are part of the campaign's notice: the organiser sets them while the
campaign is being prepared, and they are fixed once nominating opens (as a category's
key is), so every nominee is held to the conditions that were published.
"""

from __future__ import annotations

from typing import Any

from nominations import conditions
from portal import audit
from portal.audit import Actor
from portal.db import write_transaction
from portal.errors import NotFound
from portal.phases import PHASES
from portal.tables import Campaign, Category, Phase

LOCKED = "活动发布后推荐条件随评选通知公布，不能再修改。"


def editable(campaign: Campaign) -> bool:
    """May the conditions of the campaign's categories still change?"""
    return campaign.phase == Phase.draft.value


async def save_conditions(
    actor: Actor, campaign: Campaign, category: Category, items: list[dict[str, Any]]
) -> list[conditions.Condition]:
    """Check and store a category's conditions (audited with the old and new list);
    raise ``ConditionsInvalid`` for bad input or a campaign past its draft."""
    if not editable(campaign):
        raise conditions.ConditionsInvalid({"0.field": LOCKED})
    parsed = conditions.parse(items, category.kind)
    new = [c.as_json() for c in parsed]
    async with write_transaction():
        current = await Category.objects().where(Category.id == category.id).first().run()
        if current is None:
            raise NotFound("找不到该评选类别。")
        old = [c.as_json() for c in conditions.stored(current.conditions, current.kind)]
        if old != new:
            current.conditions = new
            await current.save([Category.conditions]).run()
            await audit.record(
                actor,
                "category.conditions",
                current,
                before={"conditions": old},
                after={"conditions": new},
            )
    PHASES.changed(campaign.slug)
    return parsed
