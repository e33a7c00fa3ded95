"""Campaigns and their categories: validation, editing, and moving through the phases."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from portal import audit, bureaus
from portal.audit import Actor
from portal.db import VOTES_LOCK, advisory_lock, unique_or, write_transaction
from portal.errors import Invalid, NotFound
from portal.phases import PHASES
from portal.tables import Bureau, BureauLevel, Campaign, Category, CategoryKind, Phase, Role
from portal.text import line_error
from portal.weights import DEFAULT_REVIEW_WEIGHT, DEFAULT_VOTE_WEIGHT, parse_weight

if TYPE_CHECKING:
    from portal.accounts import StaffUser

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,62}[a-z0-9])$")
KEY_RE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,48}[a-z0-9])?$")
# The notice's objection telephone: a landline with its area code (and extension) or a
# mobile, or two of them separated by 、 or a comma.
_ONE_PHONE = r"(?:0[1-9][0-9]{1,2}-?[2-9][0-9]{6,7}(?:-[0-9]{1,6})?|1[3-9][0-9]{9})"
OBJECTION_PHONE_RE = re.compile(rf"{_ONE_PHONE}(?:\s*[、,，]\s*{_ONE_PHONE})?")

SLUG_TAKEN = "该网址标识已被使用。"
KEY_TAKEN = "该类别标识已存在。"
METHOD_LOCKED = "网络投票开始后评分方法已锁定，不能再修改权重。"

WINDOWS = (
    ("nominating_opens_at", "nominating_closes_at", "推荐申报"),
    ("reviewing_opens_at", "reviewing_closes_at", "专家评审"),
    ("voting_opens_at", "voting_closes_at", "网络投票"),
)
WINDOW_FIELDS = tuple(name for pair in WINDOWS for name in pair[:2])
# A designation's usual term of validity (有效期), in years from its date.
DEFAULT_TERM_YEARS = 3
# What a nomination that fails a recommendation condition (推荐条件) meets at submission.
CONDITIONS_MODES = {
    "refuse": "不能报送",
    "flag": "可以报送，不符合的条件提示主办单位审核",
}


class ValidationFailed(Invalid):
    """Input was refused; ``errors`` maps each field to a message (zh-CN)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("；".join(errors.values()), errors)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    return "" if value is None else str(value).strip()


def _title(data: dict[str, Any], label: str, limit: int, errors: dict[str, str]) -> str:
    """The ``title`` field: required, one line, at most ``limit`` characters."""
    title = _text(data, "title")
    if not title:
        errors["title"] = f"请填写{label}。"
    elif len(title) > limit:
        errors["title"] = f"{label}不能超过 {limit} 个字符。"
    elif hidden := line_error(label, title):
        errors["title"] = hidden
    return title


def _int(data: dict[str, Any], name: str, label: str, lo: int, hi: int, errors: dict) -> int | None:
    raw = _text(data, name)
    try:
        value = int(raw)
    except ValueError:
        errors[name] = f"{label}须为整数。" if raw else f"请填写{label}。"
        return None
    if not lo <= value <= hi:
        errors[name] = f"{label}须在 {lo} 到 {hi} 之间。"
        return None
    return value


