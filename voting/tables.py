"""The vote ledger: one append-only row per recorded vote.

Rows are written in recording order with a per-campaign sequence number and a hash
chain (``chain_hash``) over the public fields, exactly as the public ``ledger.csv``
shows them. Only ``status`` (and who decided it) ever changes after a row is written:
brushing review may hold, release or exclude a vote, and the status is outside the
chain for that reason.
"""

from __future__ import annotations

from piccolo.columns import ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from nominations.tables import Nomination
from portal.labels import LabelledEnum
from portal.tables import Campaign, Category, Staff


class VoteStatus(LabelledEnum):
    counted = "counted", "有效"
    held = "held", "待核查"
    excluded = "excluded", "已剔除"


class Vote(Table):
    """A recorded vote. Unique indexes (made by the migration): (campaign, seq);
    (campaign, day, voter_hash, candidate) — one vote per voter, candidate and day;
    (campaign, network, idempotency_key) — a retried request counts once, with or
    without the voter cookie."""

    campaign = ForeignKey(references=Campaign, null=False)
    seq = Integer()
    category = ForeignKey(references=Category, null=False)
    candidate = ForeignKey(references=Nomination, null=False)
    # Exactly as in the ledger (ISO 8601, milliseconds, campaign offset): the chain
    # hashes this text, so it is stored as text and never re-rendered.
    cast_at = Varchar(length=40)
    cast_ts = Timestamptz()
    # The calendar day in the campaign's time zone (YYYY-MM-DD): the unit of allowances.
    day = Varchar(length=10)
    voter_hash = Varchar(length=64)
    receipt = Varchar(length=40, unique=True)
    receipt_hash = Varchar(length=64)
    chain_hash = Varchar(length=64)
    status = Varchar(length=10, choices=VoteStatus, default=VoteStatus.counted)
    # Brushing evidence, never public: the client network, a hash of the User-Agent,
    # and the names of the rules that held the vote (comma-separated).
    network = Varchar(length=64, default="")
    agent_hash = Varchar(length=16, default="")
    flags = Varchar(length=200, default="")
    idempotency_key = Varchar(length=64, null=True, default=None)
    decided_by = ForeignKey(references=Staff, null=True, default=None, on_delete=OnDelete.set_null)
    decided_at = Timestamptz(null=True, default=None)
    decision_reason = Text(default="")
