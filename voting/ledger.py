"""The ledger writer: votes are committed in groups, chained in recording order.

Every vote must be in the database before its 201 is sent. One transaction per vote
would make the disk's commit latency the ceiling of the whole vote path, so each
server process has one writer task: requests hand it their vote and wait; while one
transaction is being committed, the next requests queue up, and the writer commits
all of them together in the next one (group commit). Under light load a batch is one
vote and nothing waits for a timer; under heavy load a batch is many.

A vote waits for the writer to take it at most ``max_wait`` seconds
(``PORTAL_LEDGER_WAIT_MS``): past that, while it is still in the queue, it is withdrawn
and ``LedgerBusy`` is raised, so nothing is recorded and the voter may retry. Once the
writer has taken a vote into a batch it is never withdrawn: its commit may still
succeed, and a vote that is recorded must not be answered as refused.

The chain is one chain per campaign, whichever process writes: each batch takes the
campaign's chain lock (a PostgreSQL advisory transaction lock; SQLite's single
``IMMEDIATE`` writer), reads the last ``seq`` and ``chain_hash``, and appends.

Closing is final: under the same lock the writer reads the campaign's phase and voting
window, and a campaign not open for votes at that moment gets none of the batch's votes
(``VotingClosed``). Every change of a campaign's phase or window takes the lock too
(``portal.db.VOTES_LOCK``), so a vote is either committed before the change or judged
by it — on every process and node, whatever a process has cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from portal.clock import utc_now
from portal.db import VOTES_LOCK, advisory_lock, is_unique_violation, write_transaction
from portal.phases import OPEN, window_status
from portal.tables import Campaign
from voting.tables import Vote

log = logging.getLogger("portal.ledger")

GENESIS = "0" * 64
MAX_BATCH = 500

LEDGER_HEADER = ("seq", "cast_at", "candidate_id", "voter_hash", "receipt_hash", "chain_hash")


def chain_link(
    previous: str, seq: int, cast_at: str, candidate_id: int, voter_hash: str, receipt_hash: str
) -> str:
    """The ``chain_hash`` of a row, exactly as the public contract defines it."""
    text = f"{previous}|{seq},{cast_at},{candidate_id},{voter_hash},{receipt_hash}"
    return hashlib.sha256(text.encode()).hexdigest()


def first_break(rows: list[dict]) -> int | None:
    """The position (0-based) of the first row whose ``seq`` or ``chain_hash`` does not
    follow from the rows before it, or ``None`` when the whole chain holds.

    ``rows`` are in recording order, each with ``seq``, ``cast_at``, ``candidate`` (or
    ``candidate_id``), ``voter_hash``, ``receipt_hash`` and ``chain_hash`` as recorded.
    """
    previous = GENESIS
    for position, row in enumerate(rows):
        candidate = row.get("candidate_id", row.get("candidate"))
        expected = chain_link(
            previous,
            row["seq"],
            row["cast_at"],
            candidate,
            row["voter_hash"],
            row["receipt_hash"],
        )
        if int(row["seq"]) != position + 1 or row["chain_hash"] != expected:
            return position
        previous = expected
    return None


class LedgerBusy(Exception):
    """The writer did not take the vote in time; it was withdrawn, nothing recorded."""


class VotingClosed(Exception):
    """The campaign was not open for votes when the vote's batch was written: nothing
    of it was recorded."""


@dataclass
class PendingVote:
    """A vote on its way into the ledger; ``seq`` and ``chain_hash`` are set on commit."""

    campaign_id: int
    category_id: int
    candidate_id: int
    cast_at: str
    cast_ts: dt.datetime
    day: str
    voter_hash: str
    receipt: str
    receipt_hash: str
    status: str
    network: str = ""
    agent_hash: str = ""
    flags: str = ""
    idempotency_key: str | None = None
    seq: int = 0
    chain_hash: str = ""
    row: Vote | None = field(default=None, repr=False)


@dataclass(frozen=True)
class LedgerHead:
    """The last row of a campaign's ledger: its ``seq`` and ``chain_hash``.

    Published once voting has closed, it pins the whole ``ledger.csv``: a truncated
    copy ends on another ``seq``, a re-chained one on another ``chain_hash``. A ledger
    without votes has the chain's genesis as its head: ``seq`` 0 and 64 zeros.
    """

    seq: int
    chain_hash: str


async def ledger_head(campaign_id: int) -> LedgerHead:
    """The campaign's ledger head, in one query (the ``(campaign, seq)`` index)."""
    last = (
        await Vote.select(Vote.seq, Vote.chain_hash)
        .where(Vote.campaign == campaign_id)
        .order_by(Vote.seq, ascending=False)
        .first()
        .run()
    )
    return LedgerHead(last["seq"], last["chain_hash"]) if last else LedgerHead(0, GENESIS)


async def _open_for_votes(campaign_id: int, at: dt.datetime) -> bool:
    """Whether the campaign takes votes at ``at``, as its row says now."""
    row = (
        await Campaign.select(Campaign.phase, Campaign.voting_opens_at, Campaign.voting_closes_at)
        .where(Campaign.id == campaign_id)
        .first()
        .run()
    )
    if row is None:
        return False
    return window_status(row["phase"], row["voting_opens_at"], row["voting_closes_at"], at) == OPEN


