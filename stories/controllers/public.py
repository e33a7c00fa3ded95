"""Public pages of the story series: the list, a story, the Atom feed, the covers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import File, Template

from portal.errors import not_found
from portal.identity import identity_of
from portal.markdown import render
from portal.origin import absolute_url
from portal.stores import Stores
from portal.web.files import serve
from stories import feed, reading
from stories.tables import Story, StoryKind

FEED_PATH = "/stories/feed.atom"
FEED_ENTRIES = 20
SHARE_SUMMARY_CHARS = 120


async def public_story(story_id: int) -> Story:
    story = await reading.published_story(story_id)
    if story is None:
        raise not_found("找不到该稿件，可能尚未发布或已撤下。")
    return story


class StoryPages(Controller):
    include_in_schema = False

    @get("/stories", name="story_list")
    async def index(
        self,
        kind: FromQuery[str | None] = None,
        county: FromQuery[str | None] = None,
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> Template:
        counties = await reading.county_choices()
        kind = kind if kind in {k.value for k in StoryKind} else ""
        county = county if county in counties else ""
        try:
            listing = await reading.published_page(kind, county, page)
        except reading.PageNotFound:
            raise not_found("没有这一页。") from None
        return Template(
            "stories/list.html",
            context={
                "listing": listing,
                "kinds": StoryKind,
                "counties": counties,
                "filters": {"kind": kind, "county": county},
                "feed_path": FEED_PATH,
            },
        )

    @get(FEED_PATH, name="story_feed")
    async def atom(self, request: Request) -> Response:
        entries = []
        for row in await reading.feed_stories(FEED_ENTRIES):
            label = StoryKind.label_of(row["kind"])
            entries.append(
                feed.Entry(
                    url=absolute_url(request, f"/stories/{row['id']}"),
                    title=f"第{row['series_no']}期｜{label}｜{row['title']}",
                    published=row["published_at"],
                    updated=max(row["updated_at"], row["published_at"]),
                    author=row["bureau_name"],
                    summary=reading.summary(row["body"], SHARE_SUMMARY_CHARS),
                    content_html=str(render(row["body"])),
                    category=row["kind"],
                    category_label=label,
                )
            )
        body = feed.build_feed(
            feed_url=absolute_url(request, FEED_PATH),
            list_url=absolute_url(request, "/stories"),
            entries=entries,
            generated_at=dt.datetime.now(dt.UTC),
            identity=await identity_of(request),
        )
        return Response(
            body,
            media_type=f"{feed.MEDIA_TYPE}; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300"},
        )

    @get("/stories/{story_id:int}", name="story_page")
    async def story(
        self, request: Request, stores: NamedDependency[Stores], story_id: FromPath[int]
    ) -> Template:
        story = await public_story(story_id)
        store = stores.state
        await reading.count_view(store, story.id)
        bureau = await reading.bureau_of(story)
        page = f"/stories/{story.id}"
        cover = f"/media/stories/{story.id}/cover.jpg" if story.cover else None
        return Template(
            "stories/story.html",
            context={
                "story": story,
                "kind_label": StoryKind.label_of(story.kind),
                "county_label": reading.county_label(bureau.short_name, bureau.parent),
                "bureau": bureau,
                "campaign": await reading.public_campaign_of(story),
                "candidates": await reading.linked_candidates(story.id),
                "body_html": render(story.body),
                "views": await reading.views(store, story),
                "cover_url": cover,
                "feed_path": FEED_PATH,
                "share": {
                    "url": absolute_url(request, page),
                    "image": absolute_url(request, cover) if cover else None,
                    "summary": reading.summary(story.body, SHARE_SUMMARY_CHARS),
                },
            },
        )


class StoryMedia(Controller):
    """Covers of published stories."""

    path = "/media/stories/{story_id:int}"
    include_in_schema = False

    @get("/cover.jpg", name="story_cover")
    async def cover(self, request: Request, story_id: FromPath[int]) -> File:
        story = await public_story(story_id)
        return serve(request, story.cover, public=True)

    @get("/thumbnail.jpg", name="story_thumbnail")
    async def thumbnail(self, request: Request, story_id: FromPath[int]) -> File:
        story = await public_story(story_id)
        return serve(request, story.cover_thumbnail, public=True)
