"""Objections received by telephone, letter or visit (电话、信函、来访), recorded by staff.

Real notices take objections by every channel under a real name; the organiser's city
admin records those that did not come through the online form. They enter the same
register as online ones (a receipt number the city passes on to the objector, the same
statuses and handling steps), with the channel, the day received, the objector's name
and contact, the content and any attachments (checked by content as online evidence is;
the controller stores them through ``portal.media``).

Recording is possible while the campaign is in the notice phase — also after the period
has ended, for a letter that arrived in time and reaches the desk later — but the day
received must fall within the period, never after it nor in the future.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from portal import audit
from portal.audit import Actor
from portal.campaigns import zone
from portal.clock import utc_now
from portal.db import is_unique_violation, write_transaction
from portal.tables import Campaign, Phase
from results import objections
from results.objections import ObjectionRefused
from results.tables import (
    Objection,
    ObjectionAttachment,
    ObjectionChannel,
    ObjectionStatus,
)

# Channels staff record; online objections come only through the public form.
OFFLINE_CHANNELS = (ObjectionChannel.phone, ObjectionChannel.letter, ObjectionChannel.visit)
MAX_ADDRESS = 200
MAX_ATTACHMENTS = 5
NOT_IN_NOTICE = "只有在公示阶段才能登记异议；活动已不在公示阶段。"


@dataclass(frozen=True)
class ReceivedObjection:
    """An offline objection's checked fields."""

    channel: ObjectionChannel
    received_on: dt.date
    candidate_id: int
    real_name: str
    phone: str
    address: str
    relation: str
    content: str


def local_day(moment: dt.datetime, timezone: str) -> dt.date:
    return moment.astimezone(zone(timezone)).date()


def check_received(
    campaign: Campaign,
    period: objections.NoticePeriod,
    values: Mapping[str, Any],
    choices: set[int],
) -> ReceivedObjection:
    """Check what a city admin typed about an objection received off line; raise
    ``ObjectionRefused`` with a zh-CN message per bad field.

    The candidate, the name, the relation and the content follow the online rules,
    except that the relation may be left blank (a letter need not state it) and the
    contact is a telephone number or a postal address, at least one of them.
    """
    errors: dict[str, str] = {}
    has_phone = bool(objections._text(values, "phone"))
    data = None
    try:
        data = objections.check_fields(values, choices, offline=True)
    except ObjectionRefused as exc:
        errors.update(exc.errors)
    channel = None
    with contextlib.suppress(ValueError):
        channel = ObjectionChannel(str(values.get("channel") or ""))
    if channel not in OFFLINE_CHANNELS:
        errors["channel"] = "请选择收到异议的方式：电话、信函或来访。"
    address = objections._text(values, "address")
    if len(address) > MAX_ADDRESS:
        errors["address"] = f"通信地址不能超过 {MAX_ADDRESS} 个字。"
    if not has_phone and not address:
        errors["phone"] = "请至少填写异议人的联系电话或通信地址之一，以便核实和答复。"
    received_on = None
    text = objections._text(values, "received_on")
    first, last = receiving_days(campaign, period)
    try:
        received_on = dt.date.fromisoformat(text) if text else None
    except ValueError:
        errors["received_on"] = "收到日期格式无效，请按“2026-12-08”的格式填写。"
    else:
        if received_on is None:
            errors["received_on"] = "请填写收到异议的日期。"
        elif not first <= received_on <= last:
            errors["received_on"] = (
                f"收到日期须在公示期内（{first.isoformat()} 至 {last.isoformat()}）；"
                "公示期外收到的异议不予受理。"
            )
    if errors or data is None or channel is None or received_on is None:
        raise ObjectionRefused("请修改标出的问题后再登记。", errors)
    return ReceivedObjection(
        channel=channel,
        received_on=received_on,
        candidate_id=data.candidate_id,
        real_name=data.real_name,
        phone=data.phone,
        address=address,
        relation=data.relation,
        content=data.content,
    )


