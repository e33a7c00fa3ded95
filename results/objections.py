"""Objections (异议) to the proposed designees, made during the public notice (公示).

Anyone may object to a proposed designee while the notice runs, under a real name with
a phone number, their relation to the candidate, the content (10–2000 characters) and
optionally one evidence file (a checked PDF or image, stored by the controller through
``portal.media``). Each objection gets a receipt number (``YY-XXXX-XXXX-XXXX``,
unambiguous characters, unique index) with which the objector looks up its status and,
once handled, the result — nothing else.

City admins handle each objection during the notice phase: ``investigate`` (调查核实),
then ``uphold`` — which excludes the candidate through ``services.exclude`` in the same
write transaction, so the next in line moves up — or ``dismiss``; each with its audit
entry. The public notice shows only how many objections were received and handled.
Objections received by telephone, letter or visit are recorded by staff
(``results.objection_channels``) into the same register and workflow.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItemPerHour
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from nominations.tables import Nomination
from portal import audit
from portal.audit import Actor
from portal.clock import utc_now
from portal.db import is_unique_violation, write_transaction
from portal.errors import Invalid, NotFound
from portal.tables import Campaign, Phase
from portal.text import line_error
from results import services
from results.services import CategoryRanking
from results.tables import (
    OBJECTION_HANDLED,
    Objection,
    ObjectionChannel,
    ObjectionStatus,
    Standing,
    Tally,
)

RECEIPT_PREFIX = "YY"
# No 0/O and no 1/I: a receipt read aloud or copied by hand cannot be misread.
RECEIPT_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
RECEIPT_GROUPS = 3
RECEIPT_GROUP_LENGTH = 4
_RECEIPT_BODY = RECEIPT_GROUPS * RECEIPT_GROUP_LENGTH

MIN_NAME, MAX_NAME = 2, 50
MAX_RELATION = 100
MIN_CONTENT, MAX_CONTENT = 10, 2000
# An upheld objection's resolution becomes the exclusion reason (at most 500 characters
# with the receipt in front of it).
MAX_RESOLUTION = 450
MAX_EVIDENCE_NAME = 200

# Submissions per client network, counted whether they succeed or not: enough for a
# family or an office behind one address, too few for a flood.
SUBMISSIONS_PER_NETWORK = RateLimitItemPerHour(10)

_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")
# Area code (3–4 digits starting with 0), number (7–8 digits), optional extension.
_LANDLINE_RE = re.compile(r"0[1-9][0-9]{1,2}-?[2-9][0-9]{6,7}(?:-[0-9]{1,6})?")
_NAME_FORBIDDEN_RE = re.compile(r"[0-9<>@#$%^&*=+{}\[\]\\|/:;\"]")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

NOT_OPEN = "公示期已结束或尚未开始，不再受理异议。"
HANDLING_CLOSED = "只有在公示阶段才能办理异议；活动已不在公示阶段。"


class ObjectionRefused(Invalid):
    """An objection (or a handling step) refused; ``errors`` name the fields (zh-CN).

    ``code`` says what kind: ``invalid`` (the fields), ``closed`` (outside the notice),
    ``handled`` (a step that no longer applies).
    """


# --- the notice period -------------------------------------------------------------------


@dataclass(frozen=True)
class NoticePeriod:
    """A campaign's public notice: its dates, and whether objections are taken now."""

    phase: Phase
    starts_at: dt.datetime
    ends_at: dt.datetime
    now: dt.datetime
    tally: Tally

    @property
    def open(self) -> bool:
        """Objections are received: in the notice phase, before the period's end."""
        return self.phase is Phase.notice and self.starts_at <= self.now < self.ends_at

    @property
    def ended(self) -> bool:
        return not self.open


async def notice_period(campaign: Campaign, now: dt.datetime | None = None) -> NoticePeriod | None:
    """The campaign's notice, or ``None`` before the proposed list was published."""
    if campaign.phase not in services.PUBLIC_PHASES:
        return None
    tally = await services.tally_of(campaign.id)
    if tally is None or tally.notice_starts_at is None or tally.notice_ends_at is None:
        return None
    return NoticePeriod(
        phase=Phase(campaign.phase),
        starts_at=tally.notice_starts_at,
        ends_at=tally.notice_ends_at,
        now=now or utc_now(),
        tally=tally,
    )


