"""Health checks for load balancers, deployment scripts and the benchmark."""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, Response, get

from portal import db
from portal.stores import StoreUnavailable
from voting.captcha import POOL_KEY


class Live(msgspec.Struct):
    status: str


class Ready(msgspec.Struct):
    status: str
    database: bool
    store: bool
    captcha_pool: int


class HealthChecks(Controller):
    path = "/healthz"
    include_in_schema = False  # operations endpoints, not part of the public API

    @get("/", summary="The process answers", operation_id="live")
    async def live(self) -> Live:
        """A trivial answer: no database, no store (also the benchmark's baseline)."""
        return Live("ok")

    @get("/ready", summary="The backing services answer", operation_id="ready")
    async def ready(self, request: Request) -> Response[Ready]:
        """Database and store reachable, and how many CAPTCHA challenges are drawn ahead."""
        database = store = True
        pool = 0
        try:
            await db.ping()
        except Exception:
            database = False
        try:
            pool = await request.app.state.voting.captcha.store.length(POOL_KEY)
        except StoreUnavailable:
            store = False
        ok = database and store
        return Response(
            Ready("ok" if ok else "unavailable", database, store, pool),
            status_code=200 if ok else 503,
            headers={"Cache-Control": "no-store"},
        )