# The ledger's columns in the order _append gives them.
_INSERT_COLUMNS = (
    Vote.campaign,
    Vote.seq,
    Vote.category,
    Vote.candidate,
    Vote.cast_at,
    Vote.cast_ts,
    Vote.day,
    Vote.voter_hash,
    Vote.receipt,
    Vote.receipt_hash,
    Vote.chain_hash,
    Vote.status,
    Vote.network,
    Vote.agent_hash,
    Vote.flags,
    Vote.idempotency_key,
)
_QUOTED = ", ".join(f'"{column._meta.db_column_name}"' for column in _INSERT_COLUMNS)
# Names from the table's own definition, never from input: the values are parameters.
_INSERT_HEAD = f'INSERT INTO "{Vote._meta.tablename}" ({_QUOTED}) VALUES '  # noqa: S608
_INSERT_ROW = "(" + ", ".join("{}" for _ in _INSERT_COLUMNS) + ")"


async def _append(campaign_id: int, votes: list[PendingVote], at: dt.datetime | None) -> bool:
    """Append to the campaign's chain; with ``at``, only if it is open for votes then
    (False: nothing appended)."""
    await advisory_lock(VOTES_LOCK, campaign_id)
    if at is not None and not await _open_for_votes(campaign_id, at):
        return False
    head = await ledger_head(campaign_id)
    seq, previous = head.seq, head.chain_hash
    values: list[Any] = []
    for vote in votes:
        seq += 1
        vote.seq = seq
        vote.chain_hash = previous = chain_link(
            previous, seq, vote.cast_at, vote.candidate_id, vote.voter_hash, vote.receipt_hash
        )
        values += (
            campaign_id,
            seq,
            vote.category_id,
            vote.candidate_id,
            vote.cast_at,
            vote.cast_ts,
            vote.day,
            vote.voter_hash,
            vote.receipt,
            vote.receipt_hash,
            vote.chain_hash,
            vote.status,
            vote.network,
            vote.agent_hash,
            vote.flags,
            vote.idempotency_key,
        )
    # One statement with parameters, written here: building a Vote object per row and
    # the query from them was a tenth of a vote's CPU.
    await Vote.raw(_INSERT_HEAD + ", ".join([_INSERT_ROW] * len(votes)), *values).run()
    return True


async def commit(votes: list[PendingVote], at: dt.datetime | None = None) -> set[int]:
    """Append ``votes`` to their campaigns' chains in one transaction.

    With ``at`` (the writer's present), the votes of a campaign that is not open for votes
    at ``at`` are left out; returns those campaigns' ids. Without it (history loaded by
    the demo or a test) every vote is appended.
    """
    closed = set()
    async with write_transaction():
        ordered = sorted(votes, key=lambda v: v.campaign_id)  # locks in one order: no deadlock
        for campaign_id, group in groupby(ordered, key=lambda v: v.campaign_id):
            if not await _append(campaign_id, list(group), at):
                closed.add(campaign_id)
    return closed


@dataclass(eq=False)
class _Queued:
    """A vote in the writer's queue, with the future its request waits on."""

    vote: PendingVote
    future: asyncio.Future[PendingVote]
    taken: bool = False  # in a batch: its commit may happen, it can no longer be withdrawn
    withdrawn: bool = False  # given up by its request before the writer took it


class LedgerWriter:
    """The per-process group-commit writer (start it in the app's lifespan)."""

    def __init__(
        self,
        max_batch: int = MAX_BATCH,
        max_wait: float | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.max_batch = max_batch
        self.clock = clock  # the present the campaigns' windows are judged at
        # Seconds a vote may wait in the queue before it is withdrawn (None: no bound).
        self.max_wait = max_wait
        self._queue: asyncio.Queue[_Queued] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.withdrawn = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ledger-writer")

    async def stop(self) -> None:
        """Commit what is queued, then stop."""
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def record(self, vote: PendingVote) -> PendingVote:
        """Queue ``vote`` and return once it is committed (raises what the commit raised).

        Raises ``LedgerBusy`` when the writer has not taken the vote within ``max_wait``
        seconds; the vote is then withdrawn and will not be recorded.
        """
        if self._task is None:  # not running (a script, a test without lifespan)
            if await commit([vote], at=self.clock()):
                raise VotingClosed(f"campaign {vote.campaign_id} is closed")
            return vote
        item = _Queued(vote, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(item)
        if self.max_wait is not None:
            # asyncio.wait never cancels the future: the commit goes on regardless.
            await asyncio.wait({item.future}, timeout=self.max_wait)
            if not item.future.done() and not item.taken:
                item.withdrawn = True
                self.withdrawn += 1
                raise LedgerBusy(f"the ledger writer did not take the vote in {self.max_wait} s")
        return await asyncio.shield(item.future)

    async def _run(self) -> None:
        while True:
            batch: list[_Queued] = []
            item = await self._queue.get()
            while True:
                if item.withdrawn:
                    self._queue.task_done()
                else:
                    item.taken = True
                    batch.append(item)
                if len(batch) >= self.max_batch or self._queue.empty():
                    break
                item = self._queue.get_nowait()
            if not batch:
                continue
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[_Queued]) -> None:
        try:
            closed = await commit([item.vote for item in batch], at=self.clock())
        except Exception as exc:
            if len(batch) > 1 and is_unique_violation(exc):
                # One vote broke a unique rule: commit the others without it.
                for item in batch:
                    await self._write([item])
                return
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        self.batches += 1
        for item in batch:
            if item.future.done():
                continue
            if item.vote.campaign_id in closed:
                item.future.set_exception(VotingClosed(f"campaign {item.vote.campaign_id}"))
            else:
                item.future.set_result(item.vote)
