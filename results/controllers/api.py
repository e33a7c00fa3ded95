"""The public results API (contract v1): the combined ranking once it is public."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from litestar import Controller, get
from litestar.params import FromPath

from portal.errors import not_found
from portal.web.api import ApiOperation, error_responses
from portal.web.lookups import public_campaign
from results.services import results_payload


class Method(msgspec.Struct):
    review_weight: float
    vote_weight: float
    formula: str


class Standing(msgspec.Struct):
    rank: int | None  # None for a candidate excluded (取消资格) after the tally
    candidate_id: int
    name: str
    organisation: str
    county: str
    # null when the organiser publishes only the names (Campaign.notice_shows_scores).
    review_score: float | None
    votes: int | None
    vote_score: float | None
    final_score: float | None
    designated: bool
    excluded: bool


class CategoryResults(msgspec.Struct):
    key: str
    title: str
    quota: int
    ranking: list[Standing]


class LedgerHead(msgspec.Struct):
    seq: Annotated[
        int, msgspec.Meta(ge=0, description="The last row's seq (0: no votes recorded).")
    ]
    chain_hash: Annotated[
        str,
        msgspec.Meta(
            pattern="^[0-9a-f]{64}$",
            description="The last row's chain_hash (64 zeros, the chain's start: no votes).",
        ),
    ]


class Results(msgspec.Struct):
    phase: Literal["notice", "published"]
    method: Method
    categories: list[CategoryResults]
    ledger_head: LedgerHead


class ResultsApi(Controller):
    path = "/api/v1/campaigns"
    tags = ["results"]

    @get(
        "/{slug:str}/results",
        summary="The combined ranking (from the public notice on)",
        description=(
            "404 `not_found` until the campaign enters the notice phase. Each category's "
            "ranking lists the ranked candidates in order, then any excluded ones "
            "(`rank` null, `excluded` true). `ledger_head` is the last row of the "
            "campaign's ledger.csv, final since voting has closed: `portal verify-ledger "
            "ledger.csv --head SEQ:HASH` refuses a truncated or re-chained copy. "
            "`review_score`, `votes`, `vote_score` and `final_score` are null when the "
            "organiser publishes only the names (with unit and county)."
        ),
        operation_id="getResults",
        responses=error_responses(
            (400, "Invalid request"),
            (404, "Unknown campaign, or its results are not public yet"),
        ),
        operation_class=ApiOperation,
    )
    async def results(self, slug: FromPath[str]) -> Results:
        campaign = await public_campaign(slug)
        payload = await results_payload(campaign)
        if payload is None:
            raise not_found("该活动的评选结果尚未公示。")
        return msgspec.convert(payload, Results)