async def designees(campaign: Campaign) -> list[CategoryRanking]:
    """The proposed designees per category (categories without any left out)."""
    return [
        CategoryRanking(item.category, item.designated)
        for item in await services.ranking(campaign)
        if item.designated
    ]


async def counts(campaign_id: int) -> tuple[int, int]:
    """(received, handled): the only figures about objections the public sees."""
    received = await Objection.count().where(Objection.campaign == campaign_id)
    handled = await Objection.count().where(
        (Objection.campaign == campaign_id)
        & Objection.status.is_in([status.value for status in OBJECTION_HANDLED])
    )
    return received, handled


# --- receipts ----------------------------------------------------------------------------


def new_receipt() -> str:
    """A fresh receipt number, e.g. ``YY-K7QM-3XHD-9TRA`` (60 random bits)."""
    body = "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(_RECEIPT_BODY))
    groups = [
        body[i : i + RECEIPT_GROUP_LENGTH] for i in range(0, _RECEIPT_BODY, RECEIPT_GROUP_LENGTH)
    ]
    return "-".join([RECEIPT_PREFIX, *groups])


def normalise_receipt(typed: str) -> str | None:
    """The canonical receipt for what someone typed (any case, spaces or hyphens), or None."""
    text = re.sub(r"[\s\-–—_]+", "", str(typed or "")).upper()
    if not text.startswith(RECEIPT_PREFIX):
        return None
    body = text[len(RECEIPT_PREFIX) :]
    if len(body) != _RECEIPT_BODY or any(c not in RECEIPT_ALPHABET for c in body):
        return None
    groups = [
        body[i : i + RECEIPT_GROUP_LENGTH] for i in range(0, _RECEIPT_BODY, RECEIPT_GROUP_LENGTH)
    ]
    return "-".join([RECEIPT_PREFIX, *groups])


async def receipt_status(typed: str) -> dict[str, Any] | None:
    """What an objector may learn from their receipt: the status and, once handled, the
    result; plus the campaign, to find the notice again. ``None`` for an unknown receipt."""
    receipt = normalise_receipt(typed)
    if receipt is None:
        return None
    row = (
        await Objection.select(
            Objection.receipt,
            Objection.status,
            Objection.resolution,
            Objection.campaign.slug.as_alias("campaign_slug"),
            Objection.campaign.title.as_alias("campaign_title"),
        )
        .where(Objection.receipt == receipt)
        .first()
        .run()
    )
    if row is None:
        return None
    handled = row["status"] in {status.value for status in OBJECTION_HANDLED}
    return {
        "receipt": row["receipt"],
        "status": row["status"],
        "status_label": ObjectionStatus.label_of(row["status"]),
        "handled": handled,
        "resolution": row["resolution"] if handled else "",
        "campaign_slug": row["campaign_slug"],
        "campaign_title": row["campaign_title"],
    }


# --- submitting --------------------------------------------------------------------------


@dataclass(frozen=True)
class ObjectionInput:
    """An objection's checked fields."""

    candidate_id: int
    real_name: str
    phone: str
    relation: str
    content: str


def normalise_phone(raw: str) -> str | None:
    """A mainland mobile (11 digits) or landline (区号-号码[-分机]) number, or None."""
    text = re.sub(r"[\s()（）]+", "", str(raw or ""))
    text = text.replace("－", "-").replace("—", "-")
    if text.startswith("+86"):
        text = text[3:].lstrip("-")
    if _MOBILE_RE.fullmatch(text):
        return text
    if _LANDLINE_RE.fullmatch(text):
        return text
    return None


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    return _CONTROL_RE.sub("", str(value)).strip() if isinstance(value, str) else ""


