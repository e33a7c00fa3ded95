"""`make bench`: the vote path's throughput and latency against the server's own baseline.

For each configuration (``postgres+redis``: ``portal serve --workers 2`` on a fresh
PostgreSQL database and a private Redis; ``sqlite+memory``: ``portal serve --workers 1``
on a temporary SQLite file with the in-process store) the demo campaign is loaded
with ``portal demo --no-serve``, the server is started, and once its CAPTCHA pool is
full these phases are measured, each for the same duration after a warm-up, with the
same number of keep-alive connections:

- ``bare``: ``GET /healthz`` (a trivial JSON answer: the baseline);
- ``page``: the vote page of the 38-candidate category
  (``/campaigns/dingxi-2023/vote?category=mediator``; ``/campaigns/dingxi-2023/candidates``
  while that page does not exist);
- ``vote``: ``POST /api/v1/campaigns/dingxi-2023/votes`` with challenges fetched before
  the phase (and the pool refilled), answered with ``PORTAL_CAPTCHA_TEST_ANSWER``;
- ``overload``: the same vote requests in an open loop at twice the vote phase's
  throughput (``--overload-factor``), whatever the server answers: past its capacity
  the portal must shed load (``503`` with ``Retry-After``) rather than queue it, so
  every answer is 201, 409, 429 or 503 and none waits long (``overload_5xx``,
  ``overload_p99_ms``);

Then the server is started again as deployed (the default CAPTCHA pool size), and
measured from the moment ``/healthz/ready`` answers 200, with ``--voters`` simulated
voters in a closed loop, each taking what a browser takes (``bench.loadgen``, kind
``flow``):

- ``flow``: one CAPTCHA per vote (a new voter takes a challenge and votes once);
- ``session``: one CAPTCHA per voting session (a new voter takes a challenge, votes with
  its answer, then casts 4 more votes with the vote pass it got back);
- ``captcha``: ``POST /api/v1/captcha`` alone, timed over the same window as the others:
  the pool is soon drained, and hand-out then runs at the drawing's pace.

These give the votes per second a voter's path reaches, the server CPU per recorded vote
with the CAPTCHA drawing included (``cpu_ms_per_vote``), and the share of ``503``
answers (challenges included) while the drawing keeps up or does not (``share_503``).

Every vote and challenge request comes from its own client address (``X-Forwarded-For``
from the trusted proxy 127.0.0.1) without a cookie (a session's later votes send the
cookie its first vote set): each voter is new, on its own network, so no per-voter or
per-network limit refuses it. Afterwards the rows of the ``vote`` table are counted in
the database and compared with the 201 answers.

The run fails (exit 1) on a setup error, on a 5xx answer (in the overload phase: any
answer but 201, 409, 429 and 503, a connection error or a request left unanswered; in
the phases of the deployed server a ``503`` is a target missed, ``share_503``), or when
the acknowledged votes differ from the ledger rows; a missed speed target (the overload
p99 included) is reported, never a failure.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console
from rich.table import Table

from bench.infra import (
    Server,
    SetupError,
    count_votes,
    flush_redis,
    fresh_postgres_database,
    portal,
    portal_env,
    private_or_shared_redis,
    wait_until,
)
from bench.loadgen import Kind, LoadProcesses, LoadResult, LoadSpec
from portal.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.json"
SLUG = "dingxi-2023"
CATEGORY = "mediator"
VOTE_PAGE = f"/campaigns/{SLUG}/vote?category={CATEGORY}"
FALLBACK_PAGE = f"/campaigns/{SLUG}/candidates"
# Runs sending client addresses before a block of 10.0.0.0/8 is used again (5 to 8 per
# configuration: fetching in rounds, votes, overload, challenges; each configuration
# has its own store, so reuse across them is harmless).
ADDRESS_BLOCKS = 16
# The pool counts as settled when this many polls, 0.5 s apart, show the same level.
POOL_STILL_POLLS = 4
TEST_ANSWER = "BENCH"  # longer than any real answer (4 characters)
CONFIGS = {"postgres+redis": 2, "sqlite+memory": 1}  # configuration → server workers
# The phases of the server as deployed; a 503 there is the CAPTCHA supply running dry.
SUPPLY_PHASES = ("flow", "session", "captcha")
SESSION_VOTES = 5  # votes a session's voter casts (the mediator category's allowance)
# session_ratio target per configuration (votes per second against /healthz).
SESSION_TARGET = {"postgres+redis": 0.15, "sqlite+memory": 0.25}

# Overload: answers the portal may give past its capacity, and the latency bound. The
# server runs with the default shedding settings: a request waits at most
# PORTAL_QUEUE_TIMEOUT_MS for a slot; the margin covers handling it once admitted
# (up to PORTAL_MAX_INFLIGHT requests share the process's CPU).
OVERLOAD_ALLOWED = frozenset({201, 409, 429, 503})
QUEUE_TIMEOUT_MS = round(Settings.queue_timeout * 1000)
OVERLOAD_MARGIN_MS = 1500
OVERLOAD_BOUND_MS = QUEUE_TIMEOUT_MS + OVERLOAD_MARGIN_MS
# Open loop: keep-alive connections opened beforehand and at most, per load process, and
# how long a request may go unanswered before the client gives up on it.
OVERLOAD_CONNECTIONS = 64
OVERLOAD_MAX_CONNECTIONS = 2000
OVERLOAD_REQUEST_TIMEOUT = 30.0

# The targets; none of them fails the run.
TARGETS: dict[str, str] = {
    "vote_ratio": "vote_rps / bare_rps >= 0.5",
    "vote_p99": "vote_p99_ms <= 3 x bare_p99_ms",
    "captcha_ratio": "captcha_rps / bare_rps >= 0.8",
    "session_ratio": "session_votes_per_s / bare_rps >= "
    + ", ".join(f"{v} ({k})" for k, v in SESSION_TARGET.items()),
    "session_p99": "session vote p99_ms <= 5 x bare_p99_ms",
    "share_503": f"no 503 at --voters concurrent voters ({', '.join(SUPPLY_PHASES)})",
    "page_ratio": "page_rps / bare_rps >= 0.5",
    "errors_5xx": "errors_5xx = 0",
    "overload_5xx": "overload_5xx = 0 (open loop at 2 x vote_rps)",
    "overload_statuses": "overload answers only 201, 409, 429 or 503",
    "overload_p99": f"overload_p99_ms <= {OVERLOAD_BOUND_MS} "
    f"(PORTAL_QUEUE_TIMEOUT_MS {QUEUE_TIMEOUT_MS} + {OVERLOAD_MARGIN_MS})",
    "ledger": "acknowledged = ledger_rows",
}

console = Console(highlight=False)


@dataclass(frozen=True)
class Options:
    """The command line."""

    configs: tuple[str, ...]
    duration: float
    warmup: float
    connections: int
    processes: int
    pool_size: int
    ballots: int
    output: Path
    overload_factor: float = 2.0
    overload_duration: float = 10.0
    voters: int = 50


@dataclass
class Phase:
    """One measured phase, all load processes together."""

    name: str
    path: str
    rps: float
    p50_ms: float
    p99_ms: float
    window_s: float
    statuses: Counter[int]
    connection_errors: int
    ran_out: bool
    held: int = 0
    # Open loop only: the rate asked for, requests sent, requests left unanswered.
    rate: float = 0.0
    sent: int = 0
    timeouts: int = 0
    p99_by_status: dict[int, float] = field(default_factory=dict)
    send_lag_p99_ms: float = 0.0
    # Server CPU time per answer in this phase (warm-up included), in ms; None: unknown.
    serving_cpu_ms: float | None = None
    drawing_cpu_ms: float | None = None
    # Flows: the answers to their CAPTCHA requests, and the server CPU (drawing included)
    # per recorded vote.
    captcha_statuses: Counter[int] = field(default_factory=Counter)
    cpu_ms_per_vote: float | None = None

    def errors_5xx(self) -> int:
        """5xx answers (in the deployed server's phases a 503 is counted as ``share_503``)."""
        supply = self.name in SUPPLY_PHASES
        return sum(
            n
            for status, n in (self.statuses + self.captcha_statuses).items()
            if status >= 500 and not (supply and status == 503)
        )

    def share_503(self) -> float:
        """The share of 503 answers, challenges included."""
        every = self.statuses + self.captcha_statuses
        total = sum(every.values())
        return every[503] / total if total else 0.0

    def overload_5xx(self) -> int:
        """Failures under overload: 5xx other than a 503 shed, and requests with no answer."""
        errors = sum(n for status, n in self.statuses.items() if status >= 500 and status != 503)
        return errors + self.connection_errors + self.timeouts

    def unexpected(self) -> dict[int, int]:
        """Answers under overload other than the allowed ones."""
        return {k: v for k, v in sorted(self.statuses.items()) if k not in OVERLOAD_ALLOWED}

    def summary(self) -> dict[str, Any]:
        if self.name == "overload":
            return {
                "path": self.path,
                "arrival_rps": round(self.rate, 1),
                "sent": self.sent,
                "accepted_rps": round(self.rps, 1),
                "p50_ms": round(self.p50_ms, 2),
                "p99_ms": round(self.p99_ms, 2),
                "p99_ms_by_status": {str(k): round(v, 2) for k, v in self.p99_by_status.items()},
                "client_send_lag_p99_ms": round(self.send_lag_p99_ms, 2),
                "timed_window_s": round(self.window_s, 2),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "connection_errors": self.connection_errors,
                "timeouts": self.timeouts,
                "supply_ran_out": self.ran_out,
                "server_cpu_ms_per_answer": _round(self.serving_cpu_ms),
                "held_for_review": self.held,
            }
        return {
            "path": self.path,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
            "timed_window_s": round(self.window_s, 2),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "connection_errors": self.connection_errors,
            "supply_ran_out": self.ran_out,
            "server_cpu_ms_per_answer": _round(self.serving_cpu_ms),
            "drawing_cpu_ms_per_answer": _round(self.drawing_cpu_ms),
            **({"held_for_review": self.held} if self.name == "vote" else {}),
            **(
                {
                    "captcha_statuses": {
                        str(k): v for k, v in sorted(self.captcha_statuses.items())
                    },
                    "cpu_ms_per_vote": _round(self.cpu_ms_per_vote),
                    "share_503": round(self.share_503(), 4),
                    "held_for_review": self.held,
                }
                if self.name in ("flow", "session")
                else {}
            ),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass
class ConfigRun:
    """What one configuration measured."""

    config: str
    phases: dict[str, Phase] = field(default_factory=dict)
    acknowledged: int = 0
    ledger_rows: int = 0
    # Of those, the overload phase's.
    overload_acknowledged: int = 0
    overload_ledger_rows: int = 0
    notes: list[str] = field(default_factory=list)
    services: dict[str, str] = field(default_factory=dict)
    votes_before: int = 0

    def ratio(self, phase: str) -> float:
        bare = self.phases["bare"].rps
        return self.phases[phase].rps / bare if bare else 0.0

    @property
    def errors_5xx(self) -> int:
        """5xx answers of the phases within capacity (the overload phase has its own)."""
        return sum(p.errors_5xx() for name, p in self.phases.items() if name != "overload")

    @property
    def overload_5xx(self) -> int:
        return self.phases["overload"].overload_5xx()

    def failed(self) -> bool:
        """A 5xx, an answer under overload the contract does not allow, or a lost vote."""
        return bool(
            self.errors_5xx
            or self.overload_5xx
            or self.phases["overload"].unexpected()
            or self.acknowledged != self.ledger_rows
        )

    def targets_met(self) -> dict[str, bool]:
        bare, vote, overload = self.phases["bare"], self.phases["vote"], self.phases["overload"]
        return {
            "vote_ratio": self.ratio("vote") >= 0.5,
            "vote_p99": vote.p99_ms <= 3 * bare.p99_ms,
            "captcha_ratio": self.ratio("captcha") >= 0.8,
            "session_ratio": self.ratio("session") >= SESSION_TARGET[self.config],
            "session_p99": self.phases["session"].p99_ms <= 5 * bare.p99_ms,
            "share_503": all(self.phases[name].share_503() == 0 for name in SUPPLY_PHASES),
            "page_ratio": self.ratio("page") >= 0.5,
            "errors_5xx": self.errors_5xx == 0,
            "overload_5xx": self.overload_5xx == 0,
            "overload_statuses": not overload.unexpected(),
            "overload_p99": overload.p99_ms <= OVERLOAD_BOUND_MS,
            "ledger": self.acknowledged == self.ledger_rows,
        }

    def record(self) -> dict[str, Any]:
        """The configuration's entry of ``results.json``."""
        p = self.phases
        return {
            "config": self.config,
            "bare_rps": round(p["bare"].rps, 1),
            "bare_p99_ms": round(p["bare"].p99_ms, 2),
            "vote_rps": round(p["vote"].rps, 1),
            "vote_p99_ms": round(p["vote"].p99_ms, 2),
            "vote_ratio": round(self.ratio("vote"), 3),
            "captcha_rps": round(p["captcha"].rps, 1),
            "captcha_ratio": round(self.ratio("captcha"), 3),
            "page_rps": round(p["page"].rps, 1),
            "page_ratio": round(self.ratio("page"), 3),
            "session_votes_per_s": round(p["session"].rps, 1),
            "session_ratio": round(self.ratio("session"), 3),
            "session_p99_ms": round(p["session"].p99_ms, 2),
            "cpu_ms_per_vote": _round(p["session"].cpu_ms_per_vote),
            "share_503": round(p["session"].share_503(), 4),
            "flow_votes_per_s": round(p["flow"].rps, 1),
            "flow_ratio": round(self.ratio("flow"), 3),
            "flow_p99_ms": round(p["flow"].p99_ms, 2),
            "flow_cpu_ms_per_vote": _round(p["flow"].cpu_ms_per_vote),
            "flow_share_503": round(p["flow"].share_503(), 4),
            "overload_rps": round(p["overload"].rate, 1),
            "overload_5xx": self.overload_5xx,
            "overload_p99_ms": round(p["overload"].p99_ms, 2),
            "overload_statuses": {str(k): v for k, v in sorted(p["overload"].statuses.items())},
            "acknowledged": self.acknowledged,
            "ledger_rows": self.ledger_rows,
            "overload_acknowledged": self.overload_acknowledged,
            "overload_ledger_rows": self.overload_ledger_rows,
            "errors_5xx": self.errors_5xx,
            "detail": {
                "phases": {name: phase.summary() for name, phase in p.items()},
                "targets_met": self.targets_met(),
                "services": self.services,
                "notes": self.notes,
            },
        }


# --- measuring -------------------------------------------------------------------------


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of sorted values (0 when there are none)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


class Load:
    """The load processes (kept for the whole run) and the address blocks they use."""

    def __init__(self, processes: LoadProcesses, options: Options) -> None:
        self.processes = processes
        self.options = options
        # 10.0.0.0/8 in blocks, a new one per load process for each run that sends client
        # addresses (so no address is used twice within a configuration, or a run).
        self.block = (1 << 24) // (ADDRESS_BLOCKS * options.processes)
        self.next_block = 0

    def _addresses(self, kind: Kind) -> list[int]:
        n = self.options.processes
        if kind == "get":
            return [0] * n
        bases = [(self.next_block + i) * self.block for i in range(n)]
        self.next_block = (self.next_block + n) % (ADDRESS_BLOCKS * n)
        return bases

    def run(
        self,
        server: Server,
        kind: Kind,
        path: str,
        ok_status: int,
        *,
        ballots: Sequence[tuple[int, str]] = (),
        limit: int = 0,
        collect: bool = False,
        timed: bool = True,
        rate: float = 0.0,
        duration: float | None = None,
        candidates: Sequence[int] = (),
        votes_per_voter: int = 1,
    ) -> list[LoadResult]:
        """Run one phase on every load process; return their results.

        With a ``rate`` (requests per second, all processes together) the phase is an
        open loop, lasting ``duration`` (default ``--duration``) after the warm-up. A
        ``flow`` runs ``--voters`` voters, each voting ``votes_per_voter`` times for
        ``candidates`` in turn.
        """
        options = self.options
        n = options.processes
        start_at = time.time() + 0.5  # each process opens its connections before that
        if rate:
            start_at += 1.0  # an open loop opens its pool first
        timed_for = duration if duration is not None else options.duration
        connections = OVERLOAD_CONNECTIONS * n if rate else options.connections
        if kind == "flow":
            connections = options.voters
        specs = [
            LoadSpec(
                kind=kind,
                host=server.host,
                port=server.port,
                path=path,
                connections=connections // n + (i < connections % n),
                start_at=start_at,
                warmup=options.warmup if timed else 0.0,
                duration=timed_for if timed else 120.0,
                ok_status=ok_status,
                ip_base=base,
                ballots=tuple(ballots[i::n]),
                answer=TEST_ANSWER,
                limit=limit // n + (i < limit % n) if limit else 0,
                collect=collect,
                rate=rate / n,
                max_connections=OVERLOAD_MAX_CONNECTIONS,
                request_timeout=OVERLOAD_REQUEST_TIMEOUT,
                # Each process starts its voters at another candidate.
                candidates=tuple(candidates[i:]) + tuple(candidates[:i]),
                votes_per_voter=votes_per_voter,
            )
            for i, base in enumerate(self._addresses(kind))
        ]
        return self.processes.run(specs)

    def phase(self, name: str, server: Server, kind: Kind, path: str, ok: int, **kw: Any) -> Phase:
        """Run a timed phase and summarise it."""
        arrival = f" at {kw['rate']:,.0f} rps" if kw.get("rate") else ""
        console.print(f"  {name:<8} {path}{arrival} …", end=" ")
        cpu_before = server.cpu()
        results = self.run(server, kind, path, ok, **kw)
        cpu_after = server.cpu()
        latencies = sorted(x for r in results for x in r.latencies_ms)
        phase = Phase(
            name=name,
            path=path,
            rps=sum(r.ok / r.window for r in results if r.window > 0),
            p50_ms=percentile(latencies, 0.50),
            p99_ms=percentile(latencies, 0.99),
            window_s=min(r.window for r in results),
            statuses=sum((r.statuses for r in results), Counter()),
            connection_errors=sum(r.connection_errors for r in results),
            ran_out=any(r.ran_out for r in results),
            held=sum(r.held for r in results),
            rate=kw.get("rate", 0.0),
            sent=sum(r.sent for r in results),
            timeouts=sum(r.timeouts for r in results),
            captcha_statuses=sum((r.captcha_statuses for r in results), Counter()),
        )
        by_status: dict[int, list[float]] = {}
        for r in results:
            for status, latency in zip(r.latency_statuses, r.latencies_ms, strict=False):
                by_status.setdefault(status, []).append(latency)
        phase.p99_by_status = {k: percentile(sorted(v), 0.99) for k, v in sorted(by_status.items())}
        lags = sorted(x for r in results for x in r.send_lags_ms)
        phase.send_lag_p99_ms = percentile(lags, 0.99)
        answers = sum(phase.statuses.values())
        if cpu_before and cpu_after and answers:
            phase.serving_cpu_ms = (cpu_after["serving"] - cpu_before["serving"]) * 1e3 / answers
            phase.drawing_cpu_ms = (cpu_after["drawing"] - cpu_before["drawing"]) * 1e3 / answers
            if kind == "flow" and phase.statuses[201]:
                phase.cpu_ms_per_vote = (
                    (phase.serving_cpu_ms + phase.drawing_cpu_ms) * answers / phase.statuses[201]
                )
        others = {k: v for k, v in phase.statuses.items() if k != ok}
        console.print(
            f"{phase.rps:,.0f} rps, p50 {phase.p50_ms:.1f} ms, p99 {phase.p99_ms:.1f} ms"
            + (f", timed {phase.window_s:.1f} s" if phase.ran_out else "")
            + (f", server CPU {phase.serving_cpu_ms:.2f} ms/answer" if phase.serving_cpu_ms else "")
            + (f", other answers {others}" if others else "")
            + (f", CPU {phase.cpu_ms_per_vote:.2f} ms/vote" if phase.cpu_ms_per_vote else "")
            + (f", challenges {dict(phase.captcha_statuses)}" if phase.captcha_statuses else "")
            + (f", connection errors {phase.connection_errors}" if phase.connection_errors else "")
            + (f", unanswered {phase.timeouts}" if phase.timeouts else "")
            + (
                ", p99 by status "
                + ", ".join(f"{k}: {v:.0f} ms" for k, v in phase.p99_by_status.items())
                + f", client send lag p99 {phase.send_lag_p99_ms:.0f} ms"
                if phase.p99_by_status
                else ""
            )
        )
        return phase


# --- one configuration -----------------------------------------------------------------


def wait_for_pool(server: Server, size: int, timeout: float = 300.0) -> int:
    """Wait until the CAPTCHA pool holds ``size`` challenges and drawing has stopped.

    ``/healthz/ready`` gives the pool level. It must also hold still for a while: each
    worker tops the pool up on its own, so with several workers it can keep growing
    past ``size`` (and drawing would then compete with the measured phase for the CPU).
    """
    started = time.monotonic()
    levels: list[int] = []

    def settled() -> bool:
        if server.proc.poll() is not None:
            raise SetupError(f"the server exited:\n{server.log_tail()}")
        levels.append(int(server.health()["captcha_pool"]))
        recent = levels[-POOL_STILL_POLLS:]
        return len(recent) == POOL_STILL_POLLS and min(recent) >= size and len(set(recent)) == 1

    if not wait_until(settled, timeout, interval=0.5):
        last = levels[-1] if levels else 0
        raise SetupError(f"the CAPTCHA pool did not settle at {size}+ in {timeout:.0f} s ({last})")
    console.print(
        f"  CAPTCHA pool at {levels[-1]} (waited {time.monotonic() - started:.0f} s)", style="dim"
    )
    return levels[-1]


def choose_page(server: Server, run: ConfigRun) -> str:
    """The vote page of the mediator category, or the candidates page while it is missing."""
    if server.status(VOTE_PAGE) == 200:
        return VOTE_PAGE
    if server.status(FALLBACK_PAGE) != 200:
        raise SetupError(f"neither {VOTE_PAGE} nor {FALLBACK_PAGE} answers 200")
    run.notes.append(
        f"{VOTE_PAGE} does not exist yet (status {server.status(VOTE_PAGE)}): "
        f"the page phase measured {FALLBACK_PAGE} (all 81 candidates) instead"
    )
    return FALLBACK_PAGE


def fetch_ballots(
    server: Server, load: Load, options: Options, candidates: list[int], wanted: int
) -> list[tuple[int, str]]:
    """``wanted`` (candidate, live challenge) pairs, fetched over HTTP in as many rounds
    as the pool needs (each waits for the pool to refill and stops short of emptying it).

    One vote per new voter, candidates in turn: nobody votes twice for one candidate.
    """
    captcha_ids: list[str] = []
    while len(captcha_ids) < wanted:
        level = wait_for_pool(server, options.pool_size)
        take = min(wanted - len(captcha_ids), level - options.connections - level // 50)
        fetched = load.run(
            server, "captcha", "/api/v1/captcha", 201, limit=take, collect=True, timed=False
        )
        got = [captcha_id for r in fetched for captcha_id in r.collected]
        if len(got) < take:
            statuses = sum((r.statuses for r in fetched), Counter())
            failures = [failure for r in fetched for failure in r.failures][:3]
            raise SetupError(
                f"fetched {len(got)} of {take} challenges: {dict(statuses)}"
                f", connection errors {sum(r.connection_errors for r in fetched)} {failures}"
            )
        captcha_ids += got
    return [(candidates[i % len(candidates)], c) for i, c in enumerate(captcha_ids)]


def mediator_candidates(server: Server) -> list[int]:
    status, body = server.get_json(f"/api/v1/campaigns/{SLUG}/candidates?category={CATEGORY}")
    if status != 200 or not isinstance(body, list) or not body:
        raise SetupError(f"no candidates in the {CATEGORY} category (status {status})")
    return [row["id"] for row in body]


def bench_config(config: str, options: Options, load: Load) -> ConfigRun:
    """Set up one configuration, measure its phases, and take everything down again."""
    run = ConfigRun(config)
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="portal-bench-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        if config == "postgres+redis":
            database_url, run.services["database"] = fresh_postgres_database(stack, "portal_bench")
            redis_url, run.services["store"] = private_or_shared_redis(stack)
        else:
            database_url, redis_url = f"sqlite:///{workdir / 'bench.sqlite3'}", None
            run.services.update(database="temporary SQLite file", store="in-process")
        console.print(f"  {run.services['database']}; {run.services['store']}", style="dim")
        env = portal_env(
            workdir / "var",
            database_url,
            test_answer=TEST_ANSWER,
            pool_size=options.pool_size,
            redis_url=redis_url,
        )

        portal(env, "demo", "--no-serve")
        # The same database and store, served again as deployed (the default pool).
        deployed = {k: v for k, v in env.items() if k != "PORTAL_CAPTCHA_POOL_SIZE"}
        for name, environment, phases in (
            ("server", env, measure),
            ("deployed", deployed, measure_flows),
        ):
            server = Server(environment, workdir / f"{name}.log", workers=CONFIGS[config])
            stack.callback(server.stop)
            server.wait_ready()
            try:
                phases(run, server, env, options, load)
            except SetupError:
                raise
            except Exception as exc:
                raise SetupError(f"{exc!r}\nserver log:\n{server.log_tail()}") from exc
            if server.proc.poll() is not None:
                raise SetupError(f"the server exited during the run:\n{server.log_tail()}")
            server.stop()
            if redis_url:
                # The store as a new deployment finds it: the first server's large pool
                # would spare the drawing that the voters' paths must pay for.
                flush_redis(redis_url)
    return run


def measure(
    run: ConfigRun, server: Server, env: dict[str, str], options: Options, load: Load
) -> None:
    """The phases with challenges fetched beforehand, on a server with a large pool."""
    pool_size = options.pool_size
    wait_for_pool(server, pool_size)
    run.votes_before = count_votes(env["DATABASE_URL"], SLUG)

    run.phases["bare"] = load.phase("bare", server, "get", "/healthz", 200)
    page = choose_page(server, run)
    run.phases["page"] = load.phase("page", server, "get", page, 200)

    # Challenges for the votes, fetched now so the vote phase times only votes; then the
    # pool is refilled so that drawing does not compete with the votes for the CPU.
    candidates = mediator_candidates(server)
    wanted = min(options.ballots, pool_size - options.connections)
    ballots = fetch_ballots(server, load, options, candidates, wanted)
    wait_for_pool(server, pool_size)
    vote_path = f"/api/v1/campaigns/{SLUG}/votes"
    run.phases["vote"] = load.phase("vote", server, "vote", vote_path, 201, ballots=ballots)
    if run.phases["vote"].ran_out:
        run.notes.append(
            f"the {len(ballots)} prefetched challenges ran out: the vote phase was timed "
            f"for {run.phases['vote'].window_s:.1f} s (raise --ballots)"
        )

    # Overload: votes sent at a multiple of the capacity just measured, whatever the
    # server answers. Challenges for all of them are fetched first (in rounds, as the
    # pool refills), so a shed vote is never one refused for want of a challenge.
    rate = options.overload_factor * run.phases["vote"].rps
    wanted = math.ceil(rate * (options.warmup + options.overload_duration) * 1.02) + 16
    ballots = fetch_ballots(server, load, options, candidates, wanted)
    wait_for_pool(server, pool_size)
    before_overload = count_votes(env["DATABASE_URL"], SLUG)
    overload = load.phase(
        "overload",
        server,
        "vote",
        vote_path,
        201,
        ballots=ballots,
        rate=rate,
        duration=options.overload_duration,
    )
    run.phases["overload"] = overload
    if overload.ran_out:
        run.notes.append(
            f"the {len(ballots)} challenges fetched for the overload phase ran out: "
            f"timed for {overload.window_s:.1f} s"
        )
    time.sleep(0.5)
    run.overload_acknowledged = overload.statuses[201]
    run.overload_ledger_rows = count_votes(env["DATABASE_URL"], SLUG) - before_overload

    run.acknowledged = run.phases["vote"].statuses[201] + overload.statuses[201]
    if run.phases["vote"].held:
        run.notes.append(
            f"{run.phases['vote'].held} of the accepted votes were held by the brushing checks"
        )


def measure_flows(
    run: ConfigRun, server: Server, env: dict[str, str], options: Options, load: Load
) -> None:
    """The voters' paths and the challenges alone, on the server as deployed, from the
    moment it reports ready; then the ledger is checked against every 201."""
    candidates = mediator_candidates(server)
    vote_path = f"/api/v1/campaigns/{SLUG}/votes"
    for name, votes in (("flow", 1), ("session", SESSION_VOTES)):
        run.phases[name] = load.phase(
            name, server, "flow", vote_path, 201, candidates=candidates, votes_per_voter=votes
        )
        run.acknowledged += run.phases[name].statuses[201]
    run.phases["captcha"] = load.phase("captcha", server, "captcha", "/api/v1/captcha", 201)
    # Let the server finish what it has started, then read the ledger from the database.
    time.sleep(0.5)
    run.ledger_rows = count_votes(env["DATABASE_URL"], SLUG) - run.votes_before
    if run.votes_before:
        run.notes.append(f"{run.votes_before} votes were in the ledger before the run")


# --- report ----------------------------------------------------------------------------


def _statuses(statuses: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v:,}" for k, v in statuses.items())


def mark(ok: bool) -> str:
    return "[green]✓ met[/]" if ok else "[red]✗ missed[/]"


def report(runs: list[ConfigRun]) -> None:
    """The results and the targets, as tables."""
    table = Table(title="make bench")
    table.add_column("")
    for run in runs:
        table.add_column(run.config, justify="right")
    records = [run.record() for run in runs]
    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("bare rps (GET /healthz)", lambda r: f"{r['bare_rps']:,.0f}"),
        ("bare p99 ms", lambda r: f"{r['bare_p99_ms']:.1f}"),
        ("vote rps", lambda r: f"{r['vote_rps']:,.0f}"),
        ("vote p99 ms", lambda r: f"{r['vote_p99_ms']:.1f}"),
        ("vote ratio", lambda r: f"{r['vote_ratio']:.2f}"),
        ("flow (CAPTCHA per vote): votes/s", lambda r: f"{r['flow_votes_per_s']:,.0f}"),
        ("flow: p99 ms, 503 share", lambda r: f"{r['flow_p99_ms']:.1f}, {r['flow_share_503']:.1%}"),
        ("flow: CPU ms per vote", lambda r: f"{r['flow_cpu_ms_per_vote'] or 0:.2f}"),
        ("session (5 votes): votes/s", lambda r: f"{r['session_votes_per_s']:,.0f}"),
        ("session ratio", lambda r: f"{r['session_ratio']:.2f}"),
        (
            "session: p99 ms, 503 share",
            lambda r: f"{r['session_p99_ms']:.1f}, {r['share_503']:.1%}",
        ),
        ("session: CPU ms per vote", lambda r: f"{r['cpu_ms_per_vote'] or 0:.2f}"),
        ("captcha rps", lambda r: f"{r['captcha_rps']:,.0f}"),
        ("captcha ratio", lambda r: f"{r['captcha_ratio']:.2f}"),
        ("page rps", lambda r: f"{r['page_rps']:,.0f}"),
        ("page ratio", lambda r: f"{r['page_ratio']:.2f}"),
        ("overload: arrival rps", lambda r: f"{r['overload_rps']:,.0f}"),
        ("overload: answers", lambda r: _statuses(r["overload_statuses"])),
        ("overload: 5xx, no answer", lambda r: str(r["overload_5xx"])),
        ("overload: p99 ms", lambda r: f"{r['overload_p99_ms']:.1f}"),
        ("acknowledged votes", lambda r: f"{r['acknowledged']:,}"),
        ("ledger rows", lambda r: f"{r['ledger_rows']:,}"),
        ("5xx answers", lambda r: str(r["errors_5xx"])),
    ]
    for label, cell in rows:
        table.add_row(label, *(cell(r) for r in records))
    console.print(table)

    cpu = Table(title="server CPU per answer, ms (serving processes + CAPTCHA drawing)")
    cpu.add_column("phase")
    for run in runs:
        cpu.add_column(run.config, justify="right")
    for name in ("bare", "page", "vote", "overload", "flow", "session", "captcha"):
        cells = []
        for run in runs:
            phase = run.phases[name]
            if phase.serving_cpu_ms is None or phase.drawing_cpu_ms is None:
                cells.append("n/a")
            else:
                cells.append(f"{phase.serving_cpu_ms:.2f} + {phase.drawing_cpu_ms:.2f}")
        cpu.add_row(name, *cells)
    console.print(cpu)

    targets = Table(title="targets (a missed speed target does not fail the run)")
    targets.add_column("target")
    for run in runs:
        targets.add_column(run.config)
    met = [run.targets_met() for run in runs]
    for key, text in TARGETS.items():
        targets.add_row(text, *(mark(m[key]) for m in met))
    console.print(targets)
    for run in runs:
        for note in run.notes:
            console.print(f"[yellow]note[/] ({run.config}): {note}")


def write_results(
    runs: list[ConfigRun], options: Options, started: float, load_at_start: Sequence[float]
) -> None:
    load1, load5, _ = os.getloadavg()
    results = {
        "runs": [run.record() for run in runs],
        "targets": TARGETS,
        "machine": {
            "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in load_at_start[:2]],
            "load_average_at_end": [round(load1, 2), round(load5, 2)],
            "platform": platform.platform(),
            "python": platform.python_version(),
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "connections": options.connections,
            "load_processes": options.processes,
            "captcha_pool_size": options.pool_size,
            "prefetched_ballots": options.ballots,
            "overload_factor": options.overload_factor,
            "voters": options.voters,
            "session_votes": SESSION_VOTES,
            "overload_duration_s": options.overload_duration,
            "overload_open_loop": {
                "connections_per_load_process": f"{OVERLOAD_CONNECTIONS} opened first, "
                f"at most {OVERLOAD_MAX_CONNECTIONS}",
                "request_timeout_s": OVERLOAD_REQUEST_TIMEOUT,
            },
            "portal_shedding": {
                "PORTAL_MAX_INFLIGHT": Settings.max_inflight,
                "PORTAL_QUEUE_TIMEOUT_MS": QUEUE_TIMEOUT_MS,
                "PORTAL_LEDGER_WAIT_MS": round(Settings.ledger_wait * 1000),
            },
            "wall_time_s": round(time.monotonic() - started),
        },
    }
    options.output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    console.print(f"written: {options.output}")


# --- command line ----------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Benchmark the vote path of the portal against its /healthz baseline, "
        "on PostgreSQL + Redis (2 workers) and on SQLite + the in-process store (1 worker).",
    )
    parser.add_argument(
        "--duration", type=float, default=10.0, help="timed seconds per phase (default 10)"
    )
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="untimed seconds before each (default 1)"
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=32,
        help="keep-alive connections in every phase, spread over the load processes (default 32)",
    )
    parser.add_argument(
        "--processes", type=int, default=2, help="load generator processes (default 2)"
    )
    parser.add_argument(
        "--pool-size",
        type=int,
        default=5000,
        help="PORTAL_CAPTCHA_POOL_SIZE: challenges drawn before measuring; the captcha "
        "phase stops short of emptying the pool (default 5000)",
    )
    parser.add_argument(
        "--ballots",
        type=int,
        default=4500,
        help="challenges fetched for the vote phase (default 4500; at most the pool size)",
    )
    parser.add_argument(
        "--overload-factor",
        type=float,
        default=2.0,
        help="overload arrival rate as a multiple of the measured vote rps (default 2)",
    )
    parser.add_argument(
        "--overload-duration",
        type=float,
        default=None,
        help="timed seconds of the overload phase (default: --duration)",
    )
    parser.add_argument(
        "--voters",
        type=int,
        default=50,
        help="simulated voters in a closed loop in the flow and session phases (default 50)",
    )
    parser.add_argument(
        "--config",
        dest="configs",
        action="append",
        choices=sorted(CONFIGS),
        help="run only this configuration (repeatable; default: both)",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help=f"results file (default {RESULTS})"
    )
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0:
        parser.error("--duration must be positive and --warmup not negative")
    if args.connections < args.processes or args.processes < 1:
        parser.error("--connections must be at least --processes (and that at least 1)")
    if args.ballots < 1 or args.pool_size <= args.connections:
        parser.error("--ballots must be positive and --pool-size above --connections")
    overload_duration = args.duration if args.overload_duration is None else args.overload_duration
    if args.overload_factor <= 0 or overload_duration <= 0:
        parser.error("--overload-factor and --overload-duration must be positive")
    if args.voters < args.processes:
        parser.error("--voters must be at least --processes")
    return Options(
        configs=tuple(args.configs or CONFIGS),
        duration=args.duration,
        warmup=args.warmup,
        connections=args.connections,
        processes=args.processes,
        pool_size=args.pool_size,
        ballots=min(args.ballots, args.pool_size - args.connections),
        output=args.output,
        overload_factor=args.overload_factor,
        overload_duration=overload_duration,
        voters=args.voters,
    )


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C: every clean-up runs


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    started = time.monotonic()
    load_at_start = os.getloadavg()
    signal.signal(signal.SIGTERM, _terminate)
    os.chdir(PROJECT_ROOT)
    runs: list[ConfigRun] = []
    try:
        with LoadProcesses(options.processes) as processes:
            load = Load(processes, options)
            for config in options.configs:
                console.rule(f"{config} ({CONFIGS[config]} worker(s))")
                runs.append(bench_config(config, options, load))
    except SetupError as exc:
        console.print(f"[bold red]setup failed:[/] {exc}")
        return 2
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: servers stopped, temporary data removed[/]")
        return 130
    report(runs)
    write_results(runs, options, started, load_at_start)
    failed = [run.config for run in runs if run.failed()]
    if failed:
        console.print(
            f"[bold red]failed[/] ({', '.join(failed)}): 5xx answers, answers under overload "
            "other than 201/409/429/503, requests left unanswered, or lost votes"
        )
        return 1
    console.print(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
