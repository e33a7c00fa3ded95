"""Load shedding: a bounded number of requests in flight per process, a bounded wait.

Past its capacity a server that accepts every request only queues them: each waits
longer than the last, clients time out and retry, and the queue never drains. Each
server process therefore admits at most ``max_inflight`` requests at once (the
``PORTAL_MAX_INFLIGHT`` setting); a request arriving when all slots are taken waits
for one, first come first served, at most ``queue_timeout`` seconds
(``PORTAL_QUEUE_TIMEOUT_MS``), and is then answered ``503`` with ``Retry-After``
without being handled at all: nothing was read, nothing was recorded, so the client
may simply retry.

That wait suits a burst, which the line absorbs. Under sustained overload it would
only add the whole timeout to every answer admitted, since the line never drains
(the idea of CoDel: a standing queue is kept short). So for ``queue_timeout`` after a
request was shed, a newcomer waits at most a tenth of it (``overload_wait``): admitted
requests then wait little, and the rest are refused soon instead of after a long
wait. Whether the line empties is no sign: the ledger's group commit frees many slots
at once, draining the line for a moment even under overload.

The check runs before the session middleware and anything else that touches the
database or the store, and the refusal is a fixed answer, so shedding a request
costs little more than parsing it. Health checks and static files are never shed:
a load balancer must see the process alive, and a page already served needs its
stylesheet.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from litestar.types import ASGIApp, Receive, Scope, Send

# Seconds a shed client is asked to wait before trying again.
RETRY_AFTER = 2
# Paths never shed (prefixes).
EXEMPT = ("/healthz", "/static/")

SHED_MESSAGE = "访问人数较多，服务器暂时忙不过来，请稍后再试；本次请求未被处理，也未记录任何内容。"
SHED_JSON = ('{"error":"unavailable","message":"' + SHED_MESSAGE + '"}').encode()
SHED_PAGE = (
    '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>服务繁忙 · 枫桥式评选投票平台</title></head><body>"
    "<h1>服务繁忙，请稍后再试</h1>"
    f"<p>{SHED_MESSAGE}</p>"
    f"<p>请等待约 {RETRY_AFTER} 秒后刷新页面；如果您正在投票，请重新提交。</p>"
    "</body></html>"
).encode()


class Shedder:
    """The admission of one server process: slots, a waiting line, and the count shed."""

    def __init__(
        self,
        max_inflight: int,
        queue_timeout: float,
        *,
        overload_wait: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_inflight < 1:
            raise ValueError("max_inflight must be at least 1")
        self.max_inflight = max_inflight
        self.queue_timeout = max(0.0, queue_timeout)
        self.overload_wait = self.queue_timeout / 10 if overload_wait is None else overload_wait
        self.clock = clock
        self.inflight = 0
        self.waiting = 0
        self.shed = 0
        self._last_shed: float | None = None  # clock() of the latest request shed
        # Futures of waiting requests, oldest first; finished ones (timed out or
        # cancelled) are dropped lazily when a slot is handed on.
        self._line: deque[asyncio.Future[bool]] = deque()

    async def acquire(self) -> bool:
        """Take a slot, waiting at most ``queue_timeout``; ``False``: shed this request."""
        if self.inflight < self.max_inflight and self.waiting == 0:
            self.inflight += 1
            return True
        timeout = self.queue_timeout
        if self._last_shed is not None and self.clock() - self._last_shed < timeout:
            timeout = min(timeout, self.overload_wait)  # overloaded: keep the line short
        if timeout <= 0:
            self._shed()
            return False
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        if len(self._line) > 2 * self.waiting + 64:
            self._line = deque(w for w in self._line if not w.done())
        self._line.append(waiter)
        self.waiting += 1
        timer = loop.call_later(timeout, self._expire, waiter)
        try:
            granted = await waiter
        except asyncio.CancelledError:
            # The client went away while waiting. A slot handed over in the meantime
            # must be passed on, or it would be lost for good.
            if waiter.cancelled():
                self.waiting -= 1
            elif waiter.result():
                self.release()
            raise
        finally:
            timer.cancel()
        if not granted:
            self._shed()
        return granted

    def _shed(self) -> None:
        self.shed += 1
        self._last_shed = self.clock()

    def _expire(self, waiter: asyncio.Future[bool]) -> None:
        if not waiter.done():
            waiter.set_result(False)
            self.waiting -= 1

    def release(self) -> None:
        """Give a slot back: straight to the longest waiter, if any is still waiting."""
        while self._line:
            waiter = self._line.popleft()
            if not waiter.done():
                self.waiting -= 1
                waiter.set_result(True)
                return
        self.inflight -= 1

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """The ASGI middleware (Litestar builds one per route; they share this object)."""

        async def admit(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["path"].startswith(EXEMPT):
                await app(scope, receive, send)
                return
            if not await self.acquire():
                await refuse(scope, send)
                return
            try:
                await app(scope, receive, send)
            finally:
                self.release()

        return admit


async def refuse(scope: Scope, send: Send) -> None:
    """The fixed 503: the contract's JSON under ``/api/``, a short page elsewhere."""
    api = scope["path"].startswith("/api/")
    body = SHED_JSON if api else SHED_PAGE
    media = b"application/json" if api else b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", media),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
