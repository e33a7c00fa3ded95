"""The portal's shared state: sessions, counters, queues and rate-limit windows.

One backend serves the whole app: Redis when ``REDIS_URL`` is set (shared by every
worker process), otherwise an in-process store for a single process. Both implement
Litestar's ``Store`` interface, so Litestar's server-side sessions use them directly,
plus the few atomic operations the portal needs on top (counters with an expiry,
take-once values, FIFO lists, and scripts: several steps as one). Login throttling uses
the ``limits`` library on the same backend.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Self

import redis.asyncio as aioredis
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from litestar.stores.base import NamespacedStore

from portal.settings import Settings

REDIS_MAX_CONNECTIONS = 64


# A batched operation: its name, its key, then the method's other arguments.
Op = tuple[Any, ...]
_BATCH_OPS = {"incr": "incr", "get": "get", "set": "set", "set_if_absent": "set_if_absent"}


class StoreUnavailable(Exception):
    """The shared store (Redis) cannot be reached; nothing was changed."""


@dataclass(frozen=True)
class Script:
    """Several steps on the store as one atomic step, in one round trip.

    ``lua`` runs on Redis (``KEYS`` namespaced, ``ARGV`` as given); ``twin`` is the same
    steps for the in-process store, written with the store's own methods and awaiting
    nothing else, so that it runs within one step of the event loop (atomic there). The
    keys the script builds itself (``KEYS[i] .. ':' .. n``) extend a key it was given,
    so they stay in the store's namespace. Results: integers, byte strings, ``None``
    (Redis turns Lua numbers into integers, ``false`` into ``None``).
    """

    name: str
    lua: str
    twin: Callable[[StateStore, list[str], list[Any]], Awaitable[list[Any]]]


def _seconds(expires_in: int | timedelta | None) -> int | None:
    if expires_in is None:
        return None
    if isinstance(expires_in, timedelta):
        return max(1, int(expires_in.total_seconds()))
    return max(1, int(expires_in))


class StateStore(NamespacedStore):
    """Litestar's store interface plus the atomic operations the portal relies on."""

    async def incr(
        self, key: str, amount: int = 1, expires_in: int | timedelta | None = None
    ) -> int:
        """Add ``amount`` to an integer counter and return the new value.

        The expiry is set when the counter is created and not moved by later
        increments, so a counter with an expiry is a fixed window.
        """
        raise NotImplementedError

    async def get_delete(self, key: str) -> bytes | None:
        """Return the value and delete it in one step: only one caller ever gets it."""
        raise NotImplementedError

    async def set_if_absent(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> bool:
        """Set the value only if the key does not exist; say whether it was set."""
        raise NotImplementedError

    async def expire(self, key: str, expires_in: int | timedelta) -> None:
        """Give an existing key a new expiry (no effect when the key does not exist)."""
        raise NotImplementedError

    async def batch(self, ops: list[Op]) -> list[Any]:
        """Run several operations in one round trip; return their results in order.

        Each operation is atomic on its own (as the single-key methods are), not the
        batch as a whole. Operations, with every argument given (``expires_in`` may be
        ``None``): ``("incr", key, amount, expires_in)``, ``("get", key)``,
        ``("set", key, value, expires_in)``, ``("set_if_absent", key, value, expires_in)``.
        """
        results = []
        for name, key, *args in ops:
            results.append(await getattr(self, _BATCH_OPS[name])(key, *args))
        return results

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        """The values of several keys in one round trip (``None`` where missing)."""
        raise NotImplementedError

    async def push(self, key: str, *values: str | bytes) -> int:
        """Append values to the end of a list; return its new length."""
        raise NotImplementedError

    async def pop(self, key: str) -> bytes | None:
        """Remove and return the first value of a list, or ``None`` when it is empty."""
        raise NotImplementedError

    async def length(self, key: str) -> int:
        """The number of values in a list."""
        raise NotImplementedError

    def key_from(self, other: StateStore, key: str) -> str:
        """``other``'s ``key`` as this store names it (``other`` is this store, or one
        made from it by ``with_namespace``)."""
        if other.namespace == self.namespace:
            return key
        prefix = f"{self.namespace}:"
        if not other.namespace.startswith(prefix):
            raise ValueError(f"{other.namespace!r} is not within {self.namespace!r}")
        return f"{other.namespace.removeprefix(prefix)}:{key}"

    async def run(self, script: Script, keys: list[str], args: list[Any]) -> list[Any]:
        """Run ``script`` on ``keys`` (un-namespaced, as every method takes them) and
        ``args``, atomically; its results."""
        return await script.twin(self, keys, args)

    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` when the backend does not answer."""

    async def close(self) -> None:
        """Release connections (the root store only)."""


def _encode(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


@dataclass
class _Item:
    value: bytes | deque[bytes]
    expires_at: float | None = None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass
class _MemoryData:
    items: dict[str, _Item] = field(default_factory=dict)


class MemoryStateStore(StateStore):
    """In-process store for one process.

    Every operation runs without awaiting in between, so on one event loop each is
    atomic without a lock.
    """

    def __init__(self, namespace: str = "portal", _data: _MemoryData | None = None) -> None:
        self.namespace = namespace
        self._data = _data or _MemoryData()

    def with_namespace(self, namespace: str) -> Self:
        return type(self)(f"{self.namespace}:{namespace}", self._data)

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    def _live(self, key: str) -> _Item | None:
        item = self._data.items.get(self._key(key))
        if item is None:
            return None
        if item.expired(time.monotonic()):
            del self._data.items[self._key(key)]
            return None
        return item

    @staticmethod
    def _deadline(expires_in: int | timedelta | None) -> float | None:
        seconds = _seconds(expires_in)
        return None if seconds is None else time.monotonic() + seconds

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        self._data.items[self._key(key)] = _Item(_encode(value), self._deadline(expires_in))

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        item = self._live(key)
        if item is None or not isinstance(item.value, bytes):
            return None
        if renew_for is not None and item.expires_at is not None:
            item.expires_at = self._deadline(renew_for)
        return item.value

    async def delete(self, key: str) -> None:
        self._data.items.pop(self._key(key), None)

    async def delete_all(self) -> None:
        prefix = f"{self.namespace}:"
        for key in [k for k in self._data.items if k.startswith(prefix)]:
            del self._data.items[key]

    async def exists(self, key: str) -> bool:
        return self._live(key) is not None

    async def expires_in(self, key: str) -> int | None:
        item = self._live(key)
        if item is None or item.expires_at is None:
            return None
        return max(0, round(item.expires_at - time.monotonic()))

    async def incr(
        self, key: str, amount: int = 1, expires_in: int | timedelta | None = None
    ) -> int:
        item = self._live(key)
        if item is None:
            item = _Item(b"0", self._deadline(expires_in))
            self._data.items[self._key(key)] = item
        value = int(item.value) + amount  # type: ignore[arg-type]
        item.value = str(value).encode()
        return value

    async def get_delete(self, key: str) -> bytes | None:
        item = self._live(key)
        if item is None:
            return None
        del self._data.items[self._key(key)]
        return item.value if isinstance(item.value, bytes) else None

    async def set_if_absent(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> bool:
        if self._live(key) is not None:
            return False
        await self.set(key, value, expires_in)
        return True

    async def expire(self, key: str, expires_in: int | timedelta) -> None:
        item = self._live(key)
        if item is not None:
            item.expires_at = self._deadline(expires_in)

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        return [await self.get(key) for key in keys]

    async def push(self, key: str, *values: str | bytes) -> int:
        item = self._live(key)
        if item is None:
            item = _Item(deque())
            self._data.items[self._key(key)] = item
        assert isinstance(item.value, deque)
        item.value.extend(_encode(v) for v in values)
        return len(item.value)

    async def pop(self, key: str) -> bytes | None:
        item = self._live(key)
        if item is None or not isinstance(item.value, deque) or not item.value:
            return None
        return item.value.popleft()

    async def length(self, key: str) -> int:
        item = self._live(key)
        return len(item.value) if item is not None and isinstance(item.value, deque) else 0


class RedisStateStore(StateStore):
    """Redis-backed store shared by every worker and node."""

    def __init__(
        self, client: aioredis.Redis, namespace: str = "portal", *, owner: bool = True
    ) -> None:
        self._redis = client
        self.namespace = namespace
        self._owner = owner
        self._scripts: dict[str, Any] = {}  # registered: EVALSHA, loaded on first use

    @classmethod
    def from_url(cls, url: str, namespace: str = "portal") -> RedisStateStore:
        # A blocking pool makes a burst of requests wait briefly for a connection
        # instead of failing with "too many connections".
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=REDIS_MAX_CONNECTIONS,
            timeout=5,
            socket_connect_timeout=2,
            socket_timeout=5,
            health_check_interval=10,
        )
        client = aioredis.Redis(connection_pool=pool)
        return cls(client, namespace)

    def with_namespace(self, namespace: str) -> Self:
        return type(self)(self._redis, f"{self.namespace}:{namespace}", owner=False)

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    async def _call(self, coro):  # type: ignore[no-untyped-def]
        try:
            return await coro
        except (aioredis.ConnectionError, aioredis.TimeoutError, OSError) as exc:
            raise StoreUnavailable(str(exc)) from exc

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        await self._call(self._redis.set(self._key(key), _encode(value), ex=_seconds(expires_in)))

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        if renew_for is None:
            return await self._call(self._redis.get(self._key(key)))
        return await self._call(self._redis.getex(self._key(key), ex=_seconds(renew_for)))

    async def delete(self, key: str) -> None:
        await self._call(self._redis.delete(self._key(key)))

    async def delete_all(self) -> None:
        async def _delete() -> None:
            batch = []
            async for key in self._redis.scan_iter(match=f"{self.namespace}:*", count=500):
                batch.append(key)
                if len(batch) >= 500:
                    await self._redis.delete(*batch)
                    batch.clear()
            if batch:
                await self._redis.delete(*batch)

        await self._call(_delete())

    async def exists(self, key: str) -> bool:
        return bool(await self._call(self._redis.exists(self._key(key))))

    async def expires_in(self, key: str) -> int | None:
        ttl = await self._call(self._redis.ttl(self._key(key)))
        return None if ttl < 0 else int(ttl)

    async def incr(
        self, key: str, amount: int = 1, expires_in: int | timedelta | None = None
    ) -> int:
        full = self._key(key)
        if expires_in is None:  # one command: no transaction needed
            return int(await self._call(self._redis.incrby(full, amount)))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incrby(full, amount)
            if expires_in is not None:
                pipe.expire(full, _seconds(expires_in), nx=True)
            result = await self._call(pipe.execute())
        return int(result[0])

    async def get_delete(self, key: str) -> bytes | None:
        return await self._call(self._redis.getdel(self._key(key)))

    async def set_if_absent(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> bool:
        result = await self._call(
            self._redis.set(self._key(key), _encode(value), ex=_seconds(expires_in), nx=True)
        )
        return bool(result)

    async def expire(self, key: str, expires_in: int | timedelta) -> None:
        await self._call(self._redis.expire(self._key(key), _seconds(expires_in)))

    async def run(self, script: Script, keys: list[str], args: list[Any]) -> list[Any]:
        registered = self._scripts.get(script.name)
        if registered is None:
            registered = self._scripts[script.name] = self._redis.register_script(script.lua)
        return await self._call(registered(keys=[self._key(k) for k in keys], args=args))

    async def batch(self, ops: list[Op]) -> list[Any]:
        if not ops:
            return []
        picks = []  # which pipeline result answers each operation
        async with self._redis.pipeline(transaction=False) as pipe:
            for name, key, *args in ops:
                full = self._key(key)
                picks.append(len(pipe.command_stack))
                if name == "incr":
                    amount, expires_in = args
                    pipe.incrby(full, amount)
                    if expires_in is not None:
                        pipe.expire(full, _seconds(expires_in), nx=True)
                elif name == "get":
                    pipe.get(full)
                elif name in ("set", "set_if_absent"):
                    value, expires_in = args
                    pipe.set(
                        full,
                        _encode(value),
                        ex=_seconds(expires_in),
                        nx=name == "set_if_absent",
                    )
                else:
                    raise ValueError(f"unknown batch operation {name!r}")
            results = await self._call(pipe.execute())
        answers: list[Any] = []
        for (name, *_), index in zip(ops, picks, strict=True):
            value = results[index]
            if name == "incr":
                value = int(value)
            elif name == "set_if_absent":
                value = bool(value)
            elif name == "set":
                value = None
            answers.append(value)
        return answers

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        if not keys:
            return []
        return await self._call(self._redis.mget([self._key(k) for k in keys]))

    async def push(self, key: str, *values: str | bytes) -> int:
        return int(await self._call(self._redis.rpush(self._key(key), *map(_encode, values))))

    async def pop(self, key: str) -> bytes | None:
        return await self._call(self._redis.lpop(self._key(key)))

    async def length(self, key: str) -> int:
        return int(await self._call(self._redis.llen(self._key(key))))

    async def ping(self) -> None:
        await self._call(self._redis.ping())

    async def close(self) -> None:
        if self._owner:
            await self._redis.aclose()


@dataclass
class Stores:
    """The app's shared state: the key-value store and the rate-limit storage."""

    state: StateStore
    limits: Storage

    async def close(self) -> None:
        await self.state.close()


def create_stores(settings: Settings) -> Stores:
    """Redis when ``REDIS_URL`` is set, in-process otherwise."""
    if settings.redis_url:
        return Stores(
            state=RedisStateStore.from_url(settings.redis_url),
            limits=RedisStorage(
                "async+" + settings.redis_url,
                implementation="redispy",
                key_prefix="portal-limits",
                socket_connect_timeout=2,
                socket_timeout=5,
            ),
        )
    return Stores(state=MemoryStateStore(), limits=MemoryStorage())
