"""The public JSON API of voting (contract v1): CAPTCHA, votes, receipts."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody
from litestar.status_codes import HTTP_201_CREATED

from portal.errors import DomainError, Invalid, Unavailable, as_http, not_found
from portal.network import client_network
from portal.view import view_of
from portal.web.api import ApiOperation, error_responses
from voting.services import (
    MAX_IDEMPOTENCY_KEY,
    Ballot,
    VotingService,
    receipt_status,
)

VOTER_COOKIE = "portal_voter"
VOTER_COOKIE_MAX_AGE = 400 * 24 * 3600  # browsers cap cookie lifetimes at 400 days
NO_STORE = {"Cache-Control": "no-store"}
# How long POST /api/v1/captcha waits for an empty pool before answering 503 (seconds).
API_POOL_WAIT = 1.0


class CaptchaChallenge(msgspec.Struct):
    captcha_id: str
    image_url: str
    audio_url: str
    expires_in: int


class VoteRequest(msgspec.Struct):
    """A vote: with a solved CAPTCHA, or with the vote pass an earlier vote returned."""

    candidate_id: int
    captcha_id: str | None = None
    captcha_answer: str | None = None
    vote_pass: str | None = None


class VoteAccepted(msgspec.Struct):
    receipt: str
    candidate_id: int
    cast_at: str
    votes_left_today: int
    status: str
    # The pass for the next votes (null: the next vote needs a CAPTCHA) and its seconds.
    vote_pass: str | None
    pass_expires_in: int | None


class ReceiptStatus(msgspec.Struct):
    receipt: str
    campaign: str
    candidate_id: int
    cast_at: str
    status: str


# Declared (not just read from the headers) so that the schema documents it.
IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY,
        description="Repeating a vote with the same key returns the same receipt and counts once.",
    ),
]


def voter_cookie(request: Request, service: VotingService) -> tuple[str, Cookie | None]:
    """The voter's signed cookie value, and the cookie to set when it is new."""
    value = service.check_voter_cookie(request.cookies.get(VOTER_COOKIE))
    if value is not None:
        return value, None
    value = service.new_voter_cookie()
    return value, Cookie(
        key=VOTER_COOKIE,
        value=value,
        max_age=VOTER_COOKIE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.production,
        path="/",
    )


# The no-JavaScript vote form keeps the voter's pass here, sent only to the campaign's
# own pages (the JSON API takes it in the body).
PASS_COOKIE = "portal_vote_pass"  # noqa: S105 - a cookie name, not a secret


def pass_cookie(request: Request, slug: str, token: str | None, seconds: int | None) -> Cookie:
    """The pass cookie to set after a vote on the form (expired at once without a pass)."""
    return Cookie(
        key=PASS_COOKIE,
        value=token or "",
        max_age=seconds if token and seconds else 0,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.production,
        path=f"/campaigns/{slug}",
    )


def pass_left(request: Request, service: VotingService, campaign_id: int, timezone: str) -> int:
    """Seconds the form's pass cookie stays good for this voter (0: none, or no more)."""
    cookie = service.check_voter_cookie(request.cookies.get(VOTER_COOKIE))
    if cookie is None:
        return 0
    token = request.cookies.get(PASS_COOKIE)
    return service.pass_left_for(token, campaign_id, timezone, cookie, client_network(request))


def challenge_media(content: bytes | None, media_type: str) -> Response[bytes]:
    """A challenge's image or audio, never cached; 404 once it is used or expired."""
    if content is None:
        raise not_found("验证码不存在或已失效，请换一张。")
    return Response(content, media_type=media_type, headers=NO_STORE)


