"""``portal tally``: the combined ranking of a campaign, computed and printed."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.markup import escape
from rich.table import Table as RichTable

from portal.commands import console, err_console, fail, load_settings, run

RANKING_COLUMNS = ("名次", "名称", "推荐单位", "评审得分", "有效票", "投票得分", "综合得分", "结果")


async def _tally(slug: str) -> list[Any]:
    from portal import campaigns
    from portal.audit import Actor
    from results import services as results

    await results.tally(Actor.command_line(), slug)
    campaign = await campaigns.get_campaign(slug)
    return await results.ranking(campaign)  # type: ignore[arg-type]


@click.command()
@click.argument("slug")
def tally(slug: str) -> None:
    """Compute the combined ranking of a campaign whose voting has closed.

    Reads every shortlisted candidate's review score and counted votes (held and
    excluded votes never count), ranks each category by the campaign's method and marks
    the top QUOTA as proposed designees; the campaign enters the tallying phase
    (audited). Refuses, listing every blocker, while votes are held undecided or review
    scores are missing. Running it again before the notice recomputes and keeps the
    exclusions already made. Prints the ranking.
    """
    from results.services import ResultsRefused

    load_settings()
    try:
        ranking = run(_tally, slug)
    except LookupError:
        fail(f"找不到评选活动「{slug}」。")
    except ResultsRefused as exc:
        err_console.print("[bold red]错误：[/]暂不能进行综合评定：", highlight=False)
        for reason in exc.reasons:
            err_console.print(f"  - {escape(reason)}", highlight=False, soft_wrap=True)
        sys.exit(1)
    for item in ranking:
        table = RichTable(title=f"{item.category.title}（命名名额 {item.category.quota}）")
        for column in RANKING_COLUMNS:
            table.add_column(column)
        for r in item.rows:
            outcome = "已取消资格" if r.excluded_reason else ("拟命名" if r.designated else "")
            table.add_row(
                str(r.rank or "—"),
                escape(r.name),
                r.county,
                str(r.review_score),
                str(r.votes),
                str(r.vote_score),
                str(r.final_score),
                outcome,
            )
        console.print(table)
    console.print(f"{slug} 已完成综合评定，请核对后在管理页面发布公示。")
