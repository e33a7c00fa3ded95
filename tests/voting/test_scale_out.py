"""Scale-out: the limits and the ledger hold across server processes sharing PostgreSQL
and Redis, in both topologies the README describes.

- ``workers``: one `portal serve --workers 2` (two worker processes on one port);
- ``ports``: two separate `portal serve` processes on two ports, as two nodes behind a
  proxy would be.

Both run on a PostgreSQL database of their own and a private Redis (the portal's keys
have a fixed prefix: a shared Redis would mix them with other tests' deployments).
Requests are spread over the serving processes deliberately: every request goes out on
a connection pinned to one process (with ``--workers 2`` the kernel picks the worker
that accepts a connection, so connections are opened until each worker holds its
share), and every answer is traced back to the process that gave it — the tests assert
that both processes answered part of every burst and of the stream. Requests come
from the trusted 127.0.0.1 with ``X-Forwarded-For`` naming the voter's network; the
CAPTCHA is answered with ``PORTAL_CAPTCHA_TEST_ANSWER``. Load shedding is set out of
the way: these tests are about exactness; overload is `make bench`'s.

These tests need PostgreSQL and Redis whatever ``--db`` says, so tests/conftest.py
deselects them in the SQLite pass (marker ``postgres_only``).
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import itertools
import random
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bench.infra import Deployment, Server, ledger_rows, new_network
from tests.voting.conftest import TEST_ANSWER
from tests.voting.deployment import captcha, check_chain, deploy, vote_through_the_close

pytestmark = pytest.mark.postgres_only

TOPOLOGIES = ("workers", "ports")
BURST = 60  # parallel votes in each burst, half to each serving process
NETWORK_CAP = 5  # votes a day from one network, in the network-cap campaign
STREAM = 150  # votes acknowledged in the stream
STREAM_VOTERS = 16  # simulated voters streaming at once
STREAM_ROUTES = 8  # connections per serving process in the stream
POOL = BURST + 10  # CAPTCHA challenges drawn ahead before each burst
VOTER_COOKIE = "portal_voter"
KEEP_ALIVE = 2.0  # seconds a connection is kept idle (the server keeps one 5 s)

HIGH = {"network_votes_per_day": 100_000, "network_votes_per_minute": 100_000}


def campaigns() -> dict[str, dict[str, Any]]:
    """Each test's own campaign in each topology: its chain and counters start empty."""
    made: dict[str, dict[str, Any]] = {}
    for topology in TOPOLOGIES:
        made[f"{topology}-allowance"] = {"units": BURST, "mediators": 4, **HIGH}
        made[f"{topology}-candidate"] = {"units": 3, "mediators": 4, **HIGH}
        made[f"{topology}-network"] = {
            "units": 3,
            "mediators": 4,
            "network_votes_per_day": NETWORK_CAP,
            "network_votes_per_minute": 100_000,
        }
        made[f"{topology}-captcha"] = {"units": 3, "mediators": 4, **HIGH}
        made[f"{topology}-stream"] = {"units": 8, "mediators": 12}
    made["ports-closing"] = {"units": 8, "mediators": 12, **HIGH}
    return made


# --- the deployment and its processes ---------------------------------------------------


@pytest.fixture(scope="module")
def deployment(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    private_redis: str,
) -> Iterator[Deployment]:
    assert request.config.getoption("--db") == "postgres", "run with --db postgres"
    with deploy(
        tmp_path_factory.mktemp("scale-out"),
        campaigns(),
        postgres=True,
        pool_size=POOL,
        redis_url=private_redis,
    ) as made:
        made.env.update(
            PORTAL_MAX_INFLIGHT="1000",
            PORTAL_QUEUE_TIMEOUT_MS="60000",
            PORTAL_LEDGER_WAIT_MS="60000",
        )
        yield made


def refusing_jar() -> http.cookiejar.CookieJar:
    """A cookie jar that keeps nothing: the voter's cookie goes with each request."""
    return http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


