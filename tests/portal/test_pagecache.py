"""The anonymous page cache: shared pages are served from memory for a few seconds."""

from __future__ import annotations

import dataclasses

import pytest

from portal.pagecache import PageCache
from tests.helpers import login
from tests.voting.conftest import SLUG, make_voting_campaign


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
