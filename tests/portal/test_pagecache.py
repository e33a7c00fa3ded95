"""The anonymous page cache: shared pages are served from memory for a few seconds."""

from __future__ import annotations

import dataclasses

import pytest

from portal.pagecache import TOTALS_TTL, PageCache, TtlCache
from tests.helpers import login
from tests.voting.conftest import SLUG, make_voting_campaign
from tests.voting.test_pages import stat


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return dataclasses.replace(settings, page_cache_seconds=60)


async def test_anonymous_visitors_get_the_cached_page_but_visits_still_count(client, staff) -> None:
    """A second anonymous view is the same bytes (not re-rendered) yet counted as a visit."""
    made = await make_voting_campaign()
    first = await client.get(f"/campaigns/{SLUG}/vote")
    second = await client.get(f"/campaigns/{SLUG}/vote")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert second.headers["content-type"].startswith("text/html")
    pending = await client.app.state.stores.state.get(f"visits:{made['campaign'].id}")
    assert int(pending) == 2
    other = await client.get(f"/campaigns/{SLUG}/vote?category=mediator")
    assert other.content != first.content  # the key includes the query
    assert (await client.get("/campaigns/no-such-campaign/vote")).status_code == 404


async def test_signed_in_staff_never_get_the_anonymous_page(client, staff) -> None:
    """Staff pages carry their own header (and messages): never from the cache."""
    await make_voting_campaign()
    anonymous = await client.get(f"/campaigns/{SLUG}/vote")
    await login(client, staff["city_admin"])
    signed_in = await client.get(f"/campaigns/{SLUG}/vote")
    assert "退出" in signed_in.text and "退出" not in anonymous.text


def test_entries_expire_and_the_cache_is_bounded() -> None:
    """An entry older than the ttl is gone; the oldest entries make room for new ones."""
    cache = PageCache(ttl=0.0, size=2)
    cache.put("a", 200, 1, b"a")
    assert cache.get("a") is None
    cache = PageCache(ttl=60, size=2)
    for key in "abc":
        cache.put(key, 200, 1, key.encode())
    assert cache.get("a") is None
    assert cache.get("c") == (200, 1, b"c")


async def test_a_ttl_cache_loads_once_while_fresh_and_again_once_stale() -> None:
    """``get_or_load`` runs the loader only for a missing or expired key; size is bounded."""
    loads: list[str] = []

    def loader(key: str):  # type: ignore[no-untyped-def]
        async def load() -> dict[str, int]:
            loads.append(key)
            return {"n": len(loads)}

        return load

    fresh: TtlCache[str, dict[str, int]] = TtlCache(ttl=60)
    assert await fresh.get_or_load("a", loader("a")) == {"n": 1}
    assert await fresh.get_or_load("a", loader("a")) == {"n": 1}
    assert await fresh.get_or_load("b", loader("b")) == {"n": 2}
    assert loads == ["a", "b"]
    fresh.clear()
    assert fresh.get("a") is None
    stale: TtlCache[str, dict[str, int]] = TtlCache(ttl=0.0)
    assert await stale.get_or_load("a", loader("a")) == {"n": 3}
    assert await stale.get_or_load("a", loader("a")) == {"n": 4}
    bounded: TtlCache[str, int] = TtlCache(ttl=60, size=2)
    for n, key in enumerate("abc"):
        bounded.put(key, n)
    assert (bounded.get("a"), bounded.get("b"), bounded.get("c")) == (None, 1, 2)


async def test_the_vote_page_takes_its_totals_from_the_apps_cache(client, staff) -> None:
    """The totals by status come from ``app.state.vote_totals`` while fresh, else the ledger."""
    made = await make_voting_campaign()
    campaign_id = made["campaign"].id
    cache = client.app.state.vote_totals
    assert isinstance(cache, TtlCache) and cache.ttl == TOTALS_TTL
    # Signed in, the page itself is never cached: each view shows the totals as kept.
    await login(client, staff["city_admin"])

    def totals(page: str) -> tuple[int, int, int]:
        return (stat(page, "有效票"), stat(page, "待核查"), stat(page, "已剔除"))

    first = await client.get(f"/campaigns/{SLUG}/vote")
    assert totals(first.text) == (0, 0, 0)
    assert cache.get(campaign_id) == {"counted": 0, "held": 0, "excluded": 0}
    cache.put(campaign_id, {"counted": 12345, "held": 6, "excluded": 7})
    kept = await client.get(f"/campaigns/{SLUG}/vote")
    assert totals(kept.text) == (12345, 6, 7)
    cache.clear()
    again = await client.get(f"/campaigns/{SLUG}/vote")
    assert totals(again.text) == (0, 0, 0)
