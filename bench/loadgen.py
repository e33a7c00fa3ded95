"""The load generator: an HTTP/1.1 keep-alive client on raw asyncio streams.

A general-purpose client (httpx, aiohttp) spends more CPU per request than the portal
does on its cheapest route, so it would measure itself. This one writes pre-built
request bytes and parses only the status line, ``Content-Length``,
``Transfer-Encoding`` and ``Connection``.

One ``LoadSpec`` runs in one process (``run_load``, in one of the ``LoadProcesses``
the orchestrator keeps): ``connections`` keep-alive connections, each sending one request,
reading the whole answer, then sending the next (closed loop). The connections are
opened before ``start_at``; answers completed during the first ``warmup`` seconds are
not timed; answers completed in the following ``duration`` seconds are counted and
their latencies kept. A request in flight at the deadline is finished (its status
still counts, so every acknowledged vote is seen) and the connection stops.

With a ``rate`` the load is an open loop instead: requests are sent at that fixed
rate whatever the server answers, each on an idle keep-alive connection of a pool
(``connections`` opened beforehand, more opened as needed up to ``max_connections``),
so a slow server faces more and more requests in flight rather than fewer new ones,
as with real visitors. Latency runs from the moment a request was due, so time spent
waiting for a connection counts too; every answer is timed, whatever its status. A
request unanswered after ``request_timeout`` seconds is abandoned and counted.

Every request that carries a client address gets a new one in ``10.0.0.0/8`` (sent as
``X-Forwarded-For``; the portal believes it from the trusted proxy 127.0.0.1), so
each simulated voter is its own network and a new cookie voter.

The ``flow`` kind is what a voter's browser does, on each connection in a closed loop:
a new voter (a new address, no cookie) takes a CAPTCHA, casts a first vote with its
answer, then ``votes_per_voter - 1`` more votes for other candidates with the vote pass
and the voter cookie that vote returned (a refused vote ends the voter's session). Votes
are timed as votes; the challenges' answers are counted apart (``captcha_statuses``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing
import signal
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Literal

Kind = Literal["get", "captcha", "vote", "flow"]

CONNECT_TIMEOUT = 10.0
# An idle keep-alive connection older than this is not reused: the server closes idle
# connections after 5 s (uvicorn's default), and a request written on a connection it
# is closing would fail as a browser's would not (a browser retries it on a new one).
KEEPALIVE_IDLE = 3.0
# A phase that has not ended this long after its deadline is abandoned.
TAIL_TIMEOUT = 30.0
USER_AGENT = "portal-bench/1"
VOTER_COOKIE = b"portal_voter="
# A flow's voter whose CAPTCHA request was refused tries again as a new voter after this.
FLOW_RETRY_PAUSE = 0.05


@dataclass(frozen=True)
class LoadSpec:
    """What one load process does."""

    kind: Kind
    host: str
    port: int
    path: str
    connections: int
    start_at: float  # wall clock (time.time()) at which the connections start sending
    warmup: float
    duration: float
    ok_status: int = 200
    # First client address of this process, as an offset in 10.0.0.0/8.
    ip_base: int = 0
    # Votes: (candidate_id, captcha_id) per request, used once each.
    ballots: tuple[tuple[int, str], ...] = ()
    answer: str = ""
    # Stop after this many requests in all (0: only the deadline stops).
    limit: int = 0
    # Keep the ``captcha_id`` of every successful answer (fetching challenges).
    collect: bool = False
    # Open loop: requests per second sent by this process (0: closed loop).
    rate: float = 0.0
    max_connections: int = 1000
    request_timeout: float = 30.0
    # Flows: the candidates voted for, in turn, and the votes each voter casts.
    candidates: tuple[int, ...] = ()
    votes_per_voter: int = 1
    captcha_path: str = "/api/v1/captcha"


@dataclass
class LoadResult:
    """What one load process measured."""

    statuses: Counter[int] = field(default_factory=Counter)  # every answer, untimed ones too
    ok: int = 0  # successful answers completed inside the timed window
    window: float = 0.0  # seconds the timed window lasted (shorter if ballots ran out)
    # Of those answers (open loop: of every answer completed inside the window).
    latencies_ms: array = field(default_factory=lambda: array("d"))
    # Open loop: the status of each of those answers, in the same order.
    latency_statuses: array = field(default_factory=lambda: array("i"))
    # Open loop: how late each request was written (ms after it was due): the client's
    # own delay (a busy machine, waiting for a connection), part of every latency.
    send_lags_ms: array = field(default_factory=lambda: array("d"))
    connection_errors: int = 0
    timeouts: int = 0  # open loop: requests abandoned after ``request_timeout``
    sent: int = 0  # requests sent (open loop)
    held: int = 0  # accepted votes the brushing checks held for review
    # The supply (ballots, or the ``limit``) ended before the deadline: the timed
    # window ends when the first connection had nothing left to send.
    ran_out: bool = False
    collected: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # what ended a connection early
    captcha_statuses: Counter[int] = field(default_factory=Counter)  # flows' challenges


def client_address(offset: int) -> str:
    """The ``offset``-th address of 10.0.0.0/8."""
    offset %= 1 << 24
    return f"10.{offset >> 16}.{(offset >> 8) & 255}.{offset & 255}"


class _Run:
    """The shared state of one process's connections."""

    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        self.host_header = f"{spec.host}:{spec.port}"
        self.next_address = spec.ip_base
        self.next_ballot = 0
        self.sent = 0
        self.result = LoadResult()
        self.measure_from = spec.start_at + spec.warmup
        self.deadline = self.measure_from + spec.duration
        self.ran_out_at: float | None = None
        self.ok_times = array("d")  # completion (wall clock) of each timed success
        self.latency_times = array("d")  # completion (wall clock) of each timed latency
        self.static = (
            f"GET {spec.path} HTTP/1.1\r\nHost: {self.host_header}\r\n"
            f"User-Agent: {USER_AGENT}\r\n\r\n"
        ).encode()

    def _address(self) -> str:
        address = client_address(self.next_address)
        self.next_address += 1
        return address

    def _ran_out(self) -> None:
        if self.ran_out_at is None:
            self.ran_out_at = time.time()

    def post(
        self, path: str, address: str, body: bytes = b"", cookie: bytes | None = None
    ) -> bytes:
        """A POST by the voter at ``address``. Each voter has its own browser too: one
        User-Agent for every vote would trip the brushing rule on User-Agent bursts and
        time the "held" path instead."""
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host_header}\r\n"
            f"User-Agent: {USER_AGENT} (voter {address})\r\nX-Forwarded-For: {address}\r\n"
            + ("Content-Type: application/json\r\n" if body else "")
            + f"Content-Length: {len(body)}\r\n"
        ).encode()
        if cookie:
            head += b"Cookie: " + cookie + b"\r\n"
        return head + b"\r\n" + body

    def next_request(self) -> bytes | None:
        """The bytes of the next request, or ``None`` when there is nothing left to send."""
        spec = self.spec
        if spec.limit and self.sent >= spec.limit:
            return self._ran_out()
        self.sent += 1
        if spec.kind == "get":
            return self.static
        if spec.kind == "captcha":
            return self.post(spec.path, self._address())
        if self.next_ballot >= len(spec.ballots):
            return self._ran_out()
        candidate_id, captcha_id = spec.ballots[self.next_ballot]
        self.next_ballot += 1
        body = (
            f'{{"candidate_id":{candidate_id},"captcha_id":"{captcha_id}",'
            f'"captcha_answer":"{spec.answer}"}}'
        ).encode()
        return self.post(spec.path, self._address(), body)

    def record(self, status: int, body: bytes, started: float, finished: float) -> None:
        """Count one answer; time it if it is a success (open loop: any answer) inside
        the window."""
        result = self.result
        result.statuses[status] += 1
        ok = status == self.spec.ok_status
        if ok and self.spec.collect:
            result.collected.append(json.loads(body)["captcha_id"])
        elif ok and self.spec.kind in ("vote", "flow") and b'"status":"held"' in body:
            result.held += 1
        if not ok and not self.spec.rate:
            return
        now = time.time()
        if self.measure_from <= now < self.deadline:
            if ok:
                self.ok_times.append(now)
            self.latency_times.append(now)
            result.latencies_ms.append((finished - started) * 1000.0)
            if self.spec.rate:
                result.latency_statuses.append(status)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if size == 0:
            # Trailers, if any, end with an empty line.
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool, bytes | None]:
    """(status, body, whether the server closes the connection, the voter cookie it sets
    as ``name=value``) of one answer."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    chunked = close = False
    cookie = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = b"close" in value.lower()
        elif name == b"set-cookie" and value.strip().startswith(VOTER_COOKIE):
            cookie = value.strip().split(b";", 1)[0]
    if chunked:
        body = await _read_chunked(reader)
    else:
        body = await reader.readexactly(length) if length else b""
    return status, body, close, cookie


class _Link:
    """One keep-alive connection, opened again after an error or a close."""

    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.spec.host, self.spec.port), CONNECT_TIMEOUT
        )

    def drop(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def exchange(self, request: bytes) -> tuple[int, bytes, bytes | None] | None:
        """Send one request and read its answer: (status, body, voter cookie), or
        ``None`` when the connection failed (it is dropped; the next call opens one).
        Raises ``OSError`` or ``TimeoutError`` when no connection can be opened."""
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        try:
            self.writer.write(request)
            status, body, close, cookie = await read_response(self.reader)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            self.drop()
            return None
        if close:
            self.drop()
        return status, body, cookie


async def _connection(run: _Run) -> None:
    """One keep-alive connection: send, read, repeat until the deadline."""
    link = _Link(run.spec)
    try:
        await link.open()
        await asyncio.sleep(max(0.0, run.spec.start_at - time.time()))
        while time.time() < run.deadline:
            request = run.next_request()
            if request is None:
                return
            started = time.perf_counter()
            answer = await link.exchange(request)
            if answer is None:
                run.result.connection_errors += 1
                await asyncio.sleep(0.05)
                continue
            run.record(answer[0], answer[1], started, time.perf_counter())
    except (OSError, TimeoutError):
        run.result.connection_errors += 1
    finally:
        link.drop()


async def _voters(run: _Run) -> None:
    """One connection of voters in turn (closed loop) until the deadline."""
    link = _Link(run.spec)
    try:
        await link.open()
        await asyncio.sleep(max(0.0, run.spec.start_at - time.time()))
        while time.time() < run.deadline:
            await _voter(run, link)
    except (OSError, TimeoutError):
        run.result.connection_errors += 1
    finally:
        link.drop()


async def _voter(run: _Run, link: _Link) -> None:
    """One voter: a CAPTCHA, a vote with its answer, then votes with the vote pass."""
    spec = run.spec
    address = run._address()
    answer = await link.exchange(run.post(spec.captcha_path, address))
    if answer is None or answer[0] != 201:
        if answer is None:
            run.result.connection_errors += 1
        else:
            run.result.captcha_statuses[answer[0]] += 1
        await asyncio.sleep(FLOW_RETRY_PAUSE)
        return
    run.result.captcha_statuses[201] += 1
    proof = f'"captcha_id":"{json.loads(answer[1])["captcha_id"]}","captcha_answer":"{spec.answer}"'
    cookie: bytes | None = None
    first = run.next_ballot
    run.next_ballot += spec.votes_per_voter
    for k in range(spec.votes_per_voter):
        if time.time() >= run.deadline:
            return
        candidate = spec.candidates[(first + k) % len(spec.candidates)]
        body = f'{{"candidate_id":{candidate},{proof}}}'.encode()
        started = time.perf_counter()
        answer = await link.exchange(run.post(spec.path, address, body, cookie))
        if answer is None:
            run.result.connection_errors += 1
            return
        status, body, set_cookie = answer
        run.record(status, body, started, time.perf_counter())
        vote_pass = json.loads(body).get("vote_pass") if status == 201 else None
        if not vote_pass:
            return  # refused, or no pass: this voter's session ends
        cookie = cookie or set_cookie
        proof = f'"vote_pass":"{vote_pass}"'


class _Pool:
    """Keep-alive connections for the open loop: idle ones are reused, new ones opened
    up to ``limit``; beyond that a request waits for one to come back."""

    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        # (reader, writer) and since when each has been idle, most recent last.
        self.idle: list[tuple[tuple[asyncio.StreamReader, asyncio.StreamWriter], float]] = []
        self.opened = 0
        self.returned = asyncio.Condition()

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.opened += 1
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(self.spec.host, self.spec.port), CONNECT_TIMEOUT
            )
        except BaseException:
            self.opened -= 1
            raise

    async def take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while True:
            if self.idle:
                conn, since = self.idle.pop()
                if time.monotonic() - since < KEEPALIVE_IDLE and not conn[0].at_eof():
                    return conn
                conn[1].close()  # stale: the server may be closing it
                self.opened -= 1
                continue
            if self.opened < self.spec.max_connections:
                return await self.open()
            async with self.returned:
                await self.returned.wait()

    async def give_back(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        self.idle.append((conn, time.monotonic()))
        async with self.returned:
            self.returned.notify()

    async def discard(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> None:
        conn[1].close()
        self.opened -= 1
        async with self.returned:
            self.returned.notify()

    def close(self) -> None:
        for (_reader, writer), _since in self.idle:
            writer.close()
        self.idle.clear()


async def _one_request(run: _Run, pool: _Pool, request: bytes, due: float) -> None:
    """One open-loop request: a connection from the pool, send, read, give it back."""
    try:
        conn = await pool.take()
    except (OSError, TimeoutError):
        run.result.connection_errors += 1
        return
    reader, writer = conn
    run.result.send_lags_ms.append((time.time() - due) * 1000.0)
    try:
        writer.write(request)
        status, body, close, _cookie = await asyncio.wait_for(
            read_response(reader), run.spec.request_timeout
        )
    except TimeoutError:
        run.result.timeouts += 1
        await pool.discard(conn)
        return
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        run.result.connection_errors += 1
        await pool.discard(conn)
        return
    run.record(status, body, due, time.time())
    if close:
        await pool.discard(conn)
    else:
        await pool.give_back(conn)


async def _open_loop(run: _Run) -> None:
    """Send at ``rate`` per second from ``start_at`` to the deadline; wait for the answers."""
    spec = run.spec
    pool = _Pool(spec)
    opened = await asyncio.gather(
        *(pool.open() for _ in range(min(spec.connections, spec.max_connections))),
        return_exceptions=True,
    )
    for conn in opened:
        if isinstance(conn, BaseException):
            run.result.connection_errors += 1
        else:
            pool.idle.append((conn, time.monotonic()))
    tasks: set[asyncio.Task[None]] = set()
    interval = 1.0 / spec.rate
    sent = 0
    try:
        while True:
            due = spec.start_at + sent * interval
            if due >= run.deadline:
                break
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            request = run.next_request()
            if request is None:
                break
            sent += 1
            task = asyncio.create_task(_one_request(run, pool, request, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        run.result.sent = sent
        if tasks:
            await asyncio.wait(tasks, timeout=spec.request_timeout + CONNECT_TIMEOUT + TAIL_TIMEOUT)
        for task in list(tasks):
            task.cancel()
            run.result.timeouts += 1
    finally:
        pool.close()


async def _main(spec: LoadSpec) -> LoadResult:
    run = _Run(spec)
    if spec.rate:
        tasks = [asyncio.create_task(_open_loop(run))]
    elif spec.kind == "flow":
        tasks = [asyncio.create_task(_voters(run)) for _ in range(spec.connections)]
    else:
        tasks = [asyncio.create_task(_connection(run)) for _ in range(spec.connections)]
    budget = max(0.0, run.deadline - time.time()) + TAIL_TIMEOUT
    if spec.rate:
        budget += spec.request_timeout + CONNECT_TIMEOUT + TAIL_TIMEOUT
    done, pending = await asyncio.wait(tasks, timeout=budget)
    for task in pending:
        task.cancel()
        run.result.connection_errors += 1
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    result = run.result
    for task in done:
        if task.exception() is not None:
            result.connection_errors += 1
            result.failures.append(repr(task.exception()))
    end = run.deadline
    if run.ran_out_at is not None and run.ran_out_at < run.deadline:
        result.ran_out = True
        end = max(run.measure_from, run.ran_out_at)
        kept = [i for i, t in enumerate(run.latency_times) if t < end]
        result.latencies_ms = array("d", (result.latencies_ms[i] for i in kept))
        if result.latency_statuses:
            result.latency_statuses = array("i", (result.latency_statuses[i] for i in kept))
        run.ok_times = array("d", (t for t in run.ok_times if t < end))
    result.ok = len(run.ok_times)
    result.window = max(0.0, end - run.measure_from)
    return result


def run_load(spec: LoadSpec) -> LoadResult:
    """Run one load process's share of a phase (the entry point of a load process)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop comes with litestar[standard]
        return asyncio.run(_main(spec))
    return uvloop.run(_main(spec))