class Route:
    """A client of one connection to one server, which knows the process at the other
    end: when its connection is new (the first, or a new one after the server closed an
    idle one), the process holding the server end is looked up as the answer's headers
    arrive, while the connection is surely open."""

    def __init__(self, server: Server, pids: set[int]) -> None:
        self.server = server
        self.pids = pids
        self.pid: int | None = None
        self._stream: Any = None
        self.client = httpx.AsyncClient(
            base_url=server.base,
            cookies=refusing_jar(),
            # The server closes a connection idle for 5 s (uvicorn's keep-alive): a
            # request sent just then would meet the close. Dropping it first, the
            # client opens a new one instead (to the same process, or with several
            # workers perhaps the other one: ``_arrived`` looks again).
            limits=httpx.Limits(
                max_connections=1, max_keepalive_connections=1, keepalive_expiry=KEEP_ALIVE
            ),
            timeout=120,
            event_hooks={"response": [self._arrived]},
        )

    async def _arrived(self, response: httpx.Response) -> None:
        if len(self.pids) == 1:  # a server of one process: whichever connection
            [self.pid] = self.pids
            response.extensions["served_by"] = self.pid
            return
        stream = response.extensions.get("network_stream")
        if stream is not self._stream:
            self._stream, self.pid = stream, None
            with contextlib.suppress(OSError, TypeError):
                port = stream.get_extra_info("client_addr")[1]
                self.pid = self.server.owner(port, self.pids)
        response.extensions["served_by"] = self.pid


@dataclass
class Answer:
    response: httpx.Response

    @property
    def pid(self) -> int | None:
        """The process that gave the answer."""
        return self.response.extensions.get("served_by")

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def error(self) -> str | None:
        return None if self.status < 400 else self.response.json()["error"]


@dataclass
class Cluster:
    topology: str
    servers: list[Server]
    deployment: Deployment
    pids: set[int] = field(default_factory=set)  # the serving processes
    rng: random.Random = field(default_factory=lambda: random.Random(secrets.randbits(64)))
    used: set[str] = field(default_factory=set)

    def network(self) -> str:
        """A fresh client address (random per run)."""
        return new_network(self.rng, self.used)

    @contextlib.asynccontextmanager
    async def routes(self, per_process: int) -> AsyncIterator[list[Route]]:
        """``per_process`` connections to each serving process, interleaved
        (A, B, A, B …), each opened and tried; with ``--workers 2`` connections are
        opened until each worker has accepted its share."""
        by_pid: dict[int, list[Route]] = {pid: [] for pid in self.pids}
        opened: list[Route] = []
        try:
            for server in self.servers:
                mine = set(server.serving_pids())
                for _ in range(per_process * len(mine) * 30):
                    if all(len(by_pid[pid]) >= per_process for pid in mine):
                        break
                    route = Route(server, mine)
                    opened.append(route)
                    response = await route.client.get("/healthz")
                    assert response.status_code == 200, response.text
                    if route.pid in by_pid and len(by_pid[route.pid]) < per_process:
                        by_pid[route.pid].append(route)
                    else:
                        await route.client.aclose()  # this process has its share already
            shares = {pid: len(routes) for pid, routes in by_pid.items()}
            assert len(shares) == 2 and all(n == per_process for n in shares.values()), (
                f"could not open {per_process} connections to each serving process: {shares}"
            )
            yield [route for group in zip(*by_pid.values(), strict=True) for route in group]
        finally:
            for route in opened:
                await route.client.aclose()

    async def vote(
        self,
        route: Route,
        slug: str,
        candidate_id: int,
        captcha_id: str,
        network: str,
        cookie: str | None = None,
    ) -> Answer:
        headers = {"X-Forwarded-For": network, "User-Agent": f"scale-out-test ({network})"}
        if cookie:
            headers["Cookie"] = f"{VOTER_COOKIE}={cookie}"
        body = {
            "candidate_id": candidate_id,
            "captcha_id": captcha_id,
            "captcha_answer": TEST_ANSWER,
        }
        url = f"/api/v1/campaigns/{slug}/votes"
        try:
            response = await route.client.post(url, json=body, headers=headers)
        except httpx.TransportError:
            # The server closed the kept-alive connection as the request went out (on a
            # starved machine the client's own expiry can come too late). Sent again on
            # a new connection with the same challenge: had the first one been handled,
            # the challenge would be spent and the retry a 400 that fails the test.
            response = await route.client.post(url, json=body, headers=headers)
        return Answer(response)

    async def captchas(self, routes: list[Route], count: int) -> list[str]:
        """``count`` challenges, fetched through ``routes`` from as many networks (one
        network may take only a few a minute)."""

        async def fetch(route: Route) -> str:
            headers = {"X-Forwarded-For": self.network()}
            try:
                return await captcha(route.client, headers=headers)
            except httpx.TransportError:  # as in ``vote``; a lost challenge costs nothing
                return await captcha(route.client, headers=headers)

        return list(await asyncio.gather(*(fetch(routes[i % len(routes)]) for i in range(count))))

    async def pool_filled(self, size: int = POOL) -> None:
        """Wait until the shared CAPTCHA pool holds ``size`` challenges again."""
        for server in self.servers:
            await server.ready(pool=size, seconds=120)

    async def build_counters(self, route: Route, slug: str) -> None:
        """Show the candidates once, as a visitor would: the live counters are built
        from the ledger, and from then on every counted vote moves them."""
        response = await route.client.get(f"/api/v1/campaigns/{slug}/candidates")
        assert response.status_code == 200, response.text
        assert all(row["votes"] == 0 for row in response.json())

    def assert_counters_match_the_ledger(self, slug: str) -> None:
        """`portal counters SLUG`: the live counters in Redis equal the ledger's counts."""
        result = self.deployment.portal("counters", slug)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "实时票数与投票账本一致" in result.stdout, result.stdout

    def assert_clean_logs(self) -> None:
        for server in self.servers:
            log = server.log.read_text()
            at = log.find("Traceback")
            assert at < 0, log[at : at + 4000]


