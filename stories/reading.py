"""Reading stories: the public list and pages, the honourees' stories, the staff list,
view counts, and the plain-text summary of a story."""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from typing import Any

import nh3

from nominations.candidates import shortlisted_in
from nominations.tables import Nomination
from nominations.tables import Status as NominationStatus
from portal import visits
from portal.accounts import StaffUser
from portal.markdown import render
from portal.stores import StateStore
from portal.tables import Bureau, Campaign, Phase
from stories import services
from stories.tables import Story, StoryCandidate, StoryKind, StoryStatus

PER_PAGE = 12
STAFF_PER_PAGE = 30
SUMMARY_CHARS = 90
# The label the filters and cards use for the city bureau's own (city-wide) stories.
CITY_WIDE = "全市"

# Views of the public story pages: counted in the store, flushed into Story.visits.
STORY_VISITS = visits.register(Story, "story")

CARD_COLUMNS = (
    Story.id,
    Story.kind,
    Story.title,
    Story.body,
    Story.cover_thumbnail,
    Story.series_no,
    Story.published_at,
    Story.updated_at,
    Story.status,
    Story.bureau.short_name.as_alias("county"),
    Story.bureau.parent.as_alias("bureau_parent"),
    Story.bureau.name.as_alias("bureau_name"),
)


@dataclass(frozen=True)
class Page:
    """One page of a list, and where it stands among the pages."""

    items: list[dict[str, Any]]
    total: int
    page: int
    pages: int

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


class PageNotFound(LookupError):
    """A page number past the last page."""


def summary(body: str, length: int = SUMMARY_CHARS) -> str:
    """The story's opening words as plain text (for cards, the feed and share cards)."""
    text = html.unescape(nh3.clean(str(render(body)), tags=set()))
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= length else text[:length].rstrip() + "…"


def county_label(short_name: str | None, parent: int | None) -> str:
    """Where a story is from: its county, or the whole city for the top bureau's own."""
    return (short_name or CITY_WIDE) if parent is not None else CITY_WIDE


def _card(row: dict[str, Any]) -> dict[str, Any]:
    row["kind_label"] = StoryKind.label_of(row["kind"])
    row["county_label"] = county_label(row.get("county"), row.get("bureau_parent"))
    row["summary"] = summary(row.pop("body", "") or "")
    row["thumb_url"] = (
        f"/media/stories/{row['id']}/thumbnail.jpg" if row.get("cover_thumbnail") else None
    )
    return row


async def _paginate(query: Any, count_query: Any, page: int, per_page: int) -> Page:
    total = await count_query.run()
    pages = max(1, math.ceil(total / per_page))
    if page > pages:
        raise PageNotFound(page)
    rows = await query.limit(per_page).offset((page - 1) * per_page).run()
    return Page([_card(row) for row in rows], total, page, pages)


def _published() -> Any:
    return Story.status == StoryStatus.published.value


def _filters(kind: str | None, county: str | None) -> Any:
    where = _published()
    if kind in {k.value for k in StoryKind}:
        where &= Story.kind == kind
    if county == CITY_WIDE:
        where &= Story.bureau.parent.is_null()
    elif county:
        where &= Story.bureau.short_name == county
    return where


async def published_page(kind: str | None, county: str | None, page: int = 1) -> Page:
    """Published stories, newest number first, filtered by kind and county.

    Raises ``PageNotFound`` for a page past the last one.
    """
    where = _filters(kind, county)
    query = (
        Story.select(*CARD_COLUMNS)
        .where(where)
        .order_by(Story.series_no, ascending=False)
        .order_by(Story.id, ascending=False)
    )
    return await _paginate(query, Story.count().where(where), page, PER_PAGE)


async def latest(limit: int = 4) -> list[dict[str, Any]]:
    """The latest published stories (for the home page)."""
    rows = (
        await Story.select(*CARD_COLUMNS)
        .where(_published())
        .order_by(Story.series_no, ascending=False)
        .limit(limit)
        .run()
    )
    return [_card(row) for row in rows]


async def county_choices() -> list[str]:
    """The county filter's values: the city first, then the counties in their order."""
    rows = (
        await Bureau.select(Bureau.short_name, Bureau.parent)
        .order_by(Bureau.position)
        .order_by(Bureau.id)
        .run()
    )
    return [county_label(row["short_name"], row["parent"]) for row in rows]


async def published_story(story_id: int) -> Story | None:
    """The story if it is published, else ``None``."""
    return await Story.objects().where((Story.id == story_id) & _published()).first().run()


