"""Demo nominations for the 2023 Dingxi campaign (`dingxi-2023`), and their review;
the cities' nominations to the provincial campaign (`gansu-2024`, see ``province``).

The real campaign had 14 judicial offices, 29 mediation organisations and 38 mediators
nominated by the seven counties; the demo shortlists exactly as many (``plans``), with
texts from ``corpus`` written out by ``builder``, photos and approval forms from
``assets``, stored by ``writer``; the expert review is finished too (``review``).
``STEPS`` is what ``portal demo`` runs of this app.
"""

from __future__ import annotations

from nominations.demo.province import ensure_province_nominations, ensure_province_panel
from nominations.demo.review import ensure_demo_review
from nominations.demo.writer import ensure_demo_nominations
from portal.demo import DemoContext, DemoStep, ensure_demo_campaign, ensure_province_campaign


async def _load_nominations(context: DemoContext) -> None:
    await ensure_demo_nominations(await ensure_demo_campaign(), context.var_dir)


async def _load_review(context: DemoContext) -> None:
    await ensure_demo_review(await ensure_demo_campaign())


async def _load_province(context: DemoContext) -> None:
    campaign = await ensure_province_campaign()
    await ensure_province_nominations(campaign, context.var_dir)
    await ensure_province_panel(campaign)


# What `portal demo` runs of this app: the 2023 nominations, then their expert review;
# the cities' nominations to the province once Dingxi's 2022 designation is published,
# and the province's panel (its reviewers are the demo's: after their 2023 review).
STEPS = (
    DemoStep("nominations", _load_nominations),
    DemoStep("review", _load_review, after=("nominations",)),
    DemoStep("province-nominations", _load_province, after=("finished-campaign", "review")),
)
