"""The way of a story to publication: drafting, submitting, returning, numbering, taking down."""

from __future__ import annotations

import asyncio

import pytest

from portal.db import is_unique_violation
from portal.errors import Hidden
from portal.tables import AuditEntry, CategoryKind
from stories import publishing, reading, services
from stories.services import StoryError
from stories.tables import Story, StoryCandidate
from tests.factories import actor_for
from tests.stories.conftest import World


async def stored(story: Story) -> Story:
    return await Story.objects().where(Story.id == story.id).first().run()


async def actions(story: Story) -> list[str]:
    rows = (
        await AuditEntry.select(AuditEntry.action)
        .where((AuditEntry.object_type == "story") & (AuditEntry.object_id == str(story.id)))
        .order_by(AuditEntry.id)
        .run()
    )
    return [r["action"] for r in rows]


async def test_a_clerk_drafts_submits_and_the_city_publishes_with_the_next_number(
    world: World,
) -> None:
    mediator = world.candidate("安定区", CategoryKind.mediator)
    story = await world.draft(
        world.clerk,
        kind="deeds",
        title="扎根乡村的“和事佬”",
        campaign=world.campaign.slug,
        candidates=[str(mediator.id)],
        # A clerk cannot place the story in another county: the bureau is theirs.
        bureau=str(world.bureaus["通渭县"]),
    )
    assert (story.status, story.by_county, story.series_no) == ("draft", True, None)
    assert story.bureau == world.bureaus["安定区"]
    assert await services.candidate_ids_of(story.id) == [mediator.id]

    # The city does not publish a county's draft before the county submits it.
    with pytest.raises(StoryError, match="下级单位的稿件须由其报送后才能发布"):
        await publishing.publish(actor_for(world.admin), world.admin, story)

    await publishing.submit(actor_for(world.clerk), world.clerk, story)
    assert (await stored(story)).status == "submitted"
    await publishing.publish(actor_for(world.admin), world.admin, story)
    row = await stored(story)
    assert (row.status, row.series_no) == ("published", 1)
    assert row.published_at is not None
    assert await actions(story) == ["story.create", "story.submit", "story.publish"]

    second = await world.published()
    assert second.series_no == 2
    assert await publishing.next_series_no() == 3


async def test_the_city_returns_a_submission_with_a_reason(world: World) -> None:
    story = await world.draft(world.clerk)
    await publishing.submit(actor_for(world.clerk), world.clerk, story)
    with pytest.raises(StoryError) as refused:
        await publishing.return_to_county(actor_for(world.admin), world.admin, story, "  ")
    assert refused.value.errors == {"reason": "请填写退回意见。"}
    assert (await stored(story)).status == "submitted"

    await publishing.return_to_county(
        actor_for(world.admin), world.admin, story, "请补充调解协议的履行情况。"
    )
    row = await stored(story)
    assert (row.status, row.reason) == ("returned", "请补充调解协议的履行情况。")
    # Back with the county: it edits and submits again; the city publishes.
    assert services.may_edit(world.clerk, row)
    await services.update(
        actor_for(world.clerk),
        world.clerk,
        row,
        {"kind": "case", "title": row.title, "body": row.body + "\n\n协议已全部履行。"},
    )
    await publishing.submit(actor_for(world.clerk), world.clerk, row)
    await publishing.publish(actor_for(world.admin), world.admin, row)
    assert (await stored(story)).series_no == 1
    assert await actions(story) == [
        "story.create",
        "story.submit",
        "story.return",
        "story.update",
        "story.submit",
        "story.publish",
    ]


async def test_submitting_needs_a_body(world: World) -> None:
    story = await world.draft(world.clerk, body="")
    with pytest.raises(StoryError) as refused:
        await publishing.submit(actor_for(world.clerk), world.clerk, story)
    assert refused.value.errors == {"body": "请填写正文。"}
    assert (await stored(story)).status == "draft"


async def test_form_errors_are_given_per_field_in_chinese(world: World) -> None:
    _, errors = await services.clean(
        world.admin,
        {
            "kind": "poem",
            "title": "标" * 121,
            "body": "正文",
            "bureau": "999999",
            "campaign": "no-such-campaign",
            "candidates": ["abc"],
        },
    )
    assert errors == {
        "kind": "请选择稿件类型（典型案例或先进事迹）。",
        "title": "标题不能超过 120 字（现为 121 字）。",
        "bureau": "请选择稿件所属的单位（不属于某个下级单位的稿件选择本级）。",
        "campaign": "找不到该评选活动，请重新选择。",
        "candidates": "所选候选对象有误，请重新选择。",
    }
    with pytest.raises(StoryError):
        await world.draft(title="")
    assert await Story.count().run() == 0


async def test_only_shortlisted_candidates_of_the_linked_campaign_may_be_linked(
    world: World,
) -> None:
    candidate = world.candidate("通渭县", CategoryKind.mediator)
    _, errors = await services.clean(
        world.admin,
        {
            "kind": "case",
            "title": "标题",
            "bureau": str(world.bureaus[""]),
            "candidates": [str(candidate.id)],
        },
    )
    assert errors == {"candidates": "关联候选对象前，请先选择其所属的评选活动。"}
    candidate.status = "rejected"
    await candidate.save().run()
    _, errors = await services.clean(
        world.admin,
        {
            "kind": "case",
            "title": "标题",
            "bureau": str(world.bureaus[""]),
            "campaign": world.campaign.slug,
            "candidates": [str(candidate.id)],
        },
    )
    assert errors == {"candidates": "所选候选对象不在该评选活动的入围名单中，请重新选择。"}