def _datetime(value: Any, tz: ZoneInfo) -> dt.datetime | None:
    """A time from a form (``2023-06-01T09:00`` in the campaign's zone) or ISO with offset."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


@dataclass
class CampaignInput:
    slug: str
    title: str
    year: int
    description: str
    timezone: str
    notice_days: int
    windows: dict[str, dt.datetime | None] = field(default_factory=dict)
    network_votes_per_day: int = 100
    network_votes_per_minute: int = 20
    review_weight: Decimal = DEFAULT_REVIEW_WEIGHT
    vote_weight: Decimal = DEFAULT_VOTE_WEIGHT
    conditions_mode: str = "refuse"
    term_years: int = DEFAULT_TERM_YEARS
    objection_contact: str = ""
    objection_phone: str = ""
    objection_address: str = ""
    notice_shows_scores: bool = True

    def values(self) -> dict[str, Any]:
        return {
            "objection_contact": self.objection_contact,
            "objection_phone": self.objection_phone,
            "objection_address": self.objection_address,
            "notice_shows_scores": self.notice_shows_scores,
            "conditions_mode": self.conditions_mode,
            "term_years": self.term_years,
            "slug": self.slug,
            "title": self.title,
            "year": self.year,
            "description": self.description,
            "timezone": self.timezone,
            "notice_days": self.notice_days,
            "network_votes_per_day": self.network_votes_per_day,
            "network_votes_per_minute": self.network_votes_per_minute,
            "review_weight": self.review_weight,
            "vote_weight": self.vote_weight,
            **self.windows,
        }


def parse_campaign(data: dict[str, Any]) -> CampaignInput:
    """Validate campaign fields from a form or JSON body; raise ``ValidationFailed``."""
    errors: dict[str, str] = {}
    slug = _text(data, "slug").lower()
    if not SLUG_RE.match(slug):
        errors["slug"] = "网址标识须为 3–64 位小写字母、数字或连字符，且不以连字符开头或结尾。"
    title = _title(data, "活动名称", 200, errors)
    year = _int(data, "year", "年度", 2000, 2100, errors)
    description = _text(data, "description")
    if len(description) > 5000:
        errors["description"] = "活动说明不能超过 5000 个字符。"
    timezone = _text(data, "timezone") or "Asia/Shanghai"
    if timezone not in available_timezones():
        errors["timezone"] = "时区无效，例如 Asia/Shanghai。"
    notice_days = _int(data, "notice_days", "公示期（工作日）", 1, 30, errors)
    # Blank keeps the defaults: most campaigns never change the network caps.
    network_day = (
        _int(data, "network_votes_per_day", "每个网络每日票数上限", 1, 100_000, errors)
        if _text(data, "network_votes_per_day")
        else 100
    )
    network_minute = (
        _int(data, "network_votes_per_minute", "每个网络每分钟投票请求上限", 1, 10_000, errors)
        if _text(data, "network_votes_per_minute")
        else 20
    )
    review_weight, vote_weight = _weights(data, errors)
    # Blank: the usual three years (a designation's 有效期, counted from its date).
    term_years = (
        _int(data, "term_years", "命名有效期", 1, 10, errors)
        if _text(data, "term_years")
        else DEFAULT_TERM_YEARS
    )
    conditions_mode = _text(data, "conditions_mode") or "refuse"
    if conditions_mode not in CONDITIONS_MODES:
        errors["conditions_mode"] = "请选择不符合推荐条件时的处理方式。"
    contact, phone, address = _objection_contact(data, errors)
    tz = zone(timezone)
    windows: dict[str, dt.datetime | None] = {}
    for name in WINDOW_FIELDS:
        try:
            windows[name] = _datetime(data.get(name), tz)
        except ValueError:
            errors[name] = "时间格式无效。"
            windows[name] = None
    for opens, closes, label in WINDOWS:
        a, b = windows.get(opens), windows.get(closes)
        if (a is None) != (b is None) and opens not in errors and closes not in errors:
            errors[closes if a else opens] = f"{label}的开始和结束时间须同时填写。"
        elif a and b and a >= b:
            errors[closes] = f"{label}的结束时间须晚于开始时间。"
    nom_close, vote_open = windows.get("nominating_closes_at"), windows.get("voting_opens_at")
    if nom_close and vote_open and vote_open < nom_close and "voting_opens_at" not in errors:
        errors["voting_opens_at"] = "网络投票不能早于推荐申报结束。"
    if errors:
        raise ValidationFailed(errors)
    return CampaignInput(
        slug=slug,
        title=title,
        year=year,  # type: ignore[arg-type]
        description=description,
        timezone=timezone,
        notice_days=notice_days,  # type: ignore[arg-type]
        windows=windows,
        network_votes_per_day=network_day or 100,
        network_votes_per_minute=network_minute or 20,
        review_weight=review_weight,
        vote_weight=vote_weight,
        conditions_mode=conditions_mode,
        term_years=term_years or DEFAULT_TERM_YEARS,
        objection_contact=contact,
        objection_phone=phone,
        objection_address=address,
        notice_shows_scores=_notice_shows_scores(data),
    )


def _objection_contact(data: dict[str, Any], errors: dict[str, str]) -> tuple[str, str, str]:
    """Who takes objections by telephone, letter or visit, as the notice names them
    (all optional: the notice then names the organiser only)."""
    contact = _text(data, "objection_contact")
    if len(contact) > 50:
        errors["objection_contact"] = "异议联系人不能超过 50 个字。"
    phone = _text(data, "objection_phone")
    if phone and not OBJECTION_PHONE_RE.fullmatch(phone):
        errors["objection_phone"] = (
            "联系电话须为带区号的固定电话或 11 位手机号码，如 0932-8212345，可用“、”分隔两个号码。"
        )
    address = _text(data, "objection_address")
    if len(address) > 200:
        errors["objection_address"] = "来信来访地址不能超过 200 个字。"
    return contact, phone, address


def _notice_shows_scores(data: dict[str, Any]) -> bool:
    """What the notice publishes: ``notice_shows`` "names" (names with unit and county
    only) or "scores" (also every score and vote); absent, the scores as before."""
    shows = _text(data, "notice_shows")
    if shows:
        return shows != "names"
    if "notice_shows_scores" in data:
        return _bool(data.get("notice_shows_scores"))
    return True


def _weights(data: dict[str, Any], errors: dict[str, str]) -> tuple[Decimal, Decimal]:
    """The method's weights (blank: 0.70 and 0.30); each 0–1, two decimals, summing to 1."""
    weights = []
    for name, label, default in (
        ("review_weight", "专家评审权重", DEFAULT_REVIEW_WEIGHT),
        ("vote_weight", "网络投票权重", DEFAULT_VOTE_WEIGHT),
    ):
        raw = _text(data, name)
        try:
            weights.append(parse_weight(raw) if raw else default)
        except ValueError:
            errors[name] = f"{label}须为 0 到 1 之间的小数，最多两位小数，例如 0.7。"
            weights.append(default)
    review, vote = weights
    if not {"review_weight", "vote_weight"} & errors.keys() and review + vote != 1:
        errors["vote_weight"] = "专家评审权重与网络投票权重之和须为 1。"
    return review, vote


