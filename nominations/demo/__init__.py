"""Demo nominations for the 2023 Dingxi campaign (`dingxi-2023`), and their review.

The real campaign had 14 judicial offices, 29 mediation organisations and 38 mediators
nominated by the seven counties; the demo shortlists exactly as many (``plans``), with
texts from ``corpus`` written out by ``builder``, photos and approval forms from
``assets``, stored by ``writer``; the expert review is finished too (``review``).
``STEPS`` is what ``portal demo`` runs of this app.
"""

from __future__ import annotations

from nominations.demo.review import ensure_demo_review
from nominations.demo.writer import ensure_demo_nominations
from portal.demo import DemoContext, DemoStep, ensure_demo_campaign


async def _load_nominations(context: DemoContext) -> None:
    await ensure_demo_nominations(await ensure_demo_campaign(), context.var_dir)


async def _load_review(context: DemoContext) -> None:
    await ensure_demo_review(await ensure_demo_campaign())


# What `portal demo` runs of this app: the 2023 nominations, then their expert review.
STEPS = (
    DemoStep("nominations", _load_nominations),
    DemoStep("review", _load_review, after=("nominations",)),
)