def check_fields(
    values: Mapping[str, Any], choices: set[int], *, offline: bool = False
) -> ObjectionInput:
    """Check the form's fields; raise ``ObjectionRefused`` with a message per bad field.

    ``choices`` are the candidates one may object to (the current proposed designees).
    ``offline``: recorded by staff from a telephone call, letter or visit — the phone
    and the relation may then be blank (``objection_channels`` asks for a phone or an
    address, and a letter need not state the relation).
    """
    errors: dict[str, str] = {}
    candidate_id = 0
    raw_candidate = _text(values, "candidate")
    if not raw_candidate:
        errors["candidate"] = "请选择异议针对的拟命名对象。"
    else:
        try:
            candidate_id = int(raw_candidate)
        except ValueError:
            candidate_id = 0
        if candidate_id not in choices:
            errors["candidate"] = "所选对象不在本次公示的拟命名名单中，请重新选择。"
    real_name = _text(values, "real_name")
    if not real_name:
        errors["real_name"] = "请填写您的真实姓名（异议须实名提出）。"
    elif not MIN_NAME <= len(real_name) <= MAX_NAME or _NAME_FORBIDDEN_RE.search(real_name):
        errors["real_name"] = f"请填写真实姓名（{MIN_NAME}–{MAX_NAME} 个字，不含数字和符号）。"
    elif hidden := line_error("姓名", real_name):
        errors["real_name"] = hidden
    raw_phone = _text(values, "phone")
    phone = normalise_phone(raw_phone)
    if not raw_phone:
        if not offline:
            errors["phone"] = "请填写联系电话，以便核实情况。"
    elif phone is None:
        errors["phone"] = (
            "请填写有效的联系电话：11 位手机号码，或带区号的固定电话（如 0932-8212345）。"
        )
    relation = _text(values, "relation")
    if not relation and offline:
        relation = "未说明"
    elif not relation:
        errors["relation"] = "请填写您与被异议对象的关系（如：同村村民、纠纷当事人、同事）。"
    elif len(relation) > MAX_RELATION:
        errors["relation"] = f"与被异议对象的关系不能超过 {MAX_RELATION} 个字。"
    content = _text(values, "content")
    if len(content) < MIN_CONTENT:
        errors["content"] = f"请写明异议的具体事实和理由，不少于 {MIN_CONTENT} 个字。"
    elif len(content) > MAX_CONTENT:
        errors["content"] = f"异议内容不能超过 {MAX_CONTENT} 个字（现有 {len(content)} 字）。"
    if errors:
        raise ObjectionRefused("请修改标出的问题后再提交。", errors)
    return ObjectionInput(candidate_id, real_name, phone or "", relation, content)


def evidence_filename(filename: str | None) -> str:
    """The uploader's file name as shown to staff (no path, no control characters)."""
    name = re.split(r"[\\/]", str(filename or ""))[-1]
    name = _CONTROL_RE.sub("", name).strip()
    return name[:MAX_EVIDENCE_NAME] or "证据材料"


async def designee_ids(campaign_id: int) -> set[int]:
    rows = (
        await Standing.select(Standing.candidate)
        .where(
            (Standing.campaign == campaign_id)
            & (Standing.designated == True)  # noqa: E712
            & (Standing.excluded_reason == "")
        )
        .run()
    )
    return {row["candidate"] for row in rows}


async def check_objection(
    campaign: Campaign, values: Mapping[str, Any], now: dt.datetime | None = None
) -> ObjectionInput:
    """Check an objection before anything is stored: the notice is open, the fields are
    complete and valid, the candidate is a proposed designee. Raises ``ObjectionRefused``."""
    period = await notice_period(campaign, now)
    if period is None or not period.open:
        raise ObjectionRefused(NOT_OPEN, code="closed")
    return check_fields(values, await designee_ids(campaign.id))


async def record_objection(
    campaign: Campaign,
    data: ObjectionInput,
    *,
    evidence: str = "",
    evidence_name: str = "",
    network: str = "",
    now: dt.datetime | None = None,
) -> Objection:
    """Store a checked objection with a new receipt number and return it.

    The period and the candidate are checked again inside the write transaction (the
    notice may have ended, or the candidate been excluded, since the form was read).
    Raises ``ObjectionRefused``; nothing is stored then.
    """
    now = now or utc_now()
    for _attempt in range(5):
        try:
            async with write_transaction():
                fresh = await Campaign.objects().where(Campaign.id == campaign.id).first().run()
                period = await notice_period(fresh, now) if fresh else None
                if period is None or not period.open:
                    raise ObjectionRefused(NOT_OPEN, code="closed")
                if data.candidate_id not in await designee_ids(campaign.id):
                    raise ObjectionRefused(
                        "所选对象已不在拟命名名单中。",
                        {"candidate": "所选对象已不在拟命名名单中，请重新选择。"},
                    )
                objection = Objection(
                    campaign=campaign.id,
                    candidate=data.candidate_id,
                    receipt=new_receipt(),
                    real_name=data.real_name,
                    phone=data.phone,
                    relation=data.relation,
                    content=data.content,
                    evidence=evidence,
                    evidence_name=evidence_name if evidence else "",
                    status=ObjectionStatus.received.value,
                    network=network[:64],
                    created_at=now,
                )
                await objection.save().run()
            return objection
        except Exception as exc:
            # Two equal receipts in 2^60 happen only by the rarest chance: draw again.
            if not is_unique_violation(exc):
                raise
    raise RuntimeError("could not draw a unique objection receipt")  # pragma: no cover


