"""The CAPTCHA contract on both shared stores: single use, expiry, case, pool, media."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter

import pytest

import voting.captcha
from portal.stores import MemoryStateStore
from tests.voting.conftest import (
    SLUG,
    TEST_ANSWER,
    assert_error,
    ledger_rows,
    live_answer,
    new_captcha,
    serve,
    sign_in_voter,
    vote,
    voting_service,
)
from voting.captcha import LIFETIME, POOL_KEY, POOLED_IMAGE_LIFETIME, CaptchaService

pytestmark = pytest.mark.usefixtures("bureaus")

NEVER_RIGHT = "0000"  # "0" is not in the CAPTCHA alphabet


async def test_captcha_answers_201_with_the_contract_fields(api) -> None:
    """POST /api/v1/captcha → 201 {captcha_id, image_url, audio_url, expires_in}."""
    response = await api.post("/api/v1/captcha")
    for _ in range(100):  # the pool of a new app fills within a moment
        if response.status_code != 503:
            break
        await asyncio.sleep(0.05)
        response = await api.post("/api/v1/captcha")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"captcha_id", "image_url", "audio_url", "expires_in"}
    assert body["expires_in"] == LIFETIME == 300
    assert body["image_url"] == f"/api/v1/captcha/{body['captcha_id']}/image.png"
    assert body["audio_url"] == f"/api/v1/captcha/{body['captcha_id']}/audio.wav"
    assert response.headers["cache-control"] == "no-store"


async def test_image_is_png_and_audio_is_wav(api) -> None:
    """The challenge's image is a PNG and its audio a WAV, by their content."""
    captcha = await new_captcha(api)
    image = await api.get(captcha["image_url"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    audio = await api.get(captcha["audio_url"])
    assert audio.status_code == 200
    assert audio.headers["content-type"].startswith("audio/wav")
    assert audio.content[:4] == b"RIFF"
    assert audio.content[8:12] == b"WAVE"


async def test_media_of_an_unknown_challenge_is_not_found(api) -> None:
    """Image and audio of a forged challenge id answer 404 not_found."""
    for suffix in ("image.png", "audio.wav"):
        response = await api.get(f"/api/v1/captcha/abc.1700000000.forged/{suffix}")
        assert_error(response, 404, "not_found")


async def test_one_challenge_answered_twice_at_once_is_accepted_once(api, voting_campaign) -> None:
    """Two concurrent votes with one challenge: one 201 at most, the other captcha_invalid."""
    first, second = voting_campaign["candidates"]["mediator"][:2]
    sign_in_voter(api)
    captcha = await new_captcha(api)
    responses = await asyncio.gather(
        vote(api, first, captcha=captcha), vote(api, second, captcha=captcha)
    )
    assert Counter(r.status_code for r in responses) == {201: 1, 400: 1}
    refused = next(r for r in responses if r.status_code == 400)
    assert_error(refused, 400, "captcha_invalid")
    assert len(await ledger_rows(voting_campaign["campaign"].id)) == 1


async def test_an_answered_challenge_is_not_accepted_again(api, voting_campaign) -> None:
    """A challenge that recorded a vote cannot record another one later."""
    first, second = voting_campaign["candidates"]["mediator"][:2]
    captcha = await new_captcha(api)
    assert (await vote(api, first, captcha=captcha)).status_code == 201
    assert_error(await vote(api, second, captcha=captcha), 400, "captcha_invalid")
    assert len(await ledger_rows(voting_campaign["campaign"].id)) == 1


@pytest.mark.parametrize(
    ("answer", "status"), [(TEST_ANSWER, 201), (NEVER_RIGHT, 400)], ids=["right", "wrong"]
)
async def test_media_of_an_answered_challenge_is_not_found(
    api, voting_campaign, answer: str, status: int
) -> None:
    """Once an answer (right or wrong) has consumed the challenge, its image and audio
    answer 404 not_found: nothing is left to solve offline or to replay."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    captcha = await new_captcha(api)
    assert (await api.get(captcha["image_url"])).status_code == 200
    assert (await api.get(captcha["audio_url"])).status_code == 200
    assert (await vote(api, candidate, captcha=captcha, answer=answer)).status_code == status
    for url in (captcha["image_url"], captcha["audio_url"]):
        assert_error(await api.get(url), 404, "not_found")


async def test_a_wrong_answer_consumes_the_challenge(api, voting_campaign) -> None:
    """After one wrong answer even the right answer (or the test answer) is refused."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    captcha = await new_captcha(api)
    right = await live_answer(api, captcha["captcha_id"])
    assert_error(
        await vote(api, candidate, captcha=captcha, answer=NEVER_RIGHT), 400, "captcha_invalid"
    )
    assert_error(await vote(api, candidate, captcha=captcha, answer=right), 400, "captcha_invalid")
    assert_error(await vote(api, candidate, captcha=captcha), 400, "captcha_invalid")
    assert await ledger_rows(voting_campaign["campaign"].id) == []


async def test_answers_are_case_insensitive(api, voting_campaign) -> None:
    """The drawn answer typed in lower case (with stray spaces) is accepted."""
    first, second = voting_campaign["candidates"]["mediator"][:2]
    captcha = await new_captcha(api)
    right = await live_answer(api, captcha["captcha_id"])
    response = await vote(api, first, captcha=captcha, answer=f" {right.lower()} ")
    assert response.status_code == 201, response.text
    # The configured test answer is case-insensitive too.
    response = await vote(api, second, answer="pass9")
    assert response.status_code == 201, response.text


async def test_an_expired_challenge_is_refused_as_expired(
    api, voting_campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five minutes after it was handed out a challenge answers captcha_expired."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    captcha = await new_captcha(api)
    service = voting_service(api).captcha
    raw, _ = service.parse_id(captcha["captcha_id"])

    class Later:
        """``time`` as seen LIFETIME + 1 seconds from now."""

        @staticmethod
        def time() -> float:
            return time.time() + LIFETIME + 1

    monkeypatch.setattr(voting.captcha, "time", Later)
    # What the store's five-minute expiry of the live answer would have done by then.
    await service.store.delete(f"captcha:live:{raw}")
    response = await vote(api, candidate, captcha=captcha)
    assert_error(response, 400, "captcha_expired")
    assert await ledger_rows(voting_campaign["campaign"].id) == []


async def test_unknown_or_forged_challenges_are_invalid(api, voting_campaign) -> None:
    """A forged id, a well-formed unsigned one and a never-issued signed one: captcha_invalid."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    service = voting_service(api).captcha
    never_issued = service._make_id("00" * 12, int(time.time()))
    for captcha_id in ("nonsense", "0123abcd.1700000000.not-signed", never_issued):
        response = await vote(api, candidate, captcha={"captcha_id": captcha_id})
        assert_error(response, 400, "captcha_invalid")
    assert await ledger_rows(voting_campaign["campaign"].id) == []


async def test_an_empty_pool_answers_503_never_a_reused_challenge(build_app) -> None:
    """Each pooled challenge is handed out once; when none is left the answer is 503."""
    app = build_app()
    service = app.state.voting.captcha
    fill = service.fill

    async def never_fill() -> int:
        return 0

    service.fill = never_fill  # the background refill adds nothing
    async with serve(app) as client:
        assert_error(await client.post("/api/v1/captcha"), 503, "unavailable")
        service.pool_size = 3
        assert await fill() == 3
        handed = [await client.post("/api/v1/captcha") for _ in range(3)]
        assert [r.status_code for r in handed] == [201, 201, 201]
        empty = await client.post("/api/v1/captcha")
        assert_error(empty, 503, "unavailable")
        assert int(empty.headers["retry-after"]) >= 1
        assert await service.store.length(POOL_KEY) == 0
    ids = [r.json()["captcha_id"] for r in handed]
    assert len({service.parse_id(captcha_id)[0] for captcha_id in ids}) == 3


async def test_a_challenge_drawn_too_long_ago_is_not_handed_out(store) -> None:  # type: ignore[no-untyped-def]
    """Its image may expire before it is answered: the next one in the pool is taken."""
    service = CaptchaService(store, "secret")
    stale = int(time.time()) - POOLED_IMAGE_LIFETIME + LIFETIME
    await store.push(POOL_KEY, f"old:ABCD:{stale}", f"new:EFGH:{int(time.time())}")
    challenge = await service.issue()
    assert challenge is not None and service.parse_id(challenge.captcha_id)[0] == "new"
    assert await store.get_many(["captcha:live:new", "captcha:live:old"]) == [b"EFGH", None]
    assert 0 < (await store.expires_in("captcha:live:new") or 0) <= LIFETIME
    assert await service.issue() is None  # the pool is empty now


async def test_a_request_waits_briefly_for_the_next_drawing(build_app) -> None:
    """A surge empties the pool: a request waits (up to a second) for the next drawing
    instead of answering 503 at once."""
    app = build_app()
    service = app.state.voting.captcha
    fill = service.fill

    async def never_fill() -> int:
        return 0

    service.fill = never_fill
    async with serve(app) as client:
        service.pool_size = 1

        async def draw_soon() -> None:
            await asyncio.sleep(0.3)
            # One, or two when the waiting request took the first before the pool's
            # level was read again.
            assert await fill() >= 1

        answer, _ = await asyncio.gather(client.post("/api/v1/captcha"), draw_soon())
    assert answer.status_code == 201, answer.text


async def test_challenges_per_network_are_rate_limited(build_app, monkeypatch) -> None:
    """A network asking for more than 60 challenges a minute is refused with rate_limited."""
    monkeypatch.setattr("voting.controllers.api.API_POOL_WAIT", 0)  # 60 answers at once
    app = build_app()

    async def never_fill() -> int:
        return 0

    app.state.voting.captcha.fill = never_fill
    async with serve(app) as client:
        statuses = [(await client.post("/api/v1/captcha")).status_code for _ in range(60)]
        assert statuses == [503] * 60  # the pool is empty, but each request counts
        refused = await client.post("/api/v1/captcha")
    assert_error(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 61


async def test_votes_need_the_captcha_of_this_request(api, voting_campaign) -> None:
    """A vote without a valid answer records nothing, and its challenge is consumed."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    captcha = await new_captcha(api)
    response = await api.post(
        f"/api/v1/campaigns/{SLUG}/votes",
        json={"candidate_id": candidate, "captcha_id": captcha["captcha_id"], "captcha_answer": ""},
    )
    assert_error(response, 400, "captcha_invalid")
    assert_error(await vote(api, candidate, captcha=captcha), 400, "captcha_invalid")
    assert await ledger_rows(voting_campaign["campaign"].id) == []


async def test_pool_refill_stops_when_its_cancel_is_swallowed() -> None:
    """The refill task ends on shutdown even when a store call swallows the cancel.

    On Python 3.11 redis-py can lose a cancel that lands as a command completes
    (``asyncio.wait_for``); the app's shutdown then waited for this task forever.
    """
    swallowed: list[bool] = []

    class SwallowingStore(MemoryStateStore):
        async def length(self, key: str) -> int:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed.append(True)  # as asyncio.wait_for does when the call just finished
            return 0

    service = CaptchaService(SwallowingStore(), "secret", pool_size=0)
    task = asyncio.create_task(service.fill_forever(interval=0.01))
    await asyncio.sleep(0.05)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=2)
    if not done:  # clean up before failing: a second cancel goes through
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert swallowed == [True]
    assert done == {task}
    assert task.cancelled()
