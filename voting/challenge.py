"""The CAPTCHA that guards a public form (a vote, an objection): one flow for both.

``offer_challenge`` draws a fresh challenge for the form, or says why there is none: the
network asked for too many (``rate``), or the pool stays empty for a moment (``pool``).
``captcha_problem`` turns a checked answer into what the form says of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from portal.errors import RateLimited, retry_headers, status_of, with_wait
from voting.captcha import Outcome
from voting.services import VotingService

# How long a form waits for a challenge when the pool is momentarily empty: a person
# would rather wait a second than see an error page.
POOL_WAIT = 3.0


@dataclass(frozen=True)
class Offer:
    """A challenge for the form, or why there is none (with the answer's status and
    headers for a fresh form)."""

    challenge: dict[str, Any] | None
    unavailable: str = ""  # "rate" or "pool" when there is no challenge
    message: str = ""  # the rate limit's words
    status: int = HTTP_200_OK
    headers: dict[str, str] = field(default_factory=dict)

    def status_after(self, status: int) -> int:
        """The form's status: a refusal keeps its own, a fresh form takes the offer's."""
        return status if status != HTTP_200_OK else self.status


async def issue_challenge(service: VotingService, digits: bool = False) -> dict[str, Any] | None:
    """A fresh CAPTCHA for a form (of digits only when ``digits``: care mode), waiting
    briefly for the pool; ``None`` if it stays empty."""
    challenge = await service.captcha.issue_within(POOL_WAIT, digits)
    if challenge is None:
        return None
    return {
        "captcha_id": challenge.captcha_id,
        "image_url": challenge.image_url,
        "audio_url": challenge.audio_url,
        "minutes": max(1, challenge.expires_in // 60),
        "digits": digits or service.captcha.digits_only,
    }


async def offer_challenge(service: VotingService, network: str, digits: bool = False) -> Offer:
    """A challenge for a form shown to ``network``, within its CAPTCHA rate limit (of
    digits only when ``digits``)."""
    try:
        await service.limit_captcha(network)
    except RateLimited as exc:
        return Offer(None, "rate", with_wait(exc), status_of(exc), retry_headers(exc))
    challenge = await issue_challenge(service, digits)
    if challenge is None:
        return Offer(None, "pool", "", HTTP_503_SERVICE_UNAVAILABLE, {"Retry-After": "5"})
    return Offer(challenge)


def captcha_problem(outcome: Outcome) -> str | None:
    """What the form says of a wrong answer (None when it was right)."""
    if outcome is Outcome.correct:
        return None
    if outcome is Outcome.expired:
        return "验证码已过期，请输入新的验证码。"
    return "验证码错误或已使用，请输入新的验证码。"


@dataclass(frozen=True)
class LoginCaptcha:
    """The CAPTCHA the staff login form asks for once an account has failed too often
    (the kernel's ``Extensions.login_captcha``; portal/lockout.py says when)."""

    service: VotingService

    async def offer(self, network: str) -> dict[str, Any] | None:
        """A challenge for the login form (``None``: none to be had just now)."""
        return (await offer_challenge(self.service, network)).challenge

    async def solved(self, captcha_id: str, answer: str) -> bool:
        if not captcha_id or not answer:
            return False
        return await self.service.captcha.check(captcha_id, answer) is Outcome.correct
