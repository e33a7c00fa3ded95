"""Stories: who may see and change what, checking a story form, drafting and editing.

City admins write, edit and publish any story, and publish what counties submit; a
county clerk drafts and edits their own county's stories and submits them; auditors
read. Every change is audited, in one entry per action. The way to publication is in
``stories.publishing``, public reads in ``stories.reading``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nominations.candidates import shortlisted_in
from nominations.tables import Nomination
from portal import audit
from portal.accounts import StaffUser
from portal.audit import Actor
from portal.bureaus import bureau_ids_within
from portal.campaigns import seen_by
from portal.clock import utc_now
from portal.db import write_transaction
from portal.errors import Hidden, Invalid
from portal.tables import Campaign, Role
from portal.text import line_error
from stories.tables import (
    Story,
    StoryCandidate,
    StoryKind,
    StoryStatus,
)

MAX_TITLE = 120
MAX_BODY = 50_000
MAX_REASON = 2000
MAX_CANDIDATES = 30

EDITABLE_BY_COUNTY = frozenset({StoryStatus.draft, StoryStatus.returned})


# The audit log's names for these actions. Registered here, beside the actions, so the
# log page names them without portal.audit knowing about stories.
class StoryError(Invalid):
    """A request the rules refuse. ``errors`` maps form fields to zh-CN messages."""


@dataclass(frozen=True)
class Cleaned:
    """A story form's values, checked."""

    kind: str
    title: str
    body: str
    bureau_id: int
    campaign_id: int | None
    candidate_ids: tuple[int, ...]

    def columns(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "bureau": self.bureau_id,
            "campaign": self.campaign_id,
        }


# --- who may see and change what -------------------------------------------------------


def may_read(user: StaffUser, story: Story) -> bool:
    """Administrators and auditors read stories (of their tree: ``load``); a clerk only
    their own bureau's."""
    if user.role in (Role.city_admin, Role.auditor):
        return True
    return user.role is Role.county_clerk and story.bureau == user.bureau_id


def may_edit(user: StaffUser, story: Story) -> bool:
    """The city edits any story; a county its own drafts and returned stories."""
    if user.role is Role.city_admin:
        return True
    return (
        user.role is Role.county_clerk
        and story.bureau == user.bureau_id
        and StoryStatus(story.status) in EDITABLE_BY_COUNTY
    )


def may_submit(user: StaffUser, story: Story) -> bool:
    return (
        user.role is Role.county_clerk
        and story.bureau == user.bureau_id
        and StoryStatus(story.status) in EDITABLE_BY_COUNTY
    )


def may_publish(user: StaffUser, story: Story) -> bool:
    """Submitted county stories, the city's own drafts, and stories taken down."""
    if user.role is not Role.city_admin:
        return False
    status = StoryStatus(story.status)
    if status is StoryStatus.draft:
        return not story.by_county
    return status in (StoryStatus.submitted, StoryStatus.withdrawn)


async def scope_query(user: StaffUser, query: Any) -> Any:
    """Restrict a story query to what the user may read: administrators and auditors
    the stories of their bureau and those below it, a clerk their own bureau's."""
    if user.role in (Role.city_admin, Role.auditor):
        return query.where(Story.bureau.is_in(list(await bureau_ids_within(user.bureau_id))))
    if user.role is Role.county_clerk:
        return query.where(Story.bureau == user.bureau_id)
    return query.where(Story.id == -1)


async def load(user: StaffUser, story_id: int) -> Story:
    """The story, if this user may read it; another county's is reported as missing."""
    story = await Story.objects().where(Story.id == story_id).first().run()
    if story is None or not may_read(user, story):
        raise Hidden(story_id)
    if user.role in (Role.city_admin, Role.auditor) and story.bureau not in (
        await bureau_ids_within(user.bureau_id)
    ):
        raise Hidden(story_id)  # another organisation's
    return story


async def candidate_ids_of(story_id: int) -> list[int]:
    rows = (
        await StoryCandidate.select(StoryCandidate.candidate)
        .where(StoryCandidate.story == story_id)
        .order_by(StoryCandidate.position)
        .run()
    )
    return [row["candidate"] for row in rows]


# --- checking a form -------------------------------------------------------------------


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def _ids(values: Any) -> tuple[list[int], bool]:
    """Distinct positive ints in order, and whether anything else was sent."""
    ids: list[int] = []
    bad = False
    for raw in values or []:
        try:
            value = int(str(raw))
        except ValueError:
            bad = True
            continue
        if value < 1:
            bad = True
        elif value not in ids:
            ids.append(value)
    return ids, bad


