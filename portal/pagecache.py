"""A short-lived in-process cache of public pages as anonymous visitors see them.

The pages shared in WeChat (a campaign's vote page, a candidate's page) are read far
more often than they change, and the same for every anonymous visitor. Rendering one
costs several queries and a template of dozens of cards; serving it from memory costs
no query at all. Live figures on them (counts, visits) are at most ``ttl`` seconds old. Staff
(signed in) always get a fresh page: their header differs and may carry messages.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from litestar import MediaType, Request, Response
from litestar.response import Template

from portal.view import cache_key

PAGE_TTL = 2.0
MAX_PAGES = 512
# Vote totals by status on the vote page are a GROUP BY over the ledger.
TOTALS_TTL = 5.0

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values by key, each kept ``ttl`` seconds, at most ``size`` of them (the oldest
    written make room). One per process: workers do not share it."""

    def __init__(self, ttl: float, size: int = MAX_PAGES) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value of a fresh entry, else ``None``."""
        hit = self._entries.get(key)
        if hit is None or time.monotonic() - hit[0] >= self.ttl:
            return None
        return hit[1]

    def put(self, key: K, value: V) -> None:
        """Keep ``value`` under ``key`` for ``ttl`` seconds from now."""
        self._entries[key] = (time.monotonic(), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The fresh value under ``key``, else what ``load()`` returns (then kept)."""
        value = self.get(key)
        if value is None:
            value = await load()
            self.put(key, value)
        return value

    def clear(self) -> None:
        self._entries.clear()


class PageCache:
    """Rendered HTML by key (with a tag: whose page it is), each kept ``ttl`` seconds,
    at most ``size`` of them."""

    def __init__(self, ttl: float = PAGE_TTL, size: int = MAX_PAGES) -> None:
        self._pages: TtlCache[str, tuple[int, int, bytes]] = TtlCache(ttl, size)

    @property
    def ttl(self) -> float:
        return self._pages.ttl

    def get(self, key: str) -> tuple[int, int, bytes] | None:
        """(status, tag, body) of a fresh entry, else ``None``."""
        return self._pages.get(key)

    def put(self, key: str, status: int, tag: int, body: bytes) -> None:
        self._pages.put(key, (status, tag, body))

    def clear(self) -> None:
        self._pages.clear()


def _anonymous(request: Request) -> bool:
    return request.scope.get("user") is None and not request.cookies.get("portal_session")


async def cached_page(
    request: Request,
    render: Callable[[], Awaitable[tuple[Template, int]]],
    on_view: Callable[[int], Awaitable[None]],
) -> Response:
    """The page from the cache for anonymous visitors, else rendered.

    ``render()`` loads what the page needs (raising 404 and the like as usual) and
    returns the template with the page's tag (its campaign id); ``on_view(tag)`` runs for
    every view, served from the cache or not (it counts the visit).
    """
    cache: PageCache = request.app.state.page_cache
    if cache.ttl <= 0 or not _anonymous(request):
        template, tag = await render()
        await on_view(tag)
        return template  # type: ignore[return-value]
    # The visitor's view (care mode, text size) changes the page's classes and words.
    address = f"{request.headers.get('host', '')}{request.url.path}?{request.url.query}"
    key = f"{address}#{cache_key(request)}"
    hit = cache.get(key)
    if hit is None:
        template, tag = await render()
        engine = request.app.template_engine
        context = template.create_template_context(request)
        body = engine.get_template(template.template_name).render(**context).encode()
        hit = (template.status_code or 200, tag, body)
        if hit[0] == 200:
            cache.put(key, *hit)
    await on_view(hit[1])
    return Response(hit[2], status_code=hit[0], media_type=MediaType.HTML)
