"""The story series on the staff home's to-dos: a clerk's own drafts and returned stories,
the city's submissions to publish; another county's never shown."""

from __future__ import annotations

from stories import publishing, todo
from tests.factories import actor_for
from tests.stories.conftest import World


async def texts(user) -> list[str]:  # type: ignore[no-untyped-def]
    return [item.text for item in await todo.reminders(user)]


async def test_each_step_of_a_story_asks_the_right_person(world: World) -> None:
    story = await world.draft(world.clerk, title="一起宅基地纠纷的调解")
    assert await texts(world.clerk) == ["典型案例「一起宅基地纠纷的调解」尚未报送市局"]
    assert (await todo.reminders(world.clerk))[0].href == f"/staff/stories/{story.id}"
    assert await texts(world.other_clerk) == []
    assert await texts(world.admin) == []
    # The city's own draft is nobody's to-do but its own business: not listed.
    await world.draft(title="市局自撰稿件")
    assert await texts(world.admin) == []

    await publishing.submit(actor_for(world.clerk), world.clerk, story)
    assert await texts(world.clerk) == []
    assert await texts(world.admin) == ["1 篇县区报送的典型案例待审核发布"]
    assert await texts(world.auditor) == []

    await publishing.return_to_county(
        actor_for(world.admin), world.admin, story, "请补充调解协议的履行情况。"
    )
    assert await texts(world.clerk) == [
        "典型案例「一起宅基地纠纷的调解」被市局退回修改，退回意见：请补充调解协议的履行情况。"
    ]
    assert await texts(world.admin) == []

    await publishing.submit(actor_for(world.clerk), world.clerk, story)
    await publishing.publish(actor_for(world.admin), world.admin, story)
    assert await texts(world.clerk) == [] and await texts(world.admin) == []
