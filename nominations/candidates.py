"""The shortlisted candidates of a campaign: the nominations the public sees, votes for
and reads about. Voting, results and stories read them here.

Only public fields ever leave here: name, organisation, county, summary, deeds, photo.
Contact data and documents never do.
"""

from __future__ import annotations

from typing import Any

from piccolo.columns import Column
from piccolo.columns.combination import Where

from nominations.fields import organisation
from nominations.tables import Nomination, Status
from portal.errors import not_found
from portal.tables import Campaign, Phase
from portal.web.lookups import public_campaign


def shortlisted_in(campaign_id: int) -> Where:
    """The filter of a campaign's shortlisted nominations, for any query on them."""
    return (Nomination.campaign == campaign_id) & (Nomination.status == Status.shortlisted.value)


PUBLIC_COLUMNS = (
    Nomination.id,
    Nomination.name,
    Nomination.township,
    Nomination.committee,
    Nomination.summary,
    Nomination.photo,
    Nomination.thumbnail,
    Nomination.category,
    Nomination.bureau.short_name.as_alias("county"),
    Nomination.bureau.name.as_alias("nominated_by"),
    Nomination.category.key.as_alias("category_key"),
    Nomination.category.kind.as_alias("kind"),
)


def photo_url(row: dict[str, Any], variant: str = "photo") -> str | None:
    if not row.get("photo"):
        return None
    return f"/media/candidates/{row['id']}/{variant}.jpg"


async def shortlisted(campaign: Campaign, category_key: str | None = None) -> list[dict]:
    """The campaign's shortlisted candidates (``PUBLIC_COLUMNS``), in the order of the
    public pages: by category, bureau, then nomination."""
    query = Nomination.select(*PUBLIC_COLUMNS).where(shortlisted_in(campaign.id))
    if category_key:
        query = query.where(Nomination.category.key == category_key)
    return (
        await query.order_by(Nomination.category.position)
        .order_by(Nomination.bureau.position)
        .order_by(Nomination.id)
        .run()
    )


# What a candidate's vote form (and any page about one candidate) needs beyond the public columns.
CANDIDATE_COLUMNS = (
    *PUBLIC_COLUMNS,
    Nomination.category.title.as_alias("category_title"),
    Nomination.category.votes_per_day.as_alias("votes_per_day"),
)
# The candidate's own page adds the deeds, the year's figures and whether counts are public.
DETAIL_COLUMNS = (
    Nomination.deeds,
    Nomination.disputes_mediated,
    Nomination.disputes_resolved,
    Nomination.judicial_confirmations,
    Nomination.on_the_spot,
    Nomination.category.public_counts.as_alias("public_counts"),
)


async def load_candidate(
    slug: str, candidate_id: int, *extra: Column
) -> tuple[Campaign, dict[str, Any]]:
    """The public campaign and one of its shortlisted candidates, or 404.

    The candidate (``CANDIDATE_COLUMNS`` and any ``extra`` columns, with ``organisation``
    and ``thumb_url`` added) comes from one query joining its category and bureau.
    """
    campaign = await public_campaign(slug)
    row = (
        await Nomination.select(*CANDIDATE_COLUMNS, *extra)
        .where((Nomination.id == candidate_id) & shortlisted_in(campaign.id))
        .first()
        .run()
    )
    if row is None:
        raise not_found("找不到该候选对象。")
    row["organisation"] = organisation(row)
    row["thumb_url"] = photo_url(row, "thumbnail")
    return campaign, row


async def public_candidate(candidate_id: int) -> Nomination:
    """A shortlisted nomination of a public campaign, else 404."""
    nomination = (
        await Nomination.objects()
        .where((Nomination.id == candidate_id) & (Nomination.status == Status.shortlisted.value))
        .first()
        .run()
    )
    if nomination is None:
        raise not_found("找不到该候选对象。")
    campaign = await Campaign.objects().where(Campaign.id == nomination.campaign).first().run()
    if campaign is None or campaign.phase == Phase.draft.value:
        raise not_found("找不到该候选对象。")
    return nomination
