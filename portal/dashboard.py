"""The city administrator's dashboard: each campaign's pages grouped by its steps.

A campaign goes through six steps as a bureau speaks of them (准备, 推荐审核, 专家评审,
网络投票, 评定公示, 命名之后); each step gathers the phases it spans and the pages
where its work is done. Steps already reached show their pages; later ones are named
only, so that nobody is sent to a page that has nothing yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.tables import PHASE_ORDER, Campaign, Phase


@dataclass(frozen=True)
class Step:
    title: str
    phases: tuple[Phase, ...]
    # (link text, path with {slug})
    links: tuple[tuple[str, str], ...]


STEPS = (
    Step(
        "准备",
        (Phase.draft,),
        (
            ("活动设置、类别与阶段", "/staff/campaigns/{slug}"),
            ("修改活动设置", "/staff/campaigns/{slug}/edit"),
        ),
    ),
    Step(
        "推荐审核",
        (Phase.nominating, Phase.vetting),
        (
            ("全部推荐对象", "/staff/nominations?campaign={slug}"),
            (
                "待审核的推荐（入围、退回、不通过）",
                "/staff/nominations?campaign={slug}&status=submitted",
            ),
        ),
    ),
    Step(
        "专家评审",
        (Phase.reviewing,),
        (
            ("评分标准、专家、分配与进度", "/staff/review/campaigns/{slug}"),
            ("评分方法（公开页面）", "/campaigns/{slug}/method"),
        ),
    ),
    Step("网络投票", (Phase.voting,), (("刷票监测与暂扣投票核查", "/staff/voting/{slug}"),)),
    Step(
        "评定公示",
        (Phase.tallying, Phase.notice),
        (
            ("综合评定与公示", "/staff/results/{slug}"),
            ("异议登记与办理", "/staff/results/{slug}/objections"),
        ),
    ),
    Step(
        "命名之后",
        (Phase.published,),
        (
            ("命名决定与荣誉榜", "/staff/results/{slug}"),
            ("命名复核与撤销命名", "/staff/rechecks"),
        ),
    ),
)


def step_of(phase: str) -> int:
    """The index in ``STEPS`` of the step a campaign in ``phase`` is at."""
    current = Phase(phase)
    return next(i for i, step in enumerate(STEPS) if current in step.phases)


def campaign_steps(campaign: Campaign) -> list[dict]:
    """The campaign's steps with their state ("done", "current", "later") and links."""
    at = step_of(campaign.phase)
    rows = []
    for index, step in enumerate(STEPS):
        state = "done" if index < at else "current" if index == at else "later"
        rows.append(
            {
                "title": step.title,
                "state": state,
                "phases": "、".join(p.label for p in step.phases),
                "links": []
                if state == "later"
                else [(text, path.format(slug=campaign.slug)) for text, path in step.links],
            }
        )
    return rows


def dashboard_steps(campaigns: list[Campaign]) -> list[dict]:
    """Each campaign with its steps, the running ones first (published ones last)."""
    order = {phase.value: i for i, phase in enumerate(PHASE_ORDER)}
    running = sorted(
        campaigns, key=lambda c: (c.phase == Phase.published.value, -c.year, order[c.phase])
    )
    return [{"campaign": c, "steps": campaign_steps(c)} for c in running]
