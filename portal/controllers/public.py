"""Public pages: the home page and a campaign's page."""

from __future__ import annotations

import datetime as dt

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from portal import visits
from portal.campaigns import WINDOWS, categories_of, organiser_of
from portal.clock import utc_now
from portal.phases import OPEN, campaign_window
from portal.plugins import Extensions
from portal.stores import Stores
from portal.tables import PHASE_ORDER, Campaign, Phase
from portal.web.lookups import public_campaign, public_campaigns_query


def timeline(campaign: Campaign) -> list[dict]:
    """The campaign's phases in order, with their windows and where it stands now."""
    windows = {
        Phase.nominating: WINDOWS[0],
        Phase.reviewing: WINDOWS[1],
        Phase.voting: WINDOWS[2],
    }
    current = PHASE_ORDER.index(Phase(campaign.phase))
    steps = []
    for index, phase in enumerate(PHASE_ORDER[1:], start=1):
        opens = closes = None
        if phase in windows:
            opens = getattr(campaign, windows[phase][0])
            closes = getattr(campaign, windows[phase][1])
        steps.append(
            {
                "phase": phase,
                "opens": opens,
                "closes": closes,
                "state": "done" if index < current else "current" if index == current else "todo",
            }
        )
    return steps


class PublicPages(Controller):
    include_in_schema = False

    @get("/privacy", name="privacy")
    async def privacy(self) -> Template:
        """隐私声明: what the portal keeps of voters, objectors and nominees, and why."""
        return Template("public/privacy.html")

    @get("/", name="home")
    async def home(self, extensions: NamedDependency[Extensions]) -> Template:
        campaigns = await public_campaigns_query().order_by(Campaign.year, ascending=False).run()
        current = [c for c in campaigns if c.phase != Phase.published.value]
        past = [c for c in campaigns if c.phase == Phase.published.value]
        now = utc_now()
        return Template(
            "public/home.html",
            context={
                "current": current,
                # Campaigns taking votes right now: their card offers 去投票 and the deadline.
                "voting_now": {c.id for c in current if campaign_window(c, now) == OPEN},
                "past": past,
                **{name: await section() for name, section in extensions.home_sections.items()},
            },
        )

    @get("/campaigns/{slug:str}", name="campaign")
    async def campaign(self, stores: NamedDependency[Stores], slug: FromPath[str]) -> Template:
        campaign = await public_campaign(slug)
        store = stores.state
        await visits.count_visit(store, campaign.id)
        return Template(
            "public/campaign.html",
            context={
                "campaign": campaign,
                "categories": await categories_of(campaign.id),
                "timeline": timeline(campaign),
                "visits": await visits.visits(store, campaign),
                "now": dt.datetime.now(dt.UTC),
                "organiser": await organiser_of(campaign),
            },
        )
