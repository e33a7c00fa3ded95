"""One contract for both store backends: the in-process store and a real Redis."""

from __future__ import annotations

import asyncio

import pytest

from portal.stores import RedisStateStore, StateStore, StoreUnavailable


async def test_set_get_delete(store: StateStore) -> None:
    assert await store.get("k") is None
    await store.set("k", "值")
    assert await store.get("k") == "值".encode()
    assert await store.exists("k")
    await store.delete("k")
    assert await store.get("k") is None
    await store.delete("k")  # deleting a missing key is fine


async def test_expiry(store: StateStore) -> None:
    await store.set("short", b"x", expires_in=1)
    assert 0 <= (await store.expires_in("short") or 0) <= 1
    await asyncio.sleep(1.2)
    assert await store.get("short") is None
    await store.set("forever", b"x")
    assert await store.expires_in("forever") is None


async def test_renew_on_get(store: StateStore) -> None:
    await store.set("s", b"x", expires_in=1)
    assert await store.get("s", renew_for=30) == b"x"
    assert (await store.expires_in("s") or 0) > 1


async def test_expire_sets_a_new_expiry(store: StateStore) -> None:
    await store.set("e", b"x")
    await store.expire("e", 1)
    assert 0 <= (await store.expires_in("e") or 0) <= 1
    await store.expire("missing", 5)  # no effect, no error
    assert await store.get("missing") is None


async def test_get_many(store: StateStore) -> None:
    await store.set("a", b"1")
    await store.set("c", b"3")
    assert await store.get_many(["a", "b", "c"]) == [b"1", None, b"3"]
    assert await store.get_many([]) == []


async def test_batch_runs_each_operation_in_order(store: StateStore) -> None:
    """One round trip, the same results as the single-key methods, in order."""
    await store.set("taken", b"x")
    results = await store.batch(
        [
            ("incr", "n", 2, 60),
            ("incr", "n", 3, None),
            ("set", "s", "值", 60),
            ("get", "s"),
            ("set_if_absent", "taken", b"y", 60),
            ("set_if_absent", "free", b"y", None),
            ("get", "missing"),
        ]
    )
    assert results == [2, 5, None, "值".encode(), False, True, None]
    assert 0 < (await store.expires_in("n") or 0) <= 60  # the first incr set the window
    assert await store.get("taken") == b"x"
    assert await store.batch([]) == []


async def test_batched_increments_are_exact_under_concurrency(store: StateStore) -> None:
    await asyncio.gather(*(store.batch([("incr", "c", 1, 60), ("get", "c")]) for _ in range(50)))
    assert await store.get("c") == b"50"


async def test_namespaces_are_separate(store: StateStore) -> None:
    a, b = store.with_namespace("a"), store.with_namespace("b")
    await a.set("k", b"1")
    assert await b.get("k") is None
    await b.set("k", b"2")
    await a.delete_all()
    assert await a.get("k") is None
    assert await b.get("k") == b"2"


async def test_incr_is_a_fixed_window(store: StateStore) -> None:
    assert await store.incr("c", expires_in=1) == 1
    assert await store.incr("c", 4, expires_in=60) == 5  # the first expiry stands
    await asyncio.sleep(1.2)
    assert await store.incr("c") == 1
    assert await store.expires_in("c") is None


async def test_incr_is_exact_under_concurrency(store: StateStore) -> None:
    results = await asyncio.gather(*(store.incr("n", expires_in=60) for _ in range(200)))
    assert sorted(results) == list(range(1, 201))


async def test_get_delete_hands_out_once(store: StateStore) -> None:
    await store.set("once", b"secret")
    taken = await asyncio.gather(*(store.get_delete("once") for _ in range(20)))
    assert taken.count(b"secret") == 1
    assert await store.get("once") is None


async def test_set_if_absent(store: StateStore) -> None:
    results = await asyncio.gather(*(store.set_if_absent("lock", str(i), 60) for i in range(20)))
    assert results.count(True) == 1
    assert not await store.set_if_absent("lock", "again")


async def test_list_is_fifo(store: StateStore) -> None:
    assert await store.pop("q") is None
    assert await store.length("q") == 0
    assert await store.push("q", "a", "b") == 2
    assert await store.push("q", b"c") == 3
    assert [await store.pop("q") for _ in range(4)] == [b"a", b"b", b"c", None]


async def test_each_pushed_value_is_popped_once(store: StateStore) -> None:
    await store.push("pool", *(str(i) for i in range(100)))
    popped = await asyncio.gather(*(store.pop("pool") for _ in range(120)))
    values = [p for p in popped if p is not None]
    assert sorted(values, key=int) == [str(i).encode() for i in range(100)]


async def test_unreachable_redis_is_reported_as_unavailable() -> None:
    from tests.services import free_port

    dead = RedisStateStore.from_url(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(StoreUnavailable):
        await dead.set("k", b"v")
    with pytest.raises(StoreUnavailable):
        await dead.ping()
    await dead.close()
