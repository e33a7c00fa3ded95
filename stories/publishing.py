"""The way of a story to publication: submitting, returning, taking down, and publishing
with the next series number (第N期).

Numbering is exact under concurrency: the number is read and written in one write
transaction under the series lock, and a unique index on ``Story.series_no`` refuses a
duplicate should anything slip past (the loser takes the next number).
"""

from __future__ import annotations

from typing import Any

from portal import audit
from portal.accounts import StaffUser
from portal.audit import Actor
from portal.clock import utc_now
from portal.db import advisory_lock, is_unique_violation, write_transaction
from portal.tables import Role
from stories.services import (
    EDITABLE_BY_COUNTY,
    MAX_REASON,
    StoryError,
    complete,
    may_publish,
    may_submit,
)
from stories.tables import Story, StoryStatus

# Publications racing for the same number: each round at least one of them wins.
PUBLISH_ATTEMPTS = 30
# Distinguishes the series' advisory lock from any other use of pg_advisory locks.
SERIES_LOCK = (0x53746F72, 1)  # "Stor"


async def submit(actor: Actor, user: StaffUser, story: Story) -> Story:
    """A county clerk submits their county's draft (or returned story) for publication."""
    if not may_submit(user, story):
        if user.role is Role.county_clerk and story.bureau == user.bureau_id:
            raise StoryError(f"「{StoryStatus.label_of(story.status)}」状态的稿件不能报送。")
        raise StoryError("只有本单位经办人可以报送稿件。")
    errors = complete(story)
    if errors:
        raise StoryError("稿件还不完整，请补充后再报送。", errors)
    stamp = utc_now()
    await _change_status(
        actor,
        story,
        StoryStatus.submitted,
        "story.submit",
        {Story.submitted_at: stamp, Story.reason: ""},
    )
    story.submitted_at = stamp
    story.reason = ""
    return story


async def return_to_county(actor: Actor, user: StaffUser, story: Story, reason: str) -> Story:
    """The city sends a submitted story back to its county, saying why."""
    if user.role is not Role.city_admin:
        raise StoryError("只有管理员可以退回稿件。")
    if story.status != StoryStatus.submitted.value:
        raise StoryError(
            f"只有待发布的稿件可以退回（当前：{StoryStatus.label_of(story.status)}）。"
        )
    reason = _reason(reason, "退回意见")
    await _change_status(actor, story, StoryStatus.returned, "story.return", {}, reason)
    return story


async def unpublish(actor: Actor, user: StaffUser, story: Story, reason: str) -> Story:
    """The city takes a published story down. It keeps its series number: 第N期 stays
    its number if it is published again, and no other story ever gets it."""
    if user.role is not Role.city_admin:
        raise StoryError("只有管理员可以撤下稿件。")
    if story.status != StoryStatus.published.value:
        raise StoryError(
            f"只有已发布的稿件可以撤下（当前：{StoryStatus.label_of(story.status)}）。"
        )
    reason = _reason(reason, "撤下原因")
    await _change_status(actor, story, StoryStatus.withdrawn, "story.unpublish", {}, reason)
    return story


def _reason(reason: str, label: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise StoryError(f"请填写{label}。", {"reason": f"请填写{label}。"})
    if len(reason) > MAX_REASON:
        message = f"{label}不能超过 {MAX_REASON} 字。"
        raise StoryError(message, {"reason": message})
    return reason


async def _change_status(
    actor: Actor,
    story: Story,
    new: StoryStatus,
    action: str,
    extra: dict[Any, Any],
    reason: str | None = None,
) -> None:
    old = story.status
    stamp = utc_now()
    changes: dict[Any, Any] = {Story.status: new.value, Story.updated_at: stamp, **extra}
    if reason is not None:
        changes[Story.reason] = reason
    async with write_transaction():
        updated = (
            await Story.update(changes)
            .where((Story.id == story.id) & (Story.status == old))
            .returning(Story.id)
            .run()
        )
        if not updated:
            raise StoryError("该稿件的状态已变化，请刷新页面。")
        after: dict[str, Any] = {"status": new.value}
        if reason:
            after["reason"] = reason
        await audit.record(actor, action, story, before={"status": old}, after=after)
    story.status = new.value
    story.updated_at = stamp
    if reason is not None:
        story.reason = reason


async def publish(actor: Actor, user: StaffUser, story: Story) -> Story:
    """The city publishes a story; the first publication gives it the next series number.

    The number is the highest ever given plus one, read and written in one write
    transaction that holds the series lock (PostgreSQL advisory lock; SQLite's single
    writer); the unique index on ``series_no`` refuses a duplicate should anything slip
    past, and the loser simply takes the next number.
    """
    if user.role is not Role.city_admin:
        raise StoryError("只有管理员可以发布稿件。")
    if not may_publish(user, story):
        status = StoryStatus(story.status)
        if status in EDITABLE_BY_COUNTY and story.by_county:
            raise StoryError("下级单位的稿件须由其报送后才能发布。")
        raise StoryError(f"「{StoryStatus.label_of(status)}」状态的稿件不能发布。")
    errors = complete(story)
    if errors:
        raise StoryError("稿件还不完整，请补充后再发布。", errors)
    published = await publish_numbered(actor, story.id, StoryStatus(story.status))
    for name in ("status", "series_no", "published_at", "updated_at", "reason"):
        setattr(story, name, getattr(published, name))
    return story


async def publish_numbered(actor: Actor, story_id: int, expected: StoryStatus) -> Story:
    """Publish the story (in state ``expected``) with its number; retries lost races."""
    for _ in range(PUBLISH_ATTEMPTS):
        try:
            return await _publish_once(actor, story_id, expected)
        except Exception as exc:
            if not is_unique_violation(exc):
                raise
            # Another publication took this number a moment earlier: take the next.
    raise StoryError("同时发布的稿件较多，请稍后重试。")


async def _publish_once(actor: Actor, story_id: int, expected: StoryStatus) -> Story:
    async with write_transaction():
        await advisory_lock(*SERIES_LOCK)
        story = await Story.objects().where(Story.id == story_id).first().run()
        if story is None or story.status != expected.value:
            raise StoryError("该稿件的状态已变化，请刷新页面。")
        number = story.series_no
        if number is None:
            number = await next_series_no()
        stamp = utc_now()
        story.status = StoryStatus.published.value
        story.series_no = number
        story.published_at = story.published_at or stamp
        story.updated_at = stamp
        story.reason = ""
        await (
            Story.update(
                {
                    Story.status: story.status,
                    Story.series_no: number,
                    Story.published_at: story.published_at,
                    Story.updated_at: stamp,
                    Story.reason: "",
                }
            )
            .where((Story.id == story_id) & (Story.status == expected.value))
            .run()
        )
        await audit.record(
            actor,
            "story.publish",
            story,
            before={"status": expected.value},
            after={"status": story.status, "series_no": number},
        )
    return story


async def next_series_no() -> int:
    """The number the next first publication gets: one past the highest ever given."""
    row = (
        await Story.select(Story.series_no)
        .where(Story.series_no.is_not_null())
        .order_by(Story.series_no, ascending=False)
        .first()
        .run()
    )
    return (row["series_no"] if row else 0) + 1