@pytest.fixture(scope="module", params=TOPOLOGIES)
async def cluster(
    request: pytest.FixtureRequest, deployment: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    """The deployment served by two processes: ``--workers 2``, or two on two ports."""
    topology = request.param
    logs = tmp_path_factory.mktemp(f"scale-out-{topology}")
    if topology == "workers":
        servers = [Server(deployment.env, logs / "serve.log", workers=2)]
    else:
        servers = [Server(deployment.env, logs / f"serve-{i}.log") for i in (1, 2)]
    try:
        made = Cluster(topology, servers, deployment)
        await made.pool_filled()
        made.pids = {pid for server in servers for pid in server.serving_pids()}
        assert len(made.pids) == 2, made.pids
        yield made
    finally:
        for server in servers:
            server.stop()


def spread(answers: list[Answer]) -> Counter:
    """How many answers each process gave."""
    return Counter(answer.pid for answer in answers)


def assert_both_processes_answered(cluster: Cluster, answers: list[Answer]) -> None:
    served = spread(answers)
    assert cluster.pids <= set(served), f"answered by {dict(served)}, serving {cluster.pids}"


# --- the limits, exact across processes ---------------------------------------------------


async def test_parallel_votes_of_one_voter_across_processes_record_exactly_the_allowance(
    cluster: Cluster,
) -> None:
    """A burst of votes at once by one voter (one cookie, one network), each for another
    candidate of a 3-a-day category, half to each process: exactly 3 accepted and
    recorded."""
    slug = f"{cluster.topology}-allowance"
    candidates = cluster.deployment.campaigns[slug]
    await cluster.pool_filled()
    async with cluster.routes(BURST // 2) as routes:
        await cluster.build_counters(routes[0], slug)
        network = cluster.network()
        # A first vote in the other category gives the voter its cookie (from one
        # process); the other process must know it as the same voter.
        first = await cluster.vote(
            routes[0], slug, candidates["mediator"][0], *await cluster.captchas(routes, 1), network
        )
        assert first.status == 201, first.response.text
        cookie = first.response.cookies[VOTER_COOKIE]
        tickets = await cluster.captchas(routes, BURST)
        answers = await asyncio.gather(
            *(
                cluster.vote(route, slug, candidate, ticket, network, cookie)
                for route, candidate, ticket in zip(
                    routes, candidates["judicial-office"], tickets, strict=True
                )
            )
        )
    assert Counter(a.status for a in answers) == {201: 3, 429: BURST - 3}
    assert {a.error for a in answers if a.status == 429} == {"limit_reached"}
    accepted = [a.response.json() for a in answers if a.status == 201]
    assert sorted(body["votes_left_today"] for body in accepted) == [0, 1, 2]
    assert_both_processes_answered(cluster, answers)
    rows = await ledger_rows(
        cluster.deployment.database_url, slug, columns="v.receipt, v.voter_hash, v.category"
    )
    assert len(rows) == 4
    assert len({row["voter_hash"] for row in rows}) == 1
    receipts = {row["receipt"] for row in rows}
    assert receipts == {body["receipt"] for body in accepted} | {first.response.json()["receipt"]}
    cluster.assert_counters_match_the_ledger(slug)
    cluster.assert_clean_logs()
    print(f"\n[{cluster.topology}] allowance burst answered by {dict(spread(answers))}")


async def test_parallel_votes_of_one_voter_for_one_candidate_across_processes_record_one(
    cluster: Cluster,
) -> None:
    """A burst of votes at once by one voter for one candidate, half to each process: one
    201, the rest already_voted, one row."""
    slug = f"{cluster.topology}-candidate"
    candidate = cluster.deployment.campaigns[slug]["mediator"][0]
    other = cluster.deployment.campaigns[slug]["judicial-office"][0]
    await cluster.pool_filled()
    async with cluster.routes(BURST // 2) as routes:
        await cluster.build_counters(routes[1], slug)
        network = cluster.network()
        first = await cluster.vote(
            routes[1], slug, other, *await cluster.captchas(routes, 1), network
        )
        assert first.status == 201, first.response.text
        cookie = first.response.cookies[VOTER_COOKIE]
        tickets = await cluster.captchas(routes, BURST)
        answers = await asyncio.gather(
            *(
                cluster.vote(route, slug, candidate, ticket, network, cookie)
                for route, ticket in zip(routes, tickets, strict=True)
            )
        )
    assert Counter(a.status for a in answers) == {201: 1, 409: BURST - 1}
    assert {a.error for a in answers if a.status == 409} == {"already_voted"}
    assert_both_processes_answered(cluster, answers)
    rows = await ledger_rows(cluster.deployment.database_url, slug)
    assert sorted(row["candidate"] for row in rows) == sorted([other, candidate])
    cluster.assert_counters_match_the_ledger(slug)


async def test_network_daily_cap_is_exact_across_processes(cluster: Cluster) -> None:
    """A burst of new voters at once from one network whose cap is 5 a day, half to each
    process: exactly 5 accepted, the rest rate_limited, 5 rows."""
    slug = f"{cluster.topology}-network"
    mediators = cluster.deployment.campaigns[slug]["mediator"]
    await cluster.pool_filled()
    async with cluster.routes(BURST // 2) as routes:
        await cluster.build_counters(routes[0], slug)
        network = cluster.network()
        tickets = await cluster.captchas(routes, BURST)
        answers = await asyncio.gather(
            *(
                # No cookie: every vote is a new voter; only the network is shared.
                cluster.vote(route, slug, mediators[i % len(mediators)], ticket, network)
                for i, (route, ticket) in enumerate(zip(routes, tickets, strict=True))
            )
        )
    assert Counter(a.status for a in answers) == {201: NETWORK_CAP, 429: BURST - NETWORK_CAP}
    refused = [a for a in answers if a.status == 429]
    assert {a.error for a in refused} == {"rate_limited"}
    assert all(int(a.response.headers["retry-after"]) >= 1 for a in refused)
    assert_both_processes_answered(cluster, answers)
    rows = await ledger_rows(
        cluster.deployment.database_url, slug, columns="v.receipt, v.network, v.voter_hash"
    )
    assert [row["network"] for row in rows] == [network] * NETWORK_CAP
    assert len({row["voter_hash"] for row in rows}) == NETWORK_CAP
    cluster.assert_counters_match_the_ledger(slug)


async def test_one_captcha_is_accepted_once_across_processes(cluster: Cluster) -> None:
    """One challenge answered by a burst of voters at once, each from a network of its
    own, half to each process: one vote accepted, the rest captcha_invalid, one row."""
    slug = f"{cluster.topology}-captcha"
    candidate = cluster.deployment.campaigns[slug]["mediator"][0]
    await cluster.pool_filled()
    async with cluster.routes(BURST // 2) as routes:
        await cluster.build_counters(routes[0], slug)
        [ticket] = await cluster.captchas(routes, 1)
        answers = await asyncio.gather(
            *(cluster.vote(route, slug, candidate, ticket, cluster.network()) for route in routes)
        )
    assert Counter(a.status for a in answers) == {201: 1, 400: BURST - 1}
    assert {a.error for a in answers if a.status == 400} == {"captcha_invalid"}
    assert_both_processes_answered(cluster, answers)
    rows = await ledger_rows(cluster.deployment.database_url, slug)
    assert [row["receipt"] for row in rows] == [
        next(a.response.json()["receipt"] for a in answers if a.status == 201)
    ]
    cluster.assert_counters_match_the_ledger(slug)


# --- one chain, whichever process writes ------------------------------------------------


async def test_a_stream_of_votes_to_both_processes_makes_one_chain(cluster: Cluster) -> None:
    """Voters stream votes at both processes (each vote on the next connection, the
    processes alternating): every receipt is in the ledger once, the ledger is one
    chain (seq 1..n, every link holds), and the live counters equal the ledger."""
    slug = f"{cluster.topology}-stream"
    candidates = cluster.deployment.campaigns[slug]
    acked: list[dict[str, Any]] = []
    answers: list[Answer] = []
    refused: Counter = Counter()
    await cluster.pool_filled()
    async with cluster.routes(STREAM_ROUTES) as routes:
        await cluster.build_counters(routes[0], slug)
        turn = itertools.count()

        async def voter() -> None:
            while len(acked) < STREAM:
                network, cookie = cluster.network(), None
                ballot = [
                    *cluster.rng.sample(candidates["judicial-office"], 3),
                    *cluster.rng.sample(candidates["mediator"], 2),
                ]
                for candidate in ballot:
                    route = routes[next(turn) % len(routes)]
                    [ticket] = await cluster.captchas([route], 1)
                    answer = await cluster.vote(route, slug, candidate, ticket, network, cookie)
                    answers.append(answer)
                    if answer.status != 201:
                        refused[(answer.status, answer.error)] += 1
                        continue
                    body = answer.response.json()
                    assert body["candidate_id"] == candidate
                    acked.append(body)
                    cookie = cookie or answer.response.cookies[VOTER_COOKIE]

        await asyncio.gather(*(voter() for _ in range(STREAM_VOTERS)))
    assert not refused, refused
    assert_both_processes_answered(cluster, answers)
    by_receipt = {body["receipt"]: body for body in acked}
    assert len(by_receipt) == len(acked) >= STREAM

    rows = await ledger_rows(cluster.deployment.database_url, slug)
    check_chain(rows)
    assert [row["seq"] for row in rows] == list(range(1, len(rows) + 1))
    recorded = Counter(row["receipt"] for row in rows)
    assert set(recorded) == set(by_receipt)  # nothing recorded that was not acknowledged
    assert set(recorded.values()) == {1}
    for row in rows:
        body = by_receipt[row["receipt"]]
        assert (row["candidate"], row["cast_at"]) == (body["candidate_id"], body["cast_at"])
    cluster.assert_counters_match_the_ledger(slug)
    cluster.assert_clean_logs()
    print(
        f"\n[{cluster.topology}] {len(acked)} votes acknowledged, answered by "
        f"{dict(spread(answers))}; ledger seq 1..{len(rows)}, one chain"
    )


# Two processes on two ports (two nodes) are the case; --workers 2 adds nothing to it.
@pytest.mark.parametrize("cluster", ["ports"], indirect=True)
async def test_closing_is_final_on_every_process(cluster: Cluster) -> None:
    """Voters stream votes at both processes while `portal phase SLUG tallying` runs in a
    third: every 201 was cast before the command returned, every vote sent after it is
    refused 403 voting_closed on both processes (whose cached rules still said open),
    and the public ledger read right after the close is the one read after the caches
    expired (tests/voting/deployment.py, ``Closing.check``)."""
    slug = f"{cluster.topology}-closing"
    offices = cluster.deployment.campaigns[slug]["judicial-office"]
    answers: list[Answer] = []
    await cluster.pool_filled()
    async with cluster.routes(STREAM_ROUTES) as routes:
        turn = itertools.count()

        async def send() -> httpx.Response:
            route = routes[next(turn) % len(routes)]
            [ticket] = await cluster.captchas([route], 1)
            network = cluster.network()
            answer = await cluster.vote(route, slug, cluster.rng.choice(offices), ticket, network)
            answers.append(answer)
            return answer.response

        async def ledger() -> str:
            response = await routes[0].client.get(f"/api/v1/campaigns/{slug}/ledger.csv")
            assert response.status_code == 200, response.text
            return response.text

        def close() -> None:
            moved = cluster.deployment.portal("phase", slug, "tallying")
            assert moved.returncode == 0, moved.stdout + moved.stderr

        closing = await vote_through_the_close(
            send, close, ledger, voters=STREAM_VOTERS // 2, before=BURST // 2
        )
    closing.check()
    late = [a for a in answers if a.status == 403]
    assert_both_processes_answered(cluster, late)  # both refused, whatever they cached
    cluster.assert_clean_logs()