def _serve(conn: Connection) -> None:
    """A load process: run each spec it is sent, until it is sent ``None``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the orchestrator stops it
    conn.send("ready")
    while (spec := conn.recv()) is not None:
        conn.send(run_load(spec))


class LoadProcesses:
    """Load processes kept for the whole run, each driven through a pipe.

    Separate processes, so the client has CPU of its own and is not the server's event
    loop; kept alive so that starting them is never inside a measured phase.
    """

    def __init__(self, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._workers: list[tuple[BaseProcess, Connection]] = []
        for _ in range(count):
            parent, child = context.Pipe()
            process = context.Process(target=_serve, args=(child,), daemon=True)
            process.start()
            child.close()
            self._workers.append((process, parent))
        for _process, conn in self._workers:
            if conn.recv() != "ready":
                raise RuntimeError("a load process did not start")

    def __len__(self) -> int:
        return len(self._workers)

    def run(self, specs: list[LoadSpec]) -> list[LoadResult]:
        """Run one spec on each process (at the same time); return their results."""
        for (_process, conn), spec in zip(self._workers, specs, strict=True):
            conn.send(spec)
        try:
            return [conn.recv() for _process, conn in self._workers]
        except EOFError as exc:
            raise RuntimeError("a load process died") from exc

    def close(self) -> None:
        """Stop the processes (at once when they are busy)."""
        for _process, conn in self._workers:
            with contextlib.suppress(OSError):
                conn.send(None)
        for process, conn in self._workers:
            process.join(1)
            if process.is_alive():
                process.terminate()
                process.join(5)
            conn.close()
        self._workers.clear()

    def __enter__(self) -> LoadProcesses:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