def receiving_days(campaign: Campaign, period: objections.NoticePeriod) -> tuple[dt.date, dt.date]:
    """The first and last day an offline objection may have been received: the notice's
    first day to its last, or today if that comes first (campaign time zone)."""
    first = local_day(period.starts_at, campaign.timezone)
    last = min(
        local_day(period.ends_at, campaign.timezone), local_day(period.now, campaign.timezone)
    )
    return first, last


async def check_received_objection(
    campaign: Campaign, values: Mapping[str, Any], now: dt.datetime | None = None
) -> ReceivedObjection:
    """Check an offline objection before any file is stored: the campaign is in its notice
    phase and the fields are valid. Raises ``ObjectionRefused``."""
    period = await objections.notice_period(campaign, now)
    if period is None or campaign.phase != Phase.notice.value:
        raise ObjectionRefused(NOT_IN_NOTICE, code="closed")
    return check_received(campaign, period, values, await objections.designee_ids(campaign.id))


async def record_received(
    actor: Actor,
    campaign: Campaign,
    data: ReceivedObjection,
    attachments: Sequence[tuple[str, str]] = (),
    now: dt.datetime | None = None,
) -> Objection:
    """Register an objection received by telephone, letter or visit, with its stored
    attachments (``(stored_name, filename)`` pairs), under a new receipt number; audited
    as ``objection.record`` (without the objector's contact, which stays in the register).

    The phase and the candidate are checked again in the write transaction. Raises
    ``ObjectionRefused``; nothing is stored then.
    """
    now = now or utc_now()
    for _attempt in range(5):
        try:
            async with write_transaction():
                fresh = await Campaign.objects().where(Campaign.id == campaign.id).first().run()
                if fresh is None or fresh.phase != Phase.notice.value:
                    raise ObjectionRefused(NOT_IN_NOTICE, code="closed")
                if data.candidate_id not in await objections.designee_ids(campaign.id):
                    raise ObjectionRefused(
                        "所选对象已不在拟命名名单中。",
                        {"candidate": "所选对象已不在拟命名名单中，请重新选择。"},
                    )
                objection = Objection(
                    campaign=campaign.id,
                    candidate=data.candidate_id,
                    receipt=objections.new_receipt(),
                    real_name=data.real_name,
                    phone=data.phone,
                    address=data.address,
                    relation=data.relation,
                    content=data.content,
                    status=ObjectionStatus.received.value,
                    channel=data.channel.value,
                    received_on=data.received_on,
                    recorded_by=actor.staff_id,
                    created_at=now,
                )
                await objection.save().run()
                for stored, filename in attachments:
                    await (
                        ObjectionAttachment(
                            objection=objection.id,
                            stored_name=stored,
                            filename=objections.evidence_filename(filename),
                            uploaded_at=now,
                        )
                        .save()
                        .run()
                    )
                await audit.record(
                    actor,
                    "objection.record",
                    ("objection", objection.id),
                    after={
                        "channel": data.channel.value,
                        "received_on": data.received_on.isoformat(),
                        "attachments": len(attachments),
                    },
                    label=f"{objection.receipt} · {ObjectionChannel.label_of(data.channel.value)}"
                    f" · {await objections._candidate_name(data.candidate_id)}",
                )
            return objection
        except Exception as exc:
            if not is_unique_violation(exc):
                raise
    raise RuntimeError("could not draw a unique objection receipt")  # pragma: no cover


async def attachments_of(objection_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The attachments of these objections, by objection id, in upload order."""
    if not objection_ids:
        return {}
    rows = (
        await ObjectionAttachment.select()
        .where(ObjectionAttachment.objection.is_in(list(objection_ids)))
        .order_by(ObjectionAttachment.id)
        .run()
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["objection"], []).append(row)
    return found


async def attachment_of(campaign: Campaign, objection_id: int, attachment_id: int) -> Any:
    """One attachment of one objection of this campaign (for serving it), or None."""
    return (
        await ObjectionAttachment.select()
        .where(
            (ObjectionAttachment.id == attachment_id)
            & (ObjectionAttachment.objection == objection_id)
            & (ObjectionAttachment.objection.campaign == campaign.id)
        )
        .first()
        .run()
    )