class CaptchaApi(Controller):
    path = "/api/v1/captcha"
    tags = ["voting"]

    @post(
        "/",
        summary="A new CAPTCHA challenge",
        operation_id="createCaptcha",
        operation_class=ApiOperation,
        status_code=HTTP_201_CREATED,
        responses=error_responses(
            (400, "Invalid request"),
            (429, "Too many challenges from this network"),
            (503, "No challenge ready or the store is down; retry"),
        ),
    )
    async def create(
        self, request: Request, voting: NamedDependency[VotingService]
    ) -> Response[CaptchaChallenge]:
        await voting.limit_captcha(client_network(request))
        # An empty pool is waited on briefly: the drawing catches up within a second.
        # Care mode (长辈版) asks for digits only: its cookie comes with the page's request.
        challenge = await voting.captcha.issue_within(API_POOL_WAIT, view_of(request).care)
        if challenge is None:
            raise Unavailable("验证码暂时发放完毕，请几秒后再试。", retry_after=2)
        return Response(
            CaptchaChallenge(
                captcha_id=challenge.captcha_id,
                image_url=challenge.image_url,
                audio_url=challenge.audio_url,
                expires_in=challenge.expires_in,
            ),
            status_code=HTTP_201_CREATED,
            headers=NO_STORE,
        )

    @get(
        "/{captcha_id:str}/image.png",
        summary="A CAPTCHA's image",
        operation_id="getCaptchaImage",
        operation_class=ApiOperation,
        media_type="image/png",
        responses=error_responses(
            (400, "Invalid request"), (404, "Unknown, used or expired challenge")
        ),
    )
    async def image(
        self, voting: NamedDependency[VotingService], captcha_id: FromPath[str]
    ) -> Response[bytes]:
        return challenge_media(await voting.captcha.image(captcha_id), "image/png")

    @get(
        "/{captcha_id:str}/audio.wav",
        summary="A CAPTCHA's spoken answer",
        operation_id="getCaptchaAudio",
        operation_class=ApiOperation,
        media_type="audio/wav",
        responses=error_responses(
            (400, "Invalid request"), (404, "Unknown, used or expired challenge")
        ),
    )
    async def audio(
        self, voting: NamedDependency[VotingService], captcha_id: FromPath[str]
    ) -> Response[bytes]:
        return challenge_media(await voting.captcha.audio(captcha_id), "audio/wav")


class VoteApi(Controller):
    path = "/api/v1"
    tags = ["voting"]

    @post(
        "/campaigns/{slug:str}/votes",
        summary="Cast a vote",
        operation_id="castVote",
        operation_class=ApiOperation,
        status_code=HTTP_201_CREATED,
        responses=error_responses(
            (400, "invalid, captcha_invalid, captcha_expired or captcha_required"),
            (403, "voting_closed"),
            (404, "Unknown campaign"),
            (409, "already_voted: this candidate, today"),
            (413, "too_large: the body is over 1 MiB"),
            (415, "invalid: the body is not sent as application/json"),
            (429, "limit_reached or rate_limited (with Retry-After)"),
            (503, "unavailable: nothing was recorded; retry"),
        ),
    )
    async def cast(
        self,
        request: Request,
        voting: NamedDependency[VotingService],
        slug: FromPath[str],
        data: JSONBody[VoteRequest],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[VoteAccepted]:
        cookie_value, new_cookie = voter_cookie(request, voting)
        if not data.vote_pass and (data.captcha_id is None or data.captcha_answer is None):
            raise as_http(Invalid("请求须包含验证码（captcha_id 和 captcha_answer）或 vote_pass。"))
        ballot = Ballot(
            slug=slug,
            candidate_id=data.candidate_id,
            captcha_id=data.captcha_id or "",
            captcha_answer=data.captcha_answer or "",
            voter_cookie=cookie_value,
            network=client_network(request),
            user_agent=request.headers.get("user-agent", ""),
            idempotency_key=idempotency_key,
            vote_pass=data.vote_pass or None,
        )
        try:
            vote = await voting.cast(ballot)
        except DomainError as exc:
            # Mapped here rather than by the handler: the answer also carries the cookie.
            error = as_http(exc)
            if new_cookie is not None:
                # Keep the voter's new identity even when this attempt is refused.
                error.headers = {
                    **(error.headers or {}),
                    "Set-Cookie": new_cookie.to_header(header=""),
                }
            raise error from None
        return Response(
            VoteAccepted(
                receipt=vote.receipt,
                candidate_id=vote.candidate_id,
                cast_at=vote.cast_at,
                votes_left_today=vote.votes_left_today,
                status=vote.status,
                vote_pass=vote.vote_pass,
                pass_expires_in=vote.pass_expires_in,
            ),
            status_code=HTTP_201_CREATED,
            cookies=[new_cookie] if new_cookie else None,
            headers=NO_STORE,
        )

    @get(
        "/receipts/{receipt:str}",
        summary="The status of a vote by its receipt",
        operation_id="getReceipt",
        operation_class=ApiOperation,
        responses=error_responses((400, "Invalid request"), (404, "Unknown receipt")),
    )
    async def receipt(
        self, voting: NamedDependency[VotingService], receipt: FromPath[str]
    ) -> ReceiptStatus:
        canonical = voting.normalise_receipt(receipt)
        row = await receipt_status(canonical) if canonical else None
        if row is None:
            raise not_found("找不到该投票凭证，请核对后重试。")
        return ReceiptStatus(
            receipt=row["receipt"],
            campaign=row["campaign"],
            candidate_id=row["candidate_id"],
            cast_at=row["cast_at"],
            status=row["status"],
        )
