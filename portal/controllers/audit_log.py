"""The audit log, for city admins and auditors."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter
from litestar.response import Template

from portal.auth import requires
from portal.tables import AuditEntry, Role

PAGE_SIZE = 50
# Staff read dates as the city bureau's calendar days.
CITY_TZ = ZoneInfo("Asia/Shanghai")


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


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
        query = AuditEntry.select(*AuditEntry.all_columns())
        count = AuditEntry.count()
        clauses = []
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
