"""Steps a browser test cannot take itself, run on the e2e server's database.

``python -m tests.e2e.prepare results-campaign SLUG``: a small campaign whose voting has
closed, scored and voted (the results flow starts from there).
``python -m tests.e2e.prepare end-notice SLUG``: the notice period is over (time passes).
``python -m tests.e2e.prepare year-passes SLUG``: the designation was a year ago (its
titles have served a year: the next re-check covers them).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys

from portal.db import close_database, open_database
from portal.demo import CITY_BUREAU
from portal.tables import Bureau, Campaign
from tests.results.conftest import Candidate, make_results_campaign

RESULTS_SPEC = {
    "office": (
        2,
        [
            Candidate("安定区凤翔司法所", "91", votes=30),
            Candidate("通渭县平襄司法所", "86", votes=42),
            Candidate("陇西县巩昌司法所", "80", votes=18),
            Candidate("渭源县清源司法所", "74", votes=25),
        ],
    ),
}


async def results_campaign(slug: str) -> None:
    city = await Bureau.select(Bureau.id).where(Bureau.name == CITY_BUREAU).first().run()
    scene = await make_results_campaign(
        RESULTS_SPEC, slug=slug, reviewer="reviewer-anding", organiser=city["id"]
    )
    print(json.dumps(scene.ids, ensure_ascii=False))


async def end_notice(slug: str) -> None:
    from results.tables import Tally

    campaign = await Campaign.objects().where(Campaign.slug == slug).first().run()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    await Tally.update({Tally.notice_ends_at: past}).where(Tally.campaign == campaign.id).run()


async def year_passes(slug: str) -> None:
    from results.tables import Designation, Tally

    campaign = await Campaign.objects().where(Campaign.slug == slug).first().run()
    year = dt.timedelta(days=366)
    tally = await Tally.objects().where(Tally.campaign == campaign.id).first().run()
    await (
        Tally.update({Tally.designated_at: tally.designated_at - year})
        .where(Tally.id == tally.id)
        .run()
    )
    for row in await Designation.objects().where(Designation.campaign == campaign.id).run():
        row.designated_on -= year
        row.valid_until -= year
        await row.save([Designation.designated_on, Designation.valid_until]).run()


STEPS = {
    "results-campaign": results_campaign,
    "end-notice": end_notice,
    "year-passes": year_passes,
}


async def main(step: str, slug: str) -> None:
    await open_database()
    try:
        await STEPS[step](slug)
    finally:
        await close_database()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:3]))