async def test_a_clerk_reads_and_edits_only_their_own_county(world: World) -> None:
    story = await world.draft(world.clerk)
    with pytest.raises(Hidden):
        await services.load(world.other_clerk, story.id)
    assert not services.may_edit(world.other_clerk, story)
    with pytest.raises(StoryError):
        await services.update(
            actor_for(world.other_clerk), world.other_clerk, story, {"kind": "case", "title": "x"}
        )
    with pytest.raises(StoryError):
        await publishing.submit(actor_for(world.other_clerk), world.other_clerk, story)
    # Nor does the clerk edit their own story once it is submitted.
    await publishing.submit(actor_for(world.clerk), world.clerk, story)
    assert not services.may_edit(world.clerk, await stored(story))
    # The auditor reads it, and may change nothing.
    assert (await services.load(world.auditor, story.id)).id == story.id
    assert not services.may_edit(world.auditor, story)
    with pytest.raises(StoryError):
        await publishing.publish(actor_for(world.auditor), world.auditor, story)
    listed = await reading.staff_page(world.other_clerk, None)
    assert listed.total == 0
    assert (await reading.staff_page(world.auditor, None)).total == 1


async def test_taking_down_keeps_the_number_and_never_gives_it_again(world: World) -> None:
    first = await world.published(title="第一篇")
    second = await world.published(title="第二篇")
    with pytest.raises(StoryError, match="请填写撤下原因"):
        await publishing.unpublish(actor_for(world.admin), world.admin, second, "")
    await publishing.unpublish(actor_for(world.admin), world.admin, second, "当事人要求隐去信息")
    assert ((await stored(second)).status, (await stored(second)).series_no) == ("withdrawn", 2)
    third = await world.published(title="第三篇")
    assert (first.series_no, third.series_no) == (1, 3)
    # Published again, the story keeps its own number.
    await publishing.publish(actor_for(world.admin), world.admin, await stored(second))
    assert (await stored(second)).series_no == 2
    assert await publishing.next_series_no() == 4


async def test_editing_a_story_replaces_its_candidates_and_is_audited_once(world: World) -> None:
    one = world.candidate("安定区", CategoryKind.mediator)
    two = world.candidate("安定区", CategoryKind.mediation_committee)
    story = await world.draft(campaign=world.campaign.slug, candidates=[str(one.id)])
    data = {
        "kind": "deeds",
        "title": "新标题",
        "body": story.body,
        "bureau": str(world.bureaus["安定区"]),
        "campaign": world.campaign.slug,
        "candidates": [str(two.id), str(one.id)],
    }
    await services.update(actor_for(world.admin), world.admin, story, data)
    assert await services.candidate_ids_of(story.id) == [two.id, one.id]
    entry = (
        await AuditEntry.objects()
        .where(AuditEntry.action == "story.update")
        .output(load_json=True)
        .first()
        .run()
    )
    assert entry.after == {
        "kind": "deeds",
        "title": "新标题",
        "bureau": world.bureaus["安定区"],
        "candidates": [two.id, one.id],
    }
    # Saving the same values again changes nothing and records nothing.
    await services.update(actor_for(world.admin), world.admin, await stored(story), data)
    assert await actions(story) == ["story.create", "story.update"]


# --- the series number under concurrency ------------------------------------------------


async def test_concurrent_publications_never_share_a_number(world: World) -> None:
    await world.published(title="已有的一期")
    stories = []
    for i in range(8):
        story = await world.draft(world.clerk, title=f"同时报送 {i}")
        await publishing.submit(actor_for(world.clerk), world.clerk, story)
        stories.append(story)
    await asyncio.gather(
        *(publishing.publish(actor_for(world.admin), world.admin, s) for s in stories)
    )
    numbers = sorted([(await stored(s)).series_no for s in stories])
    assert numbers == list(range(2, 10))
    assert await AuditEntry.count().where(AuditEntry.action == "story.publish").run() == 9


async def test_the_database_refuses_a_duplicate_number(world: World) -> None:
    first = await world.published()
    second = await world.published()
    with pytest.raises(Exception) as refused:
        await Story.update({Story.series_no: first.series_no}).where(Story.id == second.id).run()
    assert is_unique_violation(refused.value)


async def test_a_publication_that_loses_the_race_takes_the_next_number(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should two writers read the same highest number, the unique index refuses the
    second and the publication is retried with the number after it."""
    first = await world.published()
    story = await world.draft(title="后到的一篇")
    real = publishing.next_series_no
    calls = []

    async def stale() -> int:
        calls.append(1)
        return first.series_no if len(calls) == 1 else await real()

    monkeypatch.setattr(publishing, "next_series_no", stale)
    await publishing.publish(actor_for(world.admin), world.admin, story)
    assert len(calls) == 2
    assert (await stored(story)).series_no == first.series_no + 1
    assert await AuditEntry.count().where(AuditEntry.action == "story.publish").run() == 2


async def test_linked_candidates_are_unique_per_story(world: World) -> None:
    one = world.candidate("岷县", CategoryKind.mediator)
    story = await world.draft(campaign=world.campaign.slug, candidates=[str(one.id), str(one.id)])
    assert await services.candidate_ids_of(story.id) == [one.id]
    with pytest.raises(Exception) as refused:
        await StoryCandidate.insert(StoryCandidate(story=story.id, candidate=one.id)).run()
    assert is_unique_violation(refused.value)


async def test_summary_is_plain_text_of_the_rendered_markdown(world: World) -> None:
    text = "## 小标题\n\n**张某**与李某因<script>alert(1)</script>地界发生纠纷。" + "很长" * 80
    summary = reading.summary(text)
    assert summary.startswith("小标题 张某与李某因<script>alert(1)</script>地界")
    assert summary.endswith("…") and len(summary) == reading.SUMMARY_CHARS + 1