@dataclass
class CategoryInput:
    key: str
    title: str
    kind: CategoryKind
    quota: int
    county_cap: int
    votes_per_day: int
    public_counts: bool
    position: int
    requires_designation: bool = False

    def values(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "kind": self.kind.value,
            "quota": self.quota,
            "county_cap": self.county_cap,
            "votes_per_day": self.votes_per_day,
            "public_counts": self.public_counts,
            "position": self.position,
            "requires_designation": self.requires_designation,
        }


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in {"1", "true", "on", "yes"}


def parse_category(data: dict[str, Any]) -> CategoryInput:
    """Validate category fields from a form or JSON body; raise ``ValidationFailed``."""
    errors: dict[str, str] = {}
    key = _text(data, "key").lower()
    if not KEY_RE.match(key):
        errors["key"] = "类别标识须为 1–50 位小写字母、数字、下划线或连字符。"
    title = _title(data, "类别名称", 100, errors)
    try:
        kind = CategoryKind(_text(data, "kind"))
    except ValueError:
        errors["kind"] = "请选择对象类型：" + "、".join(kind.label for kind in CategoryKind) + "。"
        kind = CategoryKind.judicial_office
    quota = _int(data, "quota", "命名名额", 1, 1000, errors)
    county_cap = _int(data, "county_cap", "每个推荐单位上限", 1, 1000, errors)
    votes_per_day = _int(data, "votes_per_day", "每人每日投票数", 1, 100, errors)
    position = _int(data, "position", "排序", 0, 1000, errors) if _text(data, "position") else 0
    if errors:
        raise ValidationFailed(errors)
    return CategoryInput(
        key=key,
        title=title,
        kind=kind,
        quota=quota,  # type: ignore[arg-type]
        county_cap=county_cap,  # type: ignore[arg-type]
        votes_per_day=votes_per_day,  # type: ignore[arg-type]
        public_counts=_bool(data.get("public_counts")),
        position=position or 0,
        requires_designation=_bool(data.get("requires_designation")),
    )


