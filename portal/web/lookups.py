"""Looking up what a URL names, or answering the friendly 404."""

from __future__ import annotations

from litestar.params import FromPath

from portal.accounts import StaffUser
from portal.campaigns import category_of, get_campaign, seen_by
from portal.errors import not_found
from portal.tables import Campaign, Category, Phase


def public_campaigns_query():  # type: ignore[no-untyped-def]
    """Campaigns the public may see: all but drafts."""
    return Campaign.objects().where(Campaign.phase != Phase.draft.value)


async def public_campaign(slug: FromPath[str]) -> Campaign:
    """The campaign with this slug, or 404 when it is unknown or still a draft."""
    campaign = await get_campaign(slug)
    if campaign is None or campaign.phase == Phase.draft.value:
        raise not_found("找不到该评选活动。")
    return campaign


async def campaign_or_404(slug: str, user: StaffUser) -> Campaign:
    """The campaign with this slug for a staff page, or the friendly 404 (also for a
    campaign of another organisation: its existence is not revealed)."""
    campaign = await get_campaign(slug)
    if campaign is None or not await seen_by(user, campaign):
        raise not_found("找不到该评选活动。")
    return campaign


async def category_or_404(campaign: Campaign, key: str) -> Category:
    """The campaign's category with this key, or the friendly 404."""
    category = await category_of(campaign.id, key)
    if category is None:
        raise not_found("找不到该评选类别。")
    return category


async def category_by_id_or_404(category_id: int) -> Category:
    category = await Category.objects().where(Category.id == category_id).first().run()
    if category is None:
        raise not_found("找不到该评选类别。")
    return category
