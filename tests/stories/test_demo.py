"""The demo series: a dozen published stories numbered in order, a draft, a submission."""

from __future__ import annotations

import datetime as dt

from nominations.tables import Nomination
from portal.tables import AuditEntry, Bureau, Campaign, Phase
from stories import demo
from stories.tables import Story, StoryCandidate
from tests.stories.conftest import World
from tests.stories.test_feed import assert_valid_atom


async def all_stories() -> list[Story]:
    return await Story.objects().order_by(Story.id).run()


async def test_demo_stories_are_published_in_order_and_idempotent(client, world: World) -> None:
    await demo.ensure_demo_stories(world.campaign.id)
    stories = await all_stories()
    published = [s for s in stories if s.status == "published"]
    assert len(published) == 12 == len(demo.PUBLISHED)
    assert [s.series_no for s in published] == list(range(1, 13))
    dates = [s.published_at for s in published]
    assert dates == sorted(dates) and len(set(dates)) == 12
    assert dates[-1] <= dt.datetime.now(dt.UTC)
    assert {s.kind for s in published} == {"case", "deeds"}
    counties = {
        row["county"]
        for row in await Bureau.select(Bureau.short_name.as_alias("county"))
        .where(Bureau.id.is_in([s.bureau for s in published]))
        .run()
    }
    assert len(counties) == 8  # the seven counties and the city

    others = sorted((s.status, s.by_county, s.series_no) for s in stories if s not in published)
    assert others == [("draft", True, None), ("submitted", True, None)]

    for story in stories:
        paragraphs = [p for p in story.body.split("\n\n") if p.strip()]
        assert 3 <= len(paragraphs) <= 6, story.title
        assert "{" not in story.title + story.body, story.title
        links = await StoryCandidate.select(StoryCandidate.candidate).where(
            StoryCandidate.story == story.id
        )
        assert links, story.title
        for link in links:
            candidate = await Nomination.objects().where(Nomination.id == link["candidate"]).first()
            assert (candidate.campaign, candidate.status) == (world.campaign.id, "shortlisted")
        names = [
            (await Nomination.objects().where(Nomination.id == link["candidate"]).first()).name
            for link in links
        ]
        assert names[0] in story.title + story.body, story.title

    # Running it again changes nothing.
    entries = await AuditEntry.count().run()
    await demo.ensure_demo_stories(world.campaign.id)
    assert [(s.id, s.status, s.series_no) for s in await all_stories()] == [
        (s.id, s.status, s.series_no) for s in stories
    ]
    assert await AuditEntry.count().run() == entries

    # The public side shows them: the list, the feed, an honouree's page.
    listing = await client.get("/stories")
    assert "共 12 篇" in listing.text
    feed = await client.get("/stories/feed.atom")
    assert len(assert_valid_atom(feed.content).findall("{http://www.w3.org/2005/Atom}entry")) == 12
    link = await StoryCandidate.objects().where(StoryCandidate.story == published[1].id).first()
    page = await client.get(f"/campaigns/{world.campaign.slug}/candidates/{link.candidate}")
    assert f'href="/stories/{published[1].id}"' in page.text


async def test_demo_stories_without_candidates_still_read_well(world: World) -> None:
    empty = Campaign(slug="empty-2021", title="空活动", year=2021, phase=Phase.published.value)
    await empty.save().run()
    await demo.ensure_demo_stories(empty.id)
    stories = await Story.objects().where(Story.campaign == empty.id).run()
    assert len(stories) == 14
    assert await StoryCandidate.count().run() == 0
    assert all("{" not in s.title + s.body for s in stories)


async def test_each_demo_story_fits_the_nominations_it_names(demo_loaded) -> None:  # type: ignore[no-untyped-def]
    """As `portal demo` loads them: a county's story is about candidates of that county,
    and the case fits the unit's field (a traffic committee mediates traffic cases)."""
    stories = await Story.objects().order_by(Story.id).run()
    assert stories
    for story in stories:
        if story.status == "published":
            plan = demo.PUBLISHED[story.series_no - 1]
        else:
            plan = demo.UNPUBLISHED[0 if story.status == "draft" else 1]
        assert plan.title.split("{")[0] in story.title
        bureau = await Bureau.objects().where(Bureau.id == story.bureau).first()
        links = (
            await StoryCandidate.select(StoryCandidate.candidate)
            .where(StoryCandidate.story == story.id)
            .order_by(StoryCandidate.position)
        )
        assert len(links) == len(plan.about), story.title
        rows = [
            await Nomination.select(
                Nomination.name,
                Nomination.committee,
                Nomination.category.kind.as_alias("kind"),
                Nomination.bureau.short_name.as_alias("county"),
            )
            .where(Nomination.id == link["candidate"])
            .first()
            for link in links
        ]
        assert [row["kind"] for row in rows] == list(plan.about), story.title
        # The county of the issue is its subject's; a city story is about one county.
        expected = {bureau.short_name} if plan.county else {rows[0]["county"]}
        assert {row["county"] for row in rows} == expected, (story.title, rows)
        assert plan.county in ("", bureau.short_name), story.title
        assert demo.field_of(rows[0]) in plan.fields, (story.title, rows[0])
        assert rows[0]["name"] in story.title + story.body
