"""The public vote ledger download (contract v1): ``ledger.csv`` once voting has closed."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath
from litestar.response import Stream

from portal.errors import not_found
from portal.phases import voting_has_closed
from portal.web.api import ApiOperation, error_responses
from portal.web.lookups import public_campaign
from voting.ledger import GENESIS, chain_link
from voting.ledger_csv import CSV_HEADER, ledger_csv
from voting.services import VotingService, receipt_hash

LEDGER_DESCRIPTION = (
    "One row per recorded vote in the order recorded, after a header row "
    f"`{','.join(CSV_HEADER)}`. `chain_hash` is the SHA-256 hex of the previous row's "
    "`chain_hash` (64 zeros before the first row), `|`, then `seq,cast_at,candidate_id,"
    "voter_hash,receipt_hash` as written; `status` (counted, held, excluded) is outside "
    "the chain. Check it with `portal verify-ledger`."
)


def _example() -> str:
    """A one-vote ledger whose chain holds (the example should verify)."""
    row = [
        "1",
        "2023-06-12T09:30:05.123+08:00",
        "17",
        "3f" * 32,
        receipt_hash("EXAM-PLE0-RECE-IPT0-0000"),
    ]
    row += [chain_link(GENESIS, *row), "counted"]
    return f"{','.join(CSV_HEADER)}\r\n{','.join(row)}\r\n"


EXAMPLE = _example()


class LedgerApi(Controller):
    path = "/api/v1"
    tags = ["voting"]

    @get(
        "/campaigns/{slug:str}/ledger.csv",
        summary="The public vote ledger, once voting has closed",
        description=LEDGER_DESCRIPTION,
        operation_id="getLedger",
        media_type="text/csv",
        operation_class=ApiOperation,
        responses={
            200: ResponseSpec(
                data_container=str,
                media_type="text/csv",
                generate_examples=False,
                examples=[Example(summary="A ledger of one vote", value=EXAMPLE)],
                description=(
                    "The ledger as UTF-8 CSV, sent as an attachment "
                    '(`Content-Disposition: attachment; filename="{slug}-ledger.csv"`)'
                ),
            ),
            **error_responses(
                (400, "Invalid request"),
                (404, "Unknown campaign, or its voting has not closed yet"),
            ),
        },
    )
    async def ledger(self, voting: NamedDependency[VotingService], slug: FromPath[str]) -> Stream:
        campaign = await public_campaign(slug)
        if not voting_has_closed(campaign, voting.clock()):
            raise not_found("投票尚未结束，投票账本将在投票截止后公开下载。")
        chunks = await ledger_csv(campaign.id)
        return Stream(
            chunks,
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{campaign.slug}-ledger.csv"'},
        )
