"""The recommendation form's fields (推荐审批表) for a demo nomination.

Drawn from a Random seeded by the nominee's name, not from the generator's own stream,
so adding them changes no other demo value. The opinion's date is left empty: on the
paper form the county dates it by hand beside the seal, and the demo's dates follow
today's date (portal.demo), so a typed date could contradict them.
"""

from __future__ import annotations

import random
from typing import Any

from nominations.demo.corpus import MEDIATOR

# Roughly the region's population: mostly 汉族, with 回族 and 东乡族 neighbours.
ETHNICITIES = (("汉族", 90), ("回族", 7), ("东乡族", 2), ("藏族", 1))
POLITICAL = (("cpc", 55), ("masses", 35), ("cpc_probationary", 3), ("democratic_party", 2),
             ("non_party", 5))  # fmt: skip
EDUCATION = (("high_school", 40), ("college", 30), ("bachelor", 20), ("junior_high", 10))
HONOURS = (
    "{y1}年 被县司法局评为优秀人民调解员",
    "{y2}年 被县委政法委评为平安建设先进个人",
    "{y2}年 被市司法局评为“金牌调解员”",
)
UNIT_HONOURS = (
    "{y1}年 被县司法局评为先进集体",
    "{y2}年 被市司法局评为人民调解工作先进单位",
)
OPINIONS = (
    "该同志长期扎根基层调解一线，事迹突出，群众认可度高，经研究，同意推荐。",
    "经审核，推荐材料真实，符合推荐条件，同意推荐。",
)
UNIT_OPINIONS = (
    "该单位矛盾纠纷排查化解成效显著，工作规范，群众满意，经研究，同意推荐。",
    "经审核，推荐材料真实，工作数据准确，符合推荐条件，同意推荐。",
)


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def form_values(key: str, year: int, values: dict[str, Any]) -> dict[str, Any]:
    """The nominee's particulars (mediators), past honours and the bureau's opinion."""
    rng = random.Random(f"form:{key}:{values['name']}")  # noqa: S311 - demo data
    years = {"y1": year - rng.randint(3, 6), "y2": year - rng.randint(1, 2)}
    if key != MEDIATOR:
        honours = rng.sample(UNIT_HONOURS, rng.randint(0, 2))
        return {
            "honours": "\n".join(h.format(**years) for h in sorted(honours)),
            "recommender_opinion": rng.choice(UNIT_OPINIONS),
        }
    honours = rng.sample(HONOURS, rng.randint(0, 2))
    return {
        "political_status": _weighted(rng, POLITICAL),
        "ethnicity": _weighted(rng, ETHNICITIES),
        "education": _weighted(rng, EDUCATION),
        "honours": "\n".join(h.format(**years) for h in sorted(honours)),
        "recommender_opinion": rng.choice(OPINIONS),
    }