async def bureau_of(story: Story) -> Bureau:
    return await Bureau.objects().where(Bureau.id == story.bureau).first().run()


async def public_campaign_of(story: Story) -> Campaign | None:
    """The story's campaign, if the public may see it (not a draft)."""
    if story.campaign is None:
        return None
    return (
        await Campaign.objects()
        .where((Campaign.id == story.campaign) & (Campaign.phase != Phase.draft.value))
        .first()
        .run()
    )


async def linked_candidates(story_id: int, public: bool = True) -> list[dict[str, Any]]:
    """The candidates a story is about, in the story's order; with ``public`` only those
    whose public page exists (shortlisted, in a campaign that is not a draft)."""
    link = StoryCandidate.candidate
    query = StoryCandidate.select(
        link.id.as_alias("id"),
        link.name.as_alias("name"),
        link.township.as_alias("township"),
        link.committee.as_alias("committee"),
        link.status.as_alias("status"),
        link.bureau.short_name.as_alias("county"),
        link.category.title.as_alias("category_title"),
        link.campaign.slug.as_alias("campaign_slug"),
        link.campaign.phase.as_alias("campaign_phase"),
    ).where(StoryCandidate.story == story_id)
    if public:
        query = query.where(
            (link.status == NominationStatus.shortlisted.value)
            & (link.campaign.phase != Phase.draft.value)
        )
    rows = await query.order_by(StoryCandidate.position).run()
    for row in rows:
        row["url"] = f"/campaigns/{row['campaign_slug']}/candidates/{row['id']}"
    return rows


async def stories_of_candidate(candidate_id: int) -> list[dict[str, Any]]:
    """The published stories about a candidate, newest number first (its public page)."""
    link = StoryCandidate.story
    rows = (
        await StoryCandidate.select(
            link.id.as_alias("id"),
            link.kind.as_alias("kind"),
            link.title.as_alias("title"),
            link.body.as_alias("body"),
            link.cover_thumbnail.as_alias("cover_thumbnail"),
            link.series_no.as_alias("series_no"),
            link.published_at.as_alias("published_at"),
            link.bureau.short_name.as_alias("county"),
        )
        .where(
            (StoryCandidate.candidate == candidate_id)
            & (link.status == StoryStatus.published.value)
        )
        .order_by(link.series_no, ascending=False)
        .run()
    )
    return [_card(row) for row in rows]


async def feed_stories(limit: int = 20) -> list[dict[str, Any]]:
    """The latest published stories with what an Atom entry carries."""
    return (
        await Story.select(
            Story.id,
            Story.kind,
            Story.title,
            Story.body,
            Story.series_no,
            Story.published_at,
            Story.updated_at,
            Story.bureau.name.as_alias("bureau_name"),
        )
        .where(_published())
        .order_by(Story.published_at, ascending=False)
        .order_by(Story.id, ascending=False)
        .limit(limit)
        .run()
    )


async def staff_page(user: StaffUser, status: str | None, page: int = 1) -> Page:
    """The stories this user may read, most recently changed first, by status."""
    where = Story.id > 0
    if status in {s.value for s in StoryStatus}:
        where &= Story.status == status
    query = await services.scope_query(
        user,
        Story.select(*CARD_COLUMNS, Story.by_county, Story.submitted_at).where(where),
    )
    count = await services.scope_query(user, Story.count().where(where))
    query = query.order_by(Story.updated_at, ascending=False).order_by(Story.id, ascending=False)
    return await _paginate(query, count, page, STAFF_PER_PAGE)


async def linkable_candidates(campaign_id: int) -> list[dict[str, Any]]:
    """A campaign's shortlisted candidates, for a story's candidate checkboxes."""
    return (
        await Nomination.select(
            Nomination.id,
            Nomination.name,
            Nomination.bureau.short_name.as_alias("county"),
            Nomination.category.title.as_alias("category_title"),
        )
        .where(shortlisted_in(campaign_id))
        .order_by(Nomination.category.position)
        .order_by(Nomination.bureau.position)
        .order_by(Nomination.id)
        .run()
    )


async def count_view(store: StateStore, story_id: int) -> None:
    """Count one view of a story's public page (in the store; flushed in the background)."""
    await visits.count_visit(store, story_id, STORY_VISITS)


async def views(store: StateStore, story: Story) -> int:
    """The story's page views: persisted plus pending."""
    return await visits.visits(store, story, STORY_VISITS)