async def clean(user: StaffUser, data: dict[str, Any]) -> tuple[Cleaned | None, dict[str, str]]:
    """Check a story form (``candidates`` is a list of nomination ids); errors by field.

    A county clerk's story is always of their own county; the city chooses the bureau
    (the city bureau itself for a city-wide story). Linked candidates must be
    shortlisted in the linked campaign.
    """
    errors: dict[str, str] = {}
    kind = _text(data, "kind")
    if kind not in {k.value for k in StoryKind}:
        errors["kind"] = "请选择稿件类型（典型案例或先进事迹）。"
    title = _text(data, "title")
    if not title:
        errors["title"] = "请填写标题。"
    elif len(title) > MAX_TITLE:
        errors["title"] = f"标题不能超过 {MAX_TITLE} 字（现为 {len(title)} 字）。"
    elif hidden := line_error("标题", title):
        errors["title"] = hidden
    body = data.get("body") if isinstance(data.get("body"), str) else ""
    body = body.replace("\r\n", "\n").strip()
    if len(body) > MAX_BODY:
        errors["body"] = f"正文不能超过 {MAX_BODY} 字（现为 {len(body)} 字）。"

    bureau_id = user.bureau_id
    if user.role is Role.city_admin:
        try:
            wanted = int(_text(data, "bureau"))
        except ValueError:
            wanted = 0
        if wanted not in await bureau_ids_within(user.bureau_id):
            errors["bureau"] = "请选择稿件所属的单位（不属于某个下级单位的稿件选择本级）。"
        bureau_id = wanted

    campaign_id: int | None = None
    slug = _text(data, "campaign")
    if slug:
        campaign = await Campaign.objects().where(Campaign.slug == slug).first().run()
        if campaign is None or not await seen_by(user, campaign):
            errors["campaign"] = "找不到该评选活动，请重新选择。"
        else:
            campaign_id = campaign.id

    candidate_ids, bad = _ids(data.get("candidates"))
    if bad:
        errors["candidates"] = "所选候选对象有误，请重新选择。"
    elif len(candidate_ids) > MAX_CANDIDATES:
        errors["candidates"] = f"一篇稿件最多关联 {MAX_CANDIDATES} 个候选对象。"
    elif candidate_ids and campaign_id is None and "campaign" not in errors:
        errors["candidates"] = "关联候选对象前，请先选择其所属的评选活动。"
    elif candidate_ids and campaign_id is not None:
        found_ids = {
            row["id"]
            for row in await Nomination.select(Nomination.id)
            .where(Nomination.id.is_in(candidate_ids) & shortlisted_in(campaign_id))
            .run()
        }
        if found_ids != set(candidate_ids):
            errors["candidates"] = "所选候选对象不在该评选活动的入围名单中，请重新选择。"
    if errors:
        return None, errors
    return Cleaned(kind, title, body, bureau_id, campaign_id, tuple(candidate_ids)), {}


def complete(story: Story) -> dict[str, str]:
    """What submitting or publishing needs beyond what a draft may lack."""
    errors = {}
    if not story.body.strip():
        errors["body"] = "请填写正文。"
    return errors


# --- drafting and editing --------------------------------------------------------------


async def create(
    actor: Actor,
    user: StaffUser,
    data: dict[str, Any],
    cover: tuple[str, str] | None = None,
) -> Story:
    """A new draft: the city's, or a county clerk's for their own county (audited)."""
    if user.role not in (Role.city_admin, Role.county_clerk):
        raise StoryError("您的角色不能撰写稿件。")
    cleaned, errors = await clean(user, data)
    if cleaned is None:
        raise StoryError("请修改标出的问题后再保存。", errors)
    story = Story(
        **cleaned.columns(),
        status=StoryStatus.draft.value,
        by_county=user.role is Role.county_clerk,
        created_by=user.id,
    )
    if cover:
        story.cover, story.cover_thumbnail = cover
    async with write_transaction():
        await story.save().run()
        await _link(story.id, cleaned.candidate_ids)
        after = {
            "status": story.status,
            "kind": story.kind,
            "title": story.title,
            "candidates": list(cleaned.candidate_ids),
        }
        if cover:
            after["cover"] = "已上传"
        await audit.record(actor, "story.create", story, after=after)
    return story


async def update(
    actor: Actor,
    user: StaffUser,
    story: Story,
    data: dict[str, Any],
    cover: tuple[str, str] | None = None,
    remove_cover: bool = False,
) -> list[str]:
    """Save an edited story in one transaction, audited with what changed.

    Returns the stored names of the cover files that were replaced or removed, for the
    caller to delete once the change is committed.
    """
    if not may_edit(user, story):
        raise StoryError("当前状态下您不能修改该稿件。")
    cleaned, errors = await clean(user, data)
    if cleaned is None:
        raise StoryError("请修改标出的问题后再保存。", errors)
    columns = cleaned.columns()
    before = {key: getattr(story, key) for key in columns}
    old_candidates = await candidate_ids_of(story.id)
    old, new = audit.changed_fields(before, columns)
    if old_candidates != list(cleaned.candidate_ids):
        old["candidates"], new["candidates"] = old_candidates, list(cleaned.candidate_ids)
    replaced: list[str] = []
    if (cover or remove_cover) and story.cover:
        replaced = [story.cover, story.cover_thumbnail]
    if cover:
        columns["cover"], columns["cover_thumbnail"] = cover
        new["cover"] = "已更换" if story.cover else "已上传"
    elif remove_cover and story.cover:
        columns["cover"] = columns["cover_thumbnail"] = ""
        new["cover"] = "已删除"
    if not new:
        return []
    stamp = utc_now()
    async with write_transaction():
        changes = {Story._meta.get_column_by_name(k): v for k, v in columns.items()}
        changes[Story.updated_at] = stamp
        # Only from the state the user saw: a story published meanwhile is not
        # silently changed by a county's stale form.
        updated = (
            await Story.update(changes)
            .where((Story.id == story.id) & (Story.status == story.status))
            .returning(Story.id)
            .run()
        )
        if not updated:
            raise StoryError("该稿件的状态已变化，请刷新页面后再修改。")
        if "candidates" in new:
            await StoryCandidate.delete().where(StoryCandidate.story == story.id).run()
            await _link(story.id, cleaned.candidate_ids)
        await audit.record(actor, "story.update", story, before=old, after=new)
    for key, value in columns.items():
        setattr(story, key, value)
    story.updated_at = stamp
    return replaced


async def _link(story_id: int, candidate_ids: tuple[int, ...]) -> None:
    if candidate_ids:
        await StoryCandidate.insert(
            *[
                StoryCandidate(story=story_id, candidate=cid, position=i)
                for i, cid in enumerate(candidate_ids)
            ]
        ).run()
