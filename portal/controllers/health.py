"""Health checks for load balancers, deployment scripts and the benchmark."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency

from portal import db
from portal.plugins import Extensions
from portal.stores import StoreUnavailable


class Live(msgspec.Struct):
    status: str


class HealthChecks(Controller):
    path = "/healthz"
    include_in_schema = False  # operations endpoints, not part of the public API

    @get("/", summary="The process answers", operation_id="live")
    async def live(self) -> Live:
        """A trivial answer: no database, no store (also the benchmark's baseline)."""
        return Live("ok")

    @get("/ready", summary="The backing services answer", operation_id="ready")
    async def ready(self, extensions: NamedDependency[Extensions]) -> Response[dict[str, Any]]:
        """Database and store reachable, and the figures the apps read from the store
        (voting: how many CAPTCHA challenges are drawn ahead)."""
        database = store = True
        figures = {}
        try:
            await db.ping()
        except Exception:
            database = False
        for name, probe in extensions.ready_probes.items():
            try:
                figures[name] = await probe()
            except StoreUnavailable:
                store = False
                figures[name] = 0
        ok = database and store
        return Response(
            {"status": "ok" if ok else "unavailable", "database": database, "store": store}
            | figures,
            status_code=200 if ok else 503,
            headers={"Cache-Control": "no-store"},
        )