class ObjectionGuard:
    """The per-network limit on objection submissions (``limits`` moving window)."""

    def __init__(self, storage: Storage) -> None:
        self._limiter = MovingWindowRateLimiter(storage)

    async def hit(self, network: str) -> int | None:
        """Count one submission; ``None`` if allowed, else the seconds until the next."""
        if await self._limiter.hit(SUBMISSIONS_PER_NETWORK, "objection", network):
            return None
        stats = await self._limiter.get_window_stats(SUBMISSIONS_PER_NETWORK, "objection", network)
        return max(1, int(stats.reset_time - utc_now().timestamp()) + 1)


# --- handling (city admins) --------------------------------------------------------------


async def objections_of(campaign: Campaign) -> list[dict[str, Any]]:
    """Every objection of a campaign for staff, unhandled first, each with its candidate's
    name, category, county and place in the ranking now."""
    rows = (
        await Objection.select(
            *Objection.all_columns(),
            Objection.candidate.name.as_alias("candidate_name"),
            Objection.candidate.category.title.as_alias("category_title"),
            Objection.candidate.bureau.short_name.as_alias("county"),
            Objection.handled_by.username.as_alias("handled_by_name"),
            Objection.recorded_by.username.as_alias("recorded_by_name"),
        )
        .where(Objection.campaign == campaign.id)
        .order_by(Objection.created_at)
        .order_by(Objection.id)
        .run()
    )
    standings = {
        row["candidate"]: row
        for row in await Standing.select(
            Standing.candidate, Standing.rank, Standing.designated, Standing.excluded_reason
        )
        .where(Standing.campaign == campaign.id)
        .run()
    }
    handled = {status.value for status in OBJECTION_HANDLED}
    for row in rows:
        row["status_label"] = ObjectionStatus.label_of(row["status"])
        row["channel_label"] = ObjectionChannel.label_of(row["channel"])
        row["handled"] = row["status"] in handled
        row["standing"] = standings.get(row["candidate"])
    rows.sort(key=lambda row: row["handled"])
    return rows


async def _load_for_handling(campaign: Campaign, objection_id: int) -> tuple[Campaign, Objection]:
    """The campaign (fresh) and the objection, inside the caller's write transaction."""
    fresh = await Campaign.objects().where(Campaign.id == campaign.id).first().run()
    objection = (
        await Objection.objects()
        .where((Objection.id == objection_id) & (Objection.campaign == campaign.id))
        .first()
        .run()
    )
    if fresh is None or objection is None:
        raise NotFound("找不到该异议。")
    if fresh.phase != Phase.notice.value:
        raise ObjectionRefused(HANDLING_CLOSED, code="closed")
    if objection.status in {status.value for status in OBJECTION_HANDLED}:
        raise ObjectionRefused(
            f"该异议已办结（{ObjectionStatus.label_of(objection.status)}），不能再次办理。",
            code="handled",
        )
    return fresh, objection


def clean_resolution(text: str | None) -> str:
    resolution = _CONTROL_RE.sub("", str(text or "")).strip()
    if not resolution:
        raise ObjectionRefused(
            "请填写办理结果。", {"resolution": "请填写办理结果，异议人可凭回执查询。"}
        )
    if len(resolution) > MAX_RESOLUTION:
        message = f"办理结果不能超过 {MAX_RESOLUTION} 字。"
        raise ObjectionRefused(message, {"resolution": message})
    return resolution


async def _candidate_name(candidate_id: int) -> str:
    row = await Nomination.select(Nomination.name).where(Nomination.id == candidate_id).first()
    return row["name"] if row else ""


