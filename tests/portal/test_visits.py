"""Page views of the public campaign pages (累计访问量): counting, showing, flushing."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest

from portal import visits
from portal.stores import MemoryStateStore, RedisStateStore, StateStore, StoreUnavailable
from portal.tables import Campaign, Phase


async def make_campaign(
    slug: str = "dingxi-2023", phase: Phase = Phase.voting, persisted: int = 0
) -> Campaign:
    campaign = Campaign(
        slug=slug,
        title=f"“枫桥式”评选 {slug}",
        year=2023,
        phase=phase.value,
        visits=persisted,
    )
    await campaign.save().run()
    return campaign


async def persisted(campaign: Campaign) -> int:
    row = await Campaign.select(Campaign.visits).where(Campaign.id == campaign.id).first().run()
    return row["visits"]


def shown(page: str) -> int:
    """The visits figure a public campaign page shows."""
    match = re.search(r"<strong>([\d,]+)</strong> 累计访问量", page)
    assert match, "no visits figure on the page"
    return int(match.group(1).replace(",", ""))


def app_store(client) -> StateStore:  # type: ignore[no-untyped-def]
    return client.app.state.stores.state


# --- the public page ---------------------------------------------------------------------


async def test_each_view_of_the_campaign_page_is_counted(client) -> None:
    campaign = await make_campaign()
    figures = []
    for _ in range(3):
        response = await client.get("/campaigns/dingxi-2023")
        assert response.status_code == 200
        figures.append(shown(response.text))
    assert figures == [1, 2, 3]
    # Counted in the store, not yet written to the database.
    assert await app_store(client).get(f"visits:{campaign.id}") == b"3"
    assert await persisted(campaign) == 0


async def test_visits_shown_are_persisted_plus_pending(client) -> None:
    campaign = await make_campaign(persisted=392_564)
    other = await make_campaign("lanzhou-2023", persisted=5)
    response = await client.get("/campaigns/dingxi-2023")
    assert "392,565" in response.text and shown(response.text) == 392_565

    store = app_store(client)
    assert await visits.flush(store) == 1
    assert await persisted(campaign) == 392_565
    assert await store.get(f"visits:{campaign.id}") is None

    # After the flush the figure goes on from the persisted total, without a jump.
    response = await client.get("/campaigns/dingxi-2023")
    assert shown(response.text) == 392_566
    # Each campaign counts its own views.
    assert shown((await client.get("/campaigns/lanzhou-2023")).text) == 6
    assert await persisted(other) == 5


async def test_api_reports_the_same_visits_figure(client) -> None:
    await make_campaign(persisted=10)
    for _ in range(2):
        page = await client.get("/campaigns/dingxi-2023")
    assert shown(page.text) == 12

    response = await client.get("/api/v1/campaigns/dingxi-2023")
    assert response.status_code == 200
    assert response.json()["visits"] == 12
    # Reading the API is not a page view.
    again = await client.get("/api/v1/campaigns/dingxi-2023")
    assert again.json()["visits"] == 12

    await visits.flush(app_store(client))
    assert (await client.get("/api/v1/campaigns/dingxi-2023")).json()["visits"] == 12


async def test_draft_campaigns_are_hidden_and_not_counted(client) -> None:
    draft = await make_campaign("draft-2024", phase=Phase.draft)
    response = await client.get("/campaigns/draft-2024")
    assert response.status_code == 404
    assert "找不到该评选活动。" in response.text
    assert draft.title not in response.text

    response = await client.get("/api/v1/campaigns/draft-2024")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "message": "找不到该评选活动。"}
    assert "draft-2024" not in (await client.get("/api/v1/campaigns")).text

    store = app_store(client)
    assert await store.get(f"visits:{draft.id}") is None
    assert await visits.flush(store) == 0
    assert await persisted(draft) == 0


async def test_unknown_campaign_is_404_and_not_counted(client) -> None:
    campaign = await make_campaign()
    assert (await client.get("/campaigns/nope")).status_code == 404
    assert await visits.flush(app_store(client)) == 0
    assert await persisted(campaign) == 0


# --- flushing, on both store backends ----------------------------------------------------


async def test_flush_moves_the_counts_once(db, store: StateStore) -> None:
    first = await make_campaign("first", persisted=100)
    second = await make_campaign("second")
    await asyncio.gather(*(visits.count_visit(store, first.id) for _ in range(30)))
    await asyncio.gather(*(visits.count_visit(store, second.id) for _ in range(7)))
    first = await Campaign.objects().get(Campaign.id == first.id).run()
    assert await visits.visits(store, first) == 130

    assert await visits.flush(store) == 37
    assert (await persisted(first), await persisted(second)) == (130, 7)
    assert await store.get(f"visits:{first.id}") is None
    assert await visits.flush(store) == 0  # nothing left to move
    assert (await persisted(first), await persisted(second)) == (130, 7)

    first = await Campaign.objects().get(Campaign.id == first.id).run()
    assert await visits.visits(store, first) == 130


async def test_concurrent_flushes_count_each_view_exactly_once(db, store: StateStore) -> None:
    campaigns = [await make_campaign(f"c-{i}", persisted=i) for i in range(4)]
    for index, campaign in enumerate(campaigns):
        await asyncio.gather(
            *(visits.count_visit(store, campaign.id) for _ in range(10 * index + 5))
        )
    expected = sum(10 * i + 5 for i in range(4))

    # Two flushes race, as the background tasks of two workers would.
    moved = await asyncio.gather(visits.flush(store), visits.flush(store))
    assert sum(moved) == expected
    assert [await persisted(c) for c in campaigns] == [i + 10 * i + 5 for i in range(4)]
    assert await asyncio.gather(visits.flush(store), visits.flush(store)) == [0, 0]
    assert [await persisted(c) for c in campaigns] == [i + 10 * i + 5 for i in range(4)]


async def test_views_counted_while_flushing_are_not_lost(db, store: StateStore) -> None:
    campaign = await make_campaign()

    async def views(n: int) -> None:
        for _ in range(n):
            await visits.count_visit(store, campaign.id)
            await asyncio.sleep(0)

    moved = await asyncio.gather(views(50), visits.flush(store), views(50), visits.flush(store))
    moved_total = moved[1] + moved[3] + await visits.flush(store)
    assert moved_total == 100
    assert await persisted(campaign) == 100


async def test_two_redis_clients_flushing_at_once_count_once(db, redis_url: str) -> None:
    """Two worker processes, each with its own Redis connection pool, share the counters."""
    namespace = f"t{uuid.uuid4().hex}"
    one = RedisStateStore.from_url(redis_url, namespace=namespace)
    two = RedisStateStore.from_url(redis_url, namespace=namespace)
    try:
        campaign = await make_campaign()
        await asyncio.gather(
            *(visits.count_visit(one if i % 2 else two, campaign.id) for i in range(40))
        )
        assert await visits.visits(two, campaign) == 40
        moved = await asyncio.gather(visits.flush(one), visits.flush(two))
        assert sum(moved) == 40
        assert await persisted(campaign) == 40
        assert await one.get(f"visits:{campaign.id}") is None
    finally:
        await one.delete_all()
        await one.close()
        await two.close()


# --- the store failing -------------------------------------------------------------------


class BrokenStore(MemoryStateStore):
    async def incr(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise StoreUnavailable("down")

    async def get(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise StoreUnavailable("down")

    async def get_delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise StoreUnavailable("down")


async def test_a_store_outage_never_breaks_counting_or_showing(db) -> None:
    campaign = await make_campaign(persisted=42)
    store = BrokenStore()
    await visits.count_visit(store, campaign.id)  # no exception
    assert await visits.visits(store, campaign) == 42
    with pytest.raises(StoreUnavailable):
        await visits.flush(store)
    assert await persisted(campaign) == 42


async def test_counts_stay_pending_when_the_database_write_fails(
    db, store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database outage mid-flush must not lose the views it had taken from the store."""
    first = await make_campaign("first", persisted=1)
    second = await make_campaign("second", persisted=2)
    for campaign, views in ((first, 3), (second, 4)):
        await asyncio.gather(*(visits.count_visit(store, campaign.id) for _ in range(views)))

    class Outage:
        def where(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return self

        async def run(self) -> None:
            raise ConnectionError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr(Campaign, "update", classmethod(lambda cls, *a, **kw: Outage()))
        with pytest.raises(ConnectionError):
            await visits.flush(store)

    # Nothing was written, and nothing was lost: the next flush moves everything once.
    assert (await persisted(first), await persisted(second)) == (1, 2)
    first = await Campaign.objects().get(Campaign.id == first.id).run()
    assert await visits.visits(store, first) == 4
    assert await visits.flush(store) == 7
    assert (await persisted(first), await persisted(second)) == (4, 6)
    assert await visits.flush(store) == 0
