"""The rows of the public ``ledger.csv``.

Once voting has closed (``portal.phases.voting_has_closed``), anyone may download the
ledger and check it (``portal verify-ledger``): one row per recorded vote in ``seq``
order, each field exactly as it was hashed into the chain, plus the vote's current
``status``. A campaign may hold hundreds of thousands of votes, so the rows are read in
keyset pages by ``seq`` (the ``(campaign, seq)`` unique index serves each page) and sent
as they are read: memory stays flat whatever the size of the ledger.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

from voting.ledger import LEDGER_HEADER
from voting.tables import Vote

# The chained fields, then the status (outside the chain: review may change it).
CSV_HEADER = (*LEDGER_HEADER, "status")
PAGE_SIZE = 5000


async def ledger_page(campaign_id: int, after_seq: int, limit: int) -> list[dict]:
    """Up to ``limit`` ledger rows of the campaign with ``seq`` above ``after_seq``, in
    ``seq`` order, with the public columns only."""
    return (
        await Vote.select(
            Vote.seq,
            Vote.cast_at,
            Vote.candidate.as_alias("candidate_id"),
            Vote.voter_hash,
            Vote.receipt_hash,
            Vote.chain_hash,
            Vote.status,
        )
        .where((Vote.campaign == campaign_id) & (Vote.seq > after_seq))
        .order_by(Vote.seq)
        .limit(limit)
        .run()
    )


def csv_text(rows: list[dict], *, header: bool = False) -> str:
    """Rows as ``ledger.csv`` lines (CRLF-terminated, as RFC 4180 has it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(CSV_HEADER)
    writer.writerows([row[name] for name in CSV_HEADER] for row in rows)
    return out.getvalue()


async def ledger_csv(campaign_id: int, page_size: int | None = None) -> AsyncIterator[bytes]:
    """The campaign's ``ledger.csv`` as UTF-8 chunks: the header with the first page of
    rows, then one chunk per page (of ``page_size`` rows, default ``PAGE_SIZE``).

    The first page is read before this returns, so a database that is down fails the
    request with a proper 503 instead of cutting a download short after its headers.
    """
    size = page_size or PAGE_SIZE
    first = await ledger_page(campaign_id, 0, size)
    return _chunks(campaign_id, first, size)


async def _chunks(campaign_id: int, rows: list[dict], page_size: int) -> AsyncIterator[bytes]:
    yield csv_text(rows, header=True).encode()
    while len(rows) == page_size:
        rows = await ledger_page(campaign_id, rows[-1]["seq"], page_size)
        if rows:
            yield csv_text(rows).encode()