def campaign_values(campaign: Campaign) -> dict[str, Any]:
    return {
        name: getattr(campaign, name)
        for name in (
            "slug",
            "title",
            "year",
            "description",
            "timezone",
            "notice_days",
            "network_votes_per_day",
            "network_votes_per_minute",
            "review_weight",
            "vote_weight",
            "conditions_mode",
            "term_years",
            "objection_contact",
            "objection_phone",
            "objection_address",
            "notice_shows_scores",
            "phase",
            *WINDOW_FIELDS,
        )
    }


async def get_campaign(slug: str) -> Campaign | None:
    return await Campaign.objects().where(Campaign.slug == slug).first().run()


async def organisers_seen_by(user: StaffUser) -> list[int]:
    """The bureaus whose campaigns a staff member works on: an administrator those of
    their own bureau; anyone else (reviewers, auditors, clerks) those of their bureau and
    the bureaus above it. Another organisation's campaigns do not exist for them."""
    if user.role is Role.city_admin:
        return [user.bureau_id]
    return await bureaus.lineage(user.bureau_id)


def sees_unlinked(user: StaffUser) -> bool:
    """A campaign made before campaigns had an organiser belongs to the top bureau: its
    administrators, and every reviewer, auditor and clerk, see it."""
    return user.top or user.role is not Role.city_admin


async def seen_by(user: StaffUser, campaign: Campaign) -> bool:
    """May this staff member see the campaign at all?"""
    if campaign.organiser is None:
        return sees_unlinked(user)
    return campaign.organiser in await organisers_seen_by(user)


async def list_campaigns(user: StaffUser | None = None) -> list[Campaign]:
    """The campaigns ``user`` may see (all, without a user), newest year first."""
    query = Campaign.objects()
    if user is not None:
        seen = Campaign.organiser.is_in(await organisers_seen_by(user))
        if sees_unlinked(user):
            seen = seen | Campaign.organiser.is_null()
        query = query.where(seen)
    return (
        await query.order_by(Campaign.year, ascending=False)
        .order_by(Campaign.id, ascending=False)
        .run()
    )


async def categories_of(campaign_id: int) -> list[Category]:
    return (
        await Category.objects()
        .where(Category.campaign == campaign_id)
        .order_by(Category.position)
        .order_by(Category.id)
        .run()
    )


async def organiser_of(campaign: Campaign) -> Bureau | None:
    """The bureau that runs the campaign (None for one made before bureaus had a tree),
    named as it was when the campaign was published, if it was renamed since."""
    if campaign.organiser is None:
        return None
    bureau = await Bureau.objects().where(Bureau.id == campaign.organiser).first().run()
    if bureau is not None and campaign.finished_at is not None:
        bureau.name, bureau.short_name = await bureaus.name_at(bureau, campaign.finished_at)
    return bureau


async def nominating_bureaus(campaign: Campaign) -> list[Bureau]:
    """The bureaus that nominate to the campaign, in their order: the organiser's direct
    subordinates (the county bureaus for a campaign made before campaigns had one)."""
    where = (
        Bureau.parent == campaign.organiser
        if campaign.organiser is not None
        else Bureau.level == BureauLevel.county.value
    )
    return await Bureau.objects().where(where).order_by(Bureau.position).order_by(Bureau.id).run()


async def category_of(campaign_id: int, key: str) -> Category | None:
    """The campaign's category with this key, or None."""
    return (
        await Category.objects()
        .where((Category.campaign == campaign_id) & (Category.key == key))
        .first()
        .run()
    )


async def create_campaign(
    actor: Actor, data: CampaignInput, organiser_id: int | None = None
) -> Campaign:
    """Create a campaign in the draft phase, run by the bureau ``organiser_id``."""
    taken = ValidationFailed({"slug": SLUG_TAKEN})
    with unique_or(taken):
        async with write_transaction():
            if await Campaign.exists().where(Campaign.slug == data.slug).run():
                raise taken
            campaign = Campaign(**data.values(), phase=Phase.draft.value, organiser=organiser_id)
            await campaign.save().run()
            await audit.record(actor, "campaign.create", campaign, after=data.values())
    return campaign


async def update_campaign(actor: Actor, slug: str, data: CampaignInput) -> Campaign:
    """Edit a campaign's fields; the slug only while it is a draft (links are shared)."""
    taken = ValidationFailed({"slug": SLUG_TAKEN})
    with unique_or(taken):
        campaign = await _update_campaign(actor, slug, data, taken)
    PHASES.changed(slug)
    return campaign