async def _set_status(
    objection: Objection,
    status: ObjectionStatus,
    actor: Actor,
    now: dt.datetime,
    resolution: str | None = None,
) -> None:
    """Move the objection on, only from the status it was read in (a concurrent handler
    on PostgreSQL loses here rather than handling it twice)."""
    values: dict[Any, Any] = {Objection.status: status.value}
    if resolution is not None:
        values.update(
            {
                Objection.resolution: resolution,
                Objection.handled_by: actor.staff_id,
                Objection.handled_at: now,
            }
        )
    changed = (
        await Objection.update(values)
        .where((Objection.id == objection.id) & (Objection.status == objection.status))
        .returning(Objection.id)
        .run()
    )
    if not changed:
        raise ObjectionRefused("该异议刚被其他人办理，请刷新页面后查看。", code="handled")


async def investigate(
    actor: Actor, campaign: Campaign, objection_id: int, now: dt.datetime | None = None
) -> Objection:
    """Start investigating a received objection (调查核实中), audited."""
    now = now or utc_now()
    async with write_transaction():
        _, objection = await _load_for_handling(campaign, objection_id)
        if objection.status != ObjectionStatus.received.value:
            raise ObjectionRefused("该异议已在调查核实中。", code="handled")
        await _set_status(objection, ObjectionStatus.investigating, actor, now)
        await audit.record(
            actor,
            "objection.investigating",
            ("objection", objection.id),
            before={"status": objection.status},
            after={"status": ObjectionStatus.investigating.value},
            label=f"{objection.receipt} · {await _candidate_name(objection.candidate)}",
        )
        objection.status = ObjectionStatus.investigating.value
    return objection


async def uphold(
    actor: Actor,
    campaign: Campaign,
    objection_id: int,
    resolution: str,
    now: dt.datetime | None = None,
) -> Objection:
    """Uphold an objection (异议成立): the candidate is excluded with the resolution as
    the reason, in the same transaction, so the next in line moves up.

    The exclusion's audit entry (``objection.upheld``) names the receipt in its reason.
    If an earlier objection already excluded the candidate, this one is upheld without a
    second exclusion and audited on its own.
    """
    now = now or utc_now()
    resolution = clean_resolution(resolution)
    async with write_transaction():
        fresh, objection = await _load_for_handling(campaign, objection_id)
        await _set_status(objection, ObjectionStatus.upheld, actor, now, resolution)
        standing = (
            await Standing.select(Standing.excluded_reason)
            .where((Standing.campaign == campaign.id) & (Standing.candidate == objection.candidate))
            .first()
            .run()
        )
        if standing is not None and not standing["excluded_reason"]:
            await services.exclude(
                actor,
                fresh,
                objection.candidate,
                f"异议成立（回执 {objection.receipt}）：{resolution}",
                action="objection.upheld",
            )
        else:
            await _audit_decision(actor, objection, ObjectionStatus.upheld, resolution)
        objection.status = ObjectionStatus.upheld.value
        objection.resolution = resolution
    return objection


async def _audit_decision(
    actor: Actor, objection: Objection, status: ObjectionStatus, resolution: str
) -> None:
    """The audit entry of a decision on an objection (``objection.upheld``/``dismissed``)."""
    await audit.record(
        actor,
        f"objection.{status.value}",
        ("objection", objection.id),
        before={"status": objection.status},
        after={"status": status.value, "resolution": resolution},
        label=f"{objection.receipt} · {await _candidate_name(objection.candidate)}",
    )


async def dismiss(
    actor: Actor,
    campaign: Campaign,
    objection_id: int,
    resolution: str,
    now: dt.datetime | None = None,
) -> Objection:
    """Dismiss an objection (异议不成立) with the result of the investigation, audited;
    the proposed list stays as it is."""
    now = now or utc_now()
    resolution = clean_resolution(resolution)
    async with write_transaction():
        _, objection = await _load_for_handling(campaign, objection_id)
        await _set_status(objection, ObjectionStatus.dismissed, actor, now, resolution)
        await _audit_decision(actor, objection, ObjectionStatus.dismissed, resolution)
        objection.status = ObjectionStatus.dismissed.value
        objection.resolution = resolution
    return objection


async def objection_of(campaign: Campaign, objection_id: int) -> Objection | None:
    """One objection of this campaign (for serving its evidence), or None."""
    return (
        await Objection.objects()
        .where((Objection.id == objection_id) & (Objection.campaign == campaign.id))
        .first()
        .run()
    )
