"""The public vote as pages: the vote page, the plain form that needs no JavaScript, the
rules, and a candidate's QR code.

The plain form casts through the same ``VotingService.cast`` as the JSON API, with the
same voter cookie and client network, so both paths share every limit and the ledger.
``static/js/vote.js`` turns the 投票 links into an in-page dialog on the JSON API where
the browser can; without it, each link leads to the form here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_304_NOT_MODIFIED,
    HTTP_400_BAD_REQUEST,
    HTTP_403_FORBIDDEN,
)

from nominations.candidates import (
    load_candidate,
    organisation,
    photo_url,
    public_candidate,
    shortlisted,
)
from portal import visits
from portal.campaigns import categories_of, nominating_bureaus
from portal.errors import (
    DomainError,
    NotFound,
    not_found,
    retry_headers,
    status_of,
    with_wait,
)
from portal.network import client_network
from portal.origin import absolute_url
from portal.pagecache import TtlCache, cached_page
from portal.stores import Stores, StoreUnavailable
from portal.tables import Campaign
from portal.view import view_of
from portal.web.lookups import public_campaign
from portal.web.qr import qr_png
from voting.captcha import LIFETIME
from voting.challenge import offer_challenge
from voting.controllers.api import (
    NO_STORE,
    PASS_COOKIE,
    VOTER_COOKIE,
    pass_cookie,
    pass_left,
    voter_cookie,
)
from voting.services import (
    ALREADY_VOTED,
    Ballot,
    CastVote,
    Standing,
    VotingService,
    allowance_spent,
    status_totals,
)
from voting.state import VotingState, counts_public, public_counts, voting_state
from voting.tables import VoteStatus

QR_MAX_AGE = 86400
MAX_QUERY = 50
# Refusals after which another attempt at this candidate today is pointless.
FINAL_REFUSALS = {"already_voted", "limit_reached"}


def cast_at_text(cast_at: str) -> str:
    """The ledger's ISO time as people read it (it already is in the campaign's zone)."""
    try:
        return dt.datetime.fromisoformat(cast_at).strftime("%Y年%m月%d日 %H:%M:%S")
    except ValueError:
        return cast_at


async def cached_totals(cache: TtlCache[int, dict[str, int]], campaign_id: int) -> dict[str, int]:
    """Recorded votes by status: a GROUP BY over the ledger, so kept in the app's
    ``vote_totals`` cache for a few seconds."""
    return await cache.get_or_load(campaign_id, lambda: status_totals(campaign_id))


def form_page(
    campaign: Campaign,
    candidate: dict[str, Any],
    state: VotingState,
    *,
    challenge: dict[str, Any] | None = None,
    message: str = "",
    final: bool = False,
    unavailable: str = "",
    status: int = HTTP_200_OK,
    cookies: list[Cookie] | None = None,
    headers: dict[str, str] | None = None,
    pass_seconds: int = 0,
    left: int | None = None,
) -> Template:
    return Template(
        "voting/form.html",
        context={
            "campaign": campaign,
            "c": candidate,
            "voting": state,
            "challenge": challenge,
            "message": message,
            "final": final,
            "unavailable": unavailable,
            # The voter's pass spares the CAPTCHA for this many more minutes (0: none).
            "pass_minutes": (pass_seconds + 59) // 60,
            # Votes the voter has left today in the candidate's category (None: unknown).
            "left": left,
            # "pool": no CAPTCHA ready; "rate": this network asked for too many.
            # A retried submission (a double tap, a reload) returns the same receipt.
            "idempotency_key": secrets.token_urlsafe(18),
        },
        status_code=status,
        cookies=cookies or [],
        headers={**NO_STORE, **(headers or {})},
    )


async def form_with_challenge(
    request: Request,
    voting: VotingService,
    campaign: Campaign,
    candidate: dict[str, Any],
    state: VotingState,
    *,
    message: str = "",
    status: int = HTTP_200_OK,
    cookies: list[Cookie] | None = None,
    headers: dict[str, str] | None = None,
    left: int | None = None,
) -> Template:
    """The form with a new CAPTCHA; when none can be had, say so (503 on a fresh form)."""
    offer = await offer_challenge(voting, client_network(request), view_of(request).care)
    if offer.unavailable == "rate":
        # The limit's own words and status: another attempt now would be refused too.
        message, status = offer.message, offer.status
    return form_page(
        campaign,
        candidate,
        state,
        challenge=offer.challenge,
        message=message,
        unavailable=offer.unavailable,
        status=offer.status_after(status),
        cookies=cookies,
        headers={**(headers or {}), **offer.headers},
        left=left,
    )


async def voter_standing(request: Request, voting: VotingService, slug: str) -> Standing | None:
    """Where the requesting voter stands today in the campaign, with its voting rules;
    ``None`` for a campaign without any, or while the store does not answer."""
    rules = await voting.rules(slug)
    if rules is None:
        return None
    cookie = voting.check_voter_cookie(request.cookies.get(VOTER_COOKIE))
    try:
        return await voting.standing(rules, cookie, client_network(request))
    except StoreUnavailable:
        return None


class VotePages(Controller):
    include_in_schema = False

    @get("/campaigns/{slug:str}/vote", name="vote_page")
    async def vote_page(
        self,
        request: Request,
        voting: NamedDependency[VotingService],
        stores: NamedDependency[Stores],
        vote_totals: NamedDependency[TtlCache],
        slug: FromPath[str],
        category: FromQuery[str | None] = None,
        county: FromQuery[str | None] = None,
        q: FromQuery[str | None] = None,
    ) -> Response:
        async def render() -> tuple[Template, int]:
            campaign = await public_campaign(slug)
            page = await self._vote_page(voting, stores, vote_totals, campaign, category, county, q)
            return page, campaign.id

        async def count(campaign_id: int) -> None:
            await visits.count_visit(stores.state, campaign_id)

        return await cached_page(request, render, count)

    @staticmethod
    async def _vote_page(
        voting: VotingService,
        stores: Stores,
        vote_totals: TtlCache,
        campaign: Campaign,
        category: str | None,
        county: str | None,
        q: str | None,
    ) -> Template:
        categories = await categories_of(campaign.id)
        current = next((c for c in categories if c.key == category), None)
        if current is None and categories:
            current = categories[0]
        rows = await shortlisted(campaign, current.key) if current else []
        present = {row["county"] for row in rows}
        counties = [
            b.short_name for b in await nominating_bureaus(campaign) if b.short_name in present
        ]
        county = (county or "").strip()
        query = (q or "").strip()[:MAX_QUERY]
        shown = [
            row
            for row in rows
            if (not county or row["county"] == county) and (not query or query in row["name"])
        ]
        for row in shown:
            row["organisation"] = organisation(row)
            row["thumb_url"] = photo_url(row, "thumbnail")
        counts = await public_counts(voting, campaign, [current] if current else [], shown)
        return Template(
            "voting/vote.html",
            context={
                "campaign": campaign,
                "categories": categories,
                "current": current,
                "candidates": shown,
                "total": len(rows),
                "counties": counties,
                "county": county,
                "q": query,
                "counts": counts,
                "show_counts": counts_public(campaign, bool(current and current.public_counts)),
                "voting": voting_state(campaign, voting.clock()),
                "visits": await visits.visits(stores.state, campaign),
                "totals": await cached_totals(vote_totals, campaign.id),
            },
        )

    @get("/campaigns/{slug:str}/rules", name="vote_rules")
    async def rules(
        self,
        voting: NamedDependency[VotingService],
        stores: NamedDependency[Stores],
        slug: FromPath[str],
    ) -> Template:
        campaign = await public_campaign(slug)
        await visits.count_visit(stores.state, campaign.id)
        return Template(
            "voting/rules.html",
            context={
                "campaign": campaign,
                "categories": await categories_of(campaign.id),
                "voting": voting_state(campaign, voting.clock()),
                "captcha_minutes": LIFETIME // 60,
            },
        )

    @get("/campaigns/{slug:str}/candidates/{candidate_id:int}/vote", name="vote_form")
    async def form(
        self,
        request: Request,
        voting: NamedDependency[VotingService],
        stores: NamedDependency[Stores],
        slug: FromPath[str],
        candidate_id: FromPath[int],
    ) -> Template:
        campaign, candidate = await load_candidate(slug, candidate_id)
        await visits.count_visit(stores.state, campaign.id)
        state = voting_state(campaign, voting.clock())
        if not state.open:
            return form_page(campaign, candidate, state)
        # Where the voter stands first: a vote that would be refused asks for nothing.
        standing = await voter_standing(request, voting, slug)
        left = None
        if standing is not None:
            category_id, allowance = standing.rules.candidates.get(candidate_id, (0, 0))
            left = standing.left.get(category_id)
            if candidate_id in standing.voted:
                return form_page(campaign, candidate, state, message=ALREADY_VOTED, final=True)
            if left == 0:
                spent = allowance_spent(allowance)
                return form_page(campaign, candidate, state, message=spent, final=True)
        seconds = pass_left(request, voting, campaign.id, campaign.timezone)
        if seconds:
            return form_page(campaign, candidate, state, pass_seconds=seconds, left=left)
        return await form_with_challenge(request, voting, campaign, candidate, state, left=left)

    @get("/campaigns/{slug:str}/vote/standing", name="vote_standing")
    async def standing(
        self, request: Request, voting: NamedDependency[VotingService], slug: FromPath[str]
    ) -> Response[dict[str, Any]]:
        """Where this voter stands today, for the vote page's script (never cached: the
        pages themselves are the same for every visitor): votes left per category id and
        the candidates voted for."""
        standing = await voter_standing(request, voting, slug)
        if standing is None:
            raise not_found("找不到该评选活动。")
        return Response(
            {
                "day": standing.day,
                "left": {str(k): v for k, v in standing.left.items()},
                "voted": sorted(standing.voted),
            },
            headers=NO_STORE,
        )

    @post("/campaigns/{slug:str}/candidates/{candidate_id:int}/vote", name="vote_submit")
    async def submit(
        self,
        request: Request,
        voting: NamedDependency[VotingService],
        slug: FromPath[str],
        candidate_id: FromPath[int],
    ) -> Template:
        campaign, candidate = await load_candidate(slug, candidate_id)
        state = voting_state(campaign, voting.clock())
        form = await request.form()
        captcha_id = str(form.get("captcha_id") or "").strip()
        answer = str(form.get("captcha_answer") or "").strip()
        key = str(form.get("idempotency_key") or "").strip()[:64] or None
        cookie_value, new_cookie = voter_cookie(request, voting)
        cookies = [new_cookie] if new_cookie else []
        # Without a CAPTCHA, the pass of an earlier vote on the form (if any).
        token = None if captcha_id else request.cookies.get(PASS_COOKIE) or None
        if not token and (not captcha_id or not answer):
            if not state.open:
                return form_page(campaign, candidate, state, status=HTTP_400_BAD_REQUEST)
            return await form_with_challenge(
                request,
                voting,
                campaign,
                candidate,
                state,
                message="请输入图片中的验证码。",
                status=HTTP_400_BAD_REQUEST,
                cookies=cookies,
            )
        ballot = Ballot(
            slug=campaign.slug,
            candidate_id=candidate["id"],
            captcha_id=captcha_id,
            captcha_answer=answer,
            voter_cookie=cookie_value,
            network=client_network(request),
            user_agent=request.headers.get("user-agent", ""),
            idempotency_key=key,
            vote_pass=token,
        )
        try:
            vote = await voting.cast(ballot)
        except DomainError as exc:
            if exc.code == "captcha_required":  # the pass is spent: a CAPTCHA again
                cookies.append(pass_cookie(request, campaign.slug, None, None))
            return await self.refused(request, voting, campaign, candidate, exc, cookies)
        cookies.append(pass_cookie(request, campaign.slug, vote.vote_pass, vote.pass_expires_in))
        return self.accepted(campaign, candidate, vote, cookies)

    async def refused(
        self,
        request: Request,
        voting: VotingService,
        campaign: Campaign,
        candidate: dict[str, Any],
        exc: DomainError,
        cookies: list[Cookie],
    ) -> Template:
        """The refusal's message on the form, with a fresh CAPTCHA where trying again helps."""
        if isinstance(exc, NotFound):
            raise exc
        headers = retry_headers(exc)
        state = voting_state(campaign, voting.clock())
        if exc.code == "voting_closed" or not state.open:
            return form_page(
                campaign,
                candidate,
                state,
                message=exc.message,
                status=HTTP_403_FORBIDDEN,
                cookies=cookies,
            )
        if exc.code in FINAL_REFUSALS:
            return form_page(
                campaign,
                candidate,
                state,
                message=with_wait(exc),
                final=True,
                status=status_of(exc),
                cookies=cookies,
                headers=headers,
            )
        return await form_with_challenge(
            request,
            voting,
            campaign,
            candidate,
            state,
            message=with_wait(exc),
            status=status_of(exc),
            cookies=cookies,
            headers=headers,
        )

    def accepted(
        self, campaign: Campaign, candidate: dict[str, Any], vote: CastVote, cookies: list[Cookie]
    ) -> Template:
        return Template(
            "voting/result.html",
            context={
                "campaign": campaign,
                "c": candidate,
                "vote": vote,
                "cast_at": cast_at_text(vote.cast_at),
                "status_label": VoteStatus.label_of(vote.status),
            },
            cookies=cookies,
            headers=NO_STORE,
        )

    @get("/campaigns/{slug:str}/candidates/{candidate_id:int}/qr.png", name="candidate_qr")
    async def qr(
        self, request: Request, slug: FromPath[str], candidate_id: FromPath[int]
    ) -> Response[bytes]:
        campaign = await public_campaign(slug)
        nomination = await public_candidate(candidate_id)
        if nomination.campaign != campaign.id:
            raise not_found("找不到该候选对象。")
        url = absolute_url(request, f"/campaigns/{campaign.slug}/candidates/{candidate_id}")
        png = qr_png(url)
        etag = '"' + hashlib.sha256(png).hexdigest()[:32] + '"'
        headers = {"Cache-Control": f"public, max-age={QR_MAX_AGE}", "ETag": etag}
        if etag in request.headers.get("if-none-match", ""):
            return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
        return Response(png, media_type="image/png", headers=headers)
