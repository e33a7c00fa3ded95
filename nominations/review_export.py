"""The expert scores as a workbook: one sheet per reviewer, a summary sheet per category."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from openpyxl import Workbook

from nominations import review_math
from nominations.review import CandidateResult, stored_scores
from nominations.tables import AssignmentStatus
from portal import sheets


def workbook(
    categories: list[Any],
    criteria: dict[int, list[Any]],
    rows: list[dict[str, Any]],
    names: dict[int, dict[str, Any]],
    results: dict[int, list[CandidateResult]],
) -> bytes:
    """Build the workbook; numbers are exact (Decimal), written as numbers; names,
    comments and titles are written as text, never as formulas."""
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    titles = {c.id: c.title for c in categories}
    for category in categories:
        ws = sheets.new_sheet(wb, f"汇总-{category.title}", used)
        sheets.header(ws, ["排名", "对象", "推荐单位", "已评 / 应评", "评审得分", "缺评专家"])
        for rank, item in enumerate(results.get(category.id, []), start=1):
            sheets.append(
                ws,
                [
                    rank if item.review_score is not None else None,
                    item.name,
                    item.county,
                    f"{item.submitted} / {item.assigned}",
                    float(round(item.review_score, 4)) if item.review_score is not None else None,
                    "、".join(item.missing),
                ],
            )
        ws.column_dimensions["B"].width = 40
    by_reviewer: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["status"] == AssignmentStatus.assigned.value:
            by_reviewer.setdefault(row["reviewer_label"] or row["reviewer_name"], []).append(row)
    for reviewer, mine in sorted(by_reviewer.items()):
        ws = sheets.new_sheet(wb, reviewer, used)
        criterion_columns = []
        for category in categories:
            criterion_columns += [(category.id, c) for c in criteria.get(category.id, [])]
        labels = [
            f"{c.title}（{review_math.display(c.max_points, 1)}）" for _, c in criterion_columns
        ]
        sheets.header(ws, ["类别", "对象", "推荐单位", *labels, "合计", "状态", "评语"])
        for row in sorted(mine, key=lambda r: (r["category"], r["nomination"])):
            scores = stored_scores(row)
            cells = [
                float(Decimal(scores[str(c.id)]))
                if str(c.id) in scores and cat == row["category"]
                else None
                for cat, c in criterion_columns
            ]
            total = review_math.reviewer_total(Decimal(v) for v in scores.values())
            status = (
                "已提交"
                if row["submitted_at"]
                else ("已免除" if row["waived_reason"] else "未提交")
            )
            candidate = names.get(row["nomination"], {})
            sheets.append(
                ws,
                [
                    titles.get(row["category"], ""),
                    candidate.get("name", ""),
                    candidate.get("county", ""),
                    *cells,
                    float(total),
                    status,
                    row["comment"],
                ],
            )
        ws.column_dimensions["B"].width = 40
    if not wb.sheetnames:
        wb.create_sheet("汇总")
    return sheets.to_bytes(wb)
