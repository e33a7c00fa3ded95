"""What every JSON API handler shares: the contract's error body and its documentation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import msgspec
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIHeader, OpenAPIResponse, OpenAPIType, Operation, Schema

PhaseName = Literal[
    "draft", "nominating", "vetting", "reviewing", "voting", "tallying", "notice", "published"
]
KindName = Literal["judicial_office", "mediation_committee", "mediator"]
LevelName = Literal["province", "city", "county", "township"]
# The levels that run campaigns (a township office only nominates).
OrganiserLevel = Literal["province", "city", "county"]


class ErrorBody(msgspec.Struct):
    """Every 4xx/5xx answer of the API."""

    error: str
    message: str


UNAVAILABLE = (
    "`unavailable`: the database or the store is down, or the server is busy; nothing "
    "was recorded, retry after `Retry-After` seconds"
)
RETRY_AFTER = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.INTEGER, minimum=0),
    description="Seconds to wait before trying again",
    required=True,
)


def error_responses(*pairs: tuple[int, str]) -> dict[int, ResponseSpec]:
    """An API operation's documented errors (status, description), all as ``ErrorBody``.

    Any API request may also be answered 503 ``unavailable`` (a backing service down, or
    the process shedding load: ``portal.errors``, ``portal.shedding``), so it is always
    included. Litestar's own 400 for handlers with parameters has its
    ``{status_code, detail}`` shape; listing 400 here replaces it with ours.
    """
    described = {503: UNAVAILABLE, **dict(pairs)}
    return {
        status: ResponseSpec(data_container=ErrorBody, description=described[status])
        for status in sorted(described)
    }


@dataclass
class ApiOperation(Operation):
    """An API operation whose 429 and 503 answers document their ``Retry-After`` header.

    Litestar's ``ResponseSpec`` cannot declare headers; every 429 and 503 of the API
    carries one (the contract requires it on 429), so it is added to the schema here.
    """

    def __post_init__(self) -> None:
        for status, response in (self.responses or {}).items():
            if status in {"429", "503"} and isinstance(response, OpenAPIResponse):
                response.headers = {**(response.headers or {}), "Retry-After": RETRY_AFTER}
