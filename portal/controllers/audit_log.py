"""The audit log, for city admins and auditors."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Template

from portal import audit
from portal.auth import actor_of, requires
from portal.sheets import FORMULA_STARTS
from portal.tables import AuditEntry, Role

PAGE_SIZE = 50
# Staff read dates as the city bureau's calendar days.
CITY_TZ = ZoneInfo("Asia/Shanghai")


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _clauses(
    action: str | None,
    actor_name: str | None,
    object_type: str | None,
    date_from: str | None,
    date_to: str | None,
) -> list[Any]:
    """The filters of the page, shared by its CSV export."""
    clauses: list[Any] = []
    if action:
        clauses.append(AuditEntry.action.like(f"{action}%"))
    if actor_name:
        clauses.append(AuditEntry.actor_name == actor_name)
    if object_type:
        clauses.append(AuditEntry.object_type == object_type)
    if start := _date(date_from):
        clauses.append(AuditEntry.at >= dt.datetime.combine(start, dt.time(), CITY_TZ))
    if end := _date(date_to):
        clauses.append(
            AuditEntry.at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), CITY_TZ)
        )
    return clauses


CSV_HEADER = (
    "id",
    "at",
    "actor_name",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "before",
    "after",
    "network",
    "prev_hash",
    "entry_hash",
)
EXPORT_LIMIT = 100_000


class AuditLogPages(Controller):
    include_in_schema = False
    guards = [requires(Role.city_admin, Role.auditor)]

    @get("/staff/audit", name="audit_log")
    async def index(
        self,
        action: FromQuery[str | None] = None,
        actor_name: Annotated[str | None, QueryParameter(name="actor")] = None,
        object_type: FromQuery[str | None] = None,
        date_from: FromQuery[str | None] = None,
        date_to: FromQuery[str | None] = None,
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    ) -> Template:
        clauses = _clauses(action, actor_name, object_type, date_from, date_to)
        query = AuditEntry.select(*AuditEntry.all_columns())
        count = AuditEntry.count()
        for clause in clauses:
            query = query.where(clause)
            count = count.where(clause)
        page = max(1, page)
        total = await count.run()
        rows = (
            await query.output(load_json=True)
            .order_by(AuditEntry.id, ascending=False)
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
            .run()
        )
        actions = (
            await AuditEntry.select(AuditEntry.action).distinct().order_by(AuditEntry.action).run()
        )
        return Template(
            "staff/audit.html",
            context={
                "entries": rows,
                "total": total,
                "page": page,
                "pages": max(1, -(-total // PAGE_SIZE)),
                "filters": {
                    "action": action or "",
                    "actor": actor_name or "",
                    "object_type": object_type or "",
                    "date_from": date_from or "",
                    "date_to": date_to or "",
                },
                "actions": [r["action"] for r in actions],
            },
        )

    @get("/staff/audit.csv", name="audit_log_csv")
    async def export(
        self,
        request: Request,
        action: FromQuery[str | None] = None,
        actor_name: Annotated[str | None, QueryParameter(name="actor")] = None,
        object_type: FromQuery[str | None] = None,
        date_from: FromQuery[str | None] = None,
        date_to: FromQuery[str | None] = None,
    ) -> Response:
        """The filtered entries as CSV (UTF-8 with BOM, for Excel), oldest first, with
        their chain hashes; the export is itself audited."""
        filters = {
            "action": action or "",
            "actor": actor_name or "",
            "object_type": object_type or "",
            "date_from": date_from or "",
            "date_to": date_to or "",
        }
        await audit.record(actor_of(request), "audit.export", ("audit_entry", ""), after=filters)
        query = AuditEntry.select(*AuditEntry.all_columns())
        for clause in _clauses(action, actor_name, object_type, date_from, date_to):
            query = query.where(clause)
        rows = await query.order_by(AuditEntry.id).limit(EXPORT_LIMIT).run()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_HEADER)
        for row in rows:
            values = []
            for name in CSV_HEADER:
                value = row[name]
                if name in ("before", "after") and value is not None and not isinstance(value, str):
                    value = json.dumps(value, ensure_ascii=False)
                if isinstance(value, dt.datetime):
                    value = value.isoformat()
                if isinstance(value, str) and value.startswith(FORMULA_STARTS):
                    value = "'" + value  # read as text by a spreadsheet, never a formula
                values.append("" if value is None else value)
            writer.writerow(values)
        return Response(
            content="\ufeff" + out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="audit-log.csv"',
                "Cache-Control": "private, no-store",
            },
        )