async def _update_campaign(
    actor: Actor, slug: str, data: CampaignInput, taken: Exception
) -> Campaign:
    async with write_transaction():
        campaign = await get_campaign(slug)
        if campaign is None:
            raise NotFound("找不到该评选活动。")
        if campaign.phase == Phase.published.value:
            raise ValidationFailed({"title": "已正式命名的活动不能再修改。"})
        # The voting window may change: no vote is recorded across the change.
        await advisory_lock(VOTES_LOCK, campaign.id)
        if data.slug != campaign.slug:
            if campaign.phase != Phase.draft.value:
                raise ValidationFailed({"slug": "活动发布后网址标识不能再修改。"})
            if await Campaign.exists().where(Campaign.slug == data.slug).run():
                raise taken
        before = campaign_values(campaign)
        if (Decimal(campaign.review_weight), Decimal(campaign.vote_weight)) != (
            data.review_weight,
            data.vote_weight,
        ) and method_locked(campaign):
            raise ValidationFailed({"review_weight": METHOD_LOCKED})
        for name, value in data.values().items():
            setattr(campaign, name, value)
        campaign.updated_at = dt.datetime.now(dt.UTC)
        await campaign.save().run()
        old, new = audit.changed_fields(before, campaign_values(campaign))
        if new:
            await audit.record(actor, "campaign.update", campaign, before=old, after=new)
    return campaign


async def save_category(
    actor: Actor, campaign: Campaign, data: CategoryInput, key: str | None = None
) -> Category:
    """Create a category (``key`` None) or edit the category with that key."""
    if campaign.phase in {Phase.tallying.value, Phase.notice.value, Phase.published.value}:
        raise ValidationFailed({"key": "综合评定开始后不能再修改评选类别。"})
    taken = ValidationFailed({"key": KEY_TAKEN})
    with unique_or(taken):
        category = await _save_category(actor, campaign, data, key, taken)
    PHASES.changed(campaign.slug)
    return category


async def _save_category(
    actor: Actor, campaign: Campaign, data: CategoryInput, key: str | None, taken: Exception
) -> Category:
    async with write_transaction():
        clash = Category.exists().where(
            (Category.campaign == campaign.id) & (Category.key == data.key)
        )
        if key is None:
            if campaign.phase not in {Phase.draft.value, Phase.nominating.value}:
                raise ValidationFailed({"key": "推荐申报结束后不能再增加评选类别。"})
            if await clash.run():
                raise taken
            category = Category(campaign=campaign.id, **data.values())
            await category.save().run()
            await audit.record(actor, "category.create", category, after=data.values())
            return category
        category = await category_of(campaign.id, key)
        if category is None:
            raise NotFound("找不到该评选类别。")
        if data.key != key:
            if campaign.phase != Phase.draft.value:
                raise ValidationFailed({"key": "活动发布后类别标识不能再修改。"})
            if await clash.run():
                raise taken
        before = {name: getattr(category, name) for name in data.values()}
        for name, value in data.values().items():
            setattr(category, name, value)
        await category.save().run()
        old, new = audit.changed_fields(before, data.values())
        if new:
            await audit.record(actor, "category.update", category, before=old, after=new)
        return category


async def delete_category(actor: Actor, campaign: Campaign, key: str) -> None:
    """Remove a category; only while the campaign is still a draft."""
    if campaign.phase != Phase.draft.value:
        raise ValidationFailed({"key": "只有筹备中的活动可以删除评选类别。"})
    async with write_transaction():
        category = await category_of(campaign.id, key)
        if category is None:
            raise NotFound("找不到该评选类别。")
        await category.remove().run()
        await audit.record(actor, "category.delete", category, before=category.to_dict())
    PHASES.changed(campaign.slug)


def method_locked(campaign: Campaign, now: dt.datetime | None = None) -> bool:
    """The ranking method may change only before voting opens (by phase and by time)."""
    if Phase(campaign.phase) in {Phase.draft, Phase.nominating, Phase.vetting, Phase.reviewing}:
        opens = campaign.voting_opens_at
        return opens is not None and (now or dt.datetime.now(dt.UTC)) >= opens
    return True
