"""What the story series asks of a staff member now (the staff home's to-dos): a
clerk's stories to finish or mend and submit, the administrator's submitted stories to
publish or return: those of the bureaus directly below its own (a province's
administrator is not asked to publish a county's story that its city handles). Each in
the user's scope only (``services.scope_query``)."""

from __future__ import annotations

from typing import Any

from portal.accounts import StaffUser
from portal.tables import Role
from portal.todo import Todo
from stories.services import scope_query
from stories.tables import Story, StoryStatus


async def _stories(user: StaffUser, statuses: tuple[StoryStatus, ...], *where: Any) -> list[dict]:
    query = Story.select(Story.id, Story.title, Story.status, Story.reason).where(
        Story.status.is_in([s.value for s in statuses]) & (Story.by_county == True),  # noqa: E712
        *where,
    )
    return await (await scope_query(user, query)).order_by(Story.id).run()


async def reminders(user: StaffUser) -> list[Todo]:
    """``Extensions.staff_reminders`` of the stories app."""
    if user.role is Role.county_clerk:
        found = []
        for row in await _stories(user, (StoryStatus.draft, StoryStatus.returned)):
            title = row["title"] or "（未填写标题）"
            if row["status"] == StoryStatus.returned.value:
                text = f"典型案例「{title}」被市局退回修改，退回意见：{row['reason']}"
            else:
                text = f"典型案例「{title}」尚未报送市局"
            found.append(Todo(text, f"/staff/stories/{row['id']}"))
        return found
    if user.role is Role.city_admin:
        waiting = await _stories(
            user, (StoryStatus.submitted,), Story.bureau.parent == user.bureau_id
        )
        if waiting:
            return [Todo(f"{len(waiting)} 篇县区报送的典型案例待审核发布", "/staff/stories")]
    return []
