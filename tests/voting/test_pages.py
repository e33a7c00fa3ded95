"""The public vote pages: the vote page, the plain form without JavaScript, rules, QR
codes, share cards, receipts, and live counts in the candidates API."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from typing import Any

import httpx
import pytest
from PIL import Image

from nominations.tables import Nomination
from portal.assets import static_url
from portal.errors import RateLimited
from portal.phases import voting_has_closed
from portal.tables import PHASE_ORDER, Campaign, Category, Phase
from tests.conftest import FORGED_HOST, PUBLIC_URL
from tests.helpers import csrf_token
from tests.voting.conftest import SLUG, TEST_ANSWER, make_voting_campaign, vote
from voting import challenge
from voting.controllers import pages
from voting.services import VotingRules, receipt_hash
from voting.state import voting_state
from voting.tables import Vote

pytestmark = pytest.mark.usefixtures("bureaus")

RECEIPT = re.compile(r"\b[A-Z2-7]{4}(?:-[A-Z2-7]{4}){4}\b")


def form_url(candidate_id: int, slug: str = SLUG) -> str:
    return f"/campaigns/{slug}/candidates/{candidate_id}/vote"


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden {name} in the page"
    return html.unescape(found.group(1))


async def open_form(client: httpx.AsyncClient, candidate_id: int) -> dict[str, str]:
    """GET the plain form; return what the browser would submit with the test answer
    (no CAPTCHA where the voter's pass spares it)."""
    response = await client.get(form_url(candidate_id))
    assert response.status_code == 200, response.text[:500]
    data = {
        "_csrf_token": await csrf_token(client),
        "idempotency_key": hidden(response.text, "idempotency_key"),
    }
    if 'name="captcha_id"' in response.text:
        data.update(captcha_id=hidden(response.text, "captcha_id"), captcha_answer=TEST_ANSWER)
    return data


async def submit(client: httpx.AsyncClient, candidate_id: int, **changes: str) -> httpx.Response:
    data = {**await open_form(client, candidate_id), **changes}
    return await client.post(form_url(candidate_id), data=data)


async def recorded() -> list[dict[str, Any]]:
    return await Vote.select(Vote.candidate, Vote.receipt, Vote.status).order_by(Vote.id).run()


def no_inline_script(page: str) -> None:
    """The Content-Security-Policy forbids inline script: every script is a file."""
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "inline <script>"
    assert not re.search(r"\son[a-z]+=", page), "inline event handler"


def stat(page: str, label: str) -> int:
    found = re.search(rf"<strong>([\d,]+)</strong><span>{label}</span>", page)
    assert found, label
    return int(found.group(1).replace(",", ""))


# --- the plain form, no JavaScript ---------------------------------------------------------


async def test_the_plain_form_casts_a_vote_and_shows_the_receipt(client, voting_campaign) -> None:
    candidate = voting_campaign["candidates"]["judicial-office"][0]
    page = await client.get(form_url(candidate))
    assert page.status_code == 200
    text = page.text
    assert "judicial-office候选1" in text
    assert 'name="_csrf_token"' in text
    captcha_id = hidden(text, "captcha_id")
    assert f'src="/api/v1/captcha/{captcha_id}/image.png"' in text
    assert f'href="/api/v1/captcha/{captcha_id}/audio.wav"' in text and "听语音验证码" in text
    answer_input = re.search(r'<input id="captcha-answer"[^>]*>', text, re.S).group(0)
    assert 'autocomplete="off"' in answer_input and "inputmode=" in answer_input
    assert page.headers["cache-control"] == "no-store"
    no_inline_script(text)
    image = await client.get(f"/api/v1/captcha/{captcha_id}/image.png")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"

    response = await client.post(
        form_url(candidate),
        data={
            "_csrf_token": await csrf_token(client),
            "captcha_id": captcha_id,
            "idempotency_key": hidden(text, "idempotency_key"),
            "captcha_answer": TEST_ANSWER.lower(),
        },
    )
    assert response.status_code == 200, response.text[:500]
    assert "投票成功" in response.text
    receipt = RECEIPT.search(response.text).group(0)
    assert f'<p class="receipt-code" id="receipt-code">{receipt}</p>' in response.text
    assert f'href="/receipts/{receipt}"' in response.text
    assert "本类别今日还可投</dt><dd>2 票" in response.text  # 3 a day in this category
    assert re.search(r"\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}:\d{2}", response.text)
    assert "portal_voter" in response.cookies
    assert [(r["candidate"], r["receipt"], r["status"]) for r in await recorded()] == [
        (candidate, receipt, "counted")
    ]

    # The receipt checks out on its page and in the API.
    check = await client.get(f"/receipts/{receipt}")
    assert check.status_code == 200
    for expected in ("有效", "judicial-office候选1", "2024年度测试评选", receipt_hash(receipt)):
        assert expected in check.text
    api = await client.get(f"/api/v1/receipts/{receipt}")
    assert api.json()["status"] == "counted" and api.json()["candidate_id"] == candidate


async def test_the_form_and_the_api_share_one_voter_and_its_limits(client, voting_campaign) -> None:
    first, second = voting_campaign["candidates"]["mediator"][:2]  # 2 votes a day
    assert (await submit(client, first)).status_code == 200
    # A form posted again (opened before the vote, or the back button) with the pass.
    stale = {"_csrf_token": await csrf_token(client), "idempotency_key": "again"}
    again = await client.post(form_url(first), data=stale)
    assert again.status_code == 409
    assert "已经为该候选对象投过票" in again.text
    assert 'name="captcha_id"' not in again.text  # no CAPTCHA wasted on a pointless retry
    # The JSON API sees the same voter (the cookie the form set) and its allowance.
    assert (await vote(client, second)).status_code == 201
    third = voting_campaign["candidates"]["mediator"][2]
    spent = await client.post(form_url(third), data={**stale, "idempotency_key": "spent"})
    assert spent.status_code == 429
    assert "2 票已经投完" in spent.text
    assert int(spent.headers["retry-after"]) > 0
    assert len(await recorded()) == 2


async def test_a_wrong_answer_shows_the_message_and_a_new_captcha(client, voting_campaign) -> None:
    candidate = voting_campaign["candidates"]["judicial-office"][1]
    data = await open_form(client, candidate)
    wrong = await client.post(form_url(candidate), data={**data, "captcha_answer": "WRONG"})
    assert wrong.status_code == 400
    assert "验证码错误" in wrong.text
    assert 'role="alert"' in wrong.text
    fresh = hidden(wrong.text, "captcha_id")
    assert fresh != data["captcha_id"]
    assert "portal_voter" in wrong.cookies  # the voter keeps one identity across attempts
    # The old challenge was consumed, even by a wrong answer.
    reused = await client.post(form_url(candidate), data=data)
    assert reused.status_code == 400 and "验证码错误" in reused.text
    # The new one works.
    right = await client.post(
        form_url(candidate),
        data={
            **data,
            "captcha_id": fresh,
            "idempotency_key": hidden(wrong.text, "idempotency_key"),
        },
    )
    assert right.status_code == 200 and "投票成功" in right.text
    assert len(await recorded()) == 1


async def test_an_empty_answer_is_asked_again(client, voting_campaign) -> None:
    candidate = voting_campaign["candidates"]["judicial-office"][0]
    response = await submit(client, candidate, captcha_answer="  ")
    assert response.status_code == 400
    assert "请输入图片中的验证码" in response.text and 'name="captcha_id"' in response.text
    assert await recorded() == []


async def test_a_resubmitted_form_returns_the_same_receipt(client, voting_campaign) -> None:
    candidate = voting_campaign["candidates"]["judicial-office"][0]
    data = await open_form(client, candidate)
    first = await client.post(form_url(candidate), data=data)
    again = await client.post(form_url(candidate), data=data)  # a reload or a double tap
    assert first.status_code == again.status_code == 200
    assert RECEIPT.search(first.text).group(0) == RECEIPT.search(again.text).group(0)
    assert len(await recorded()) == 1


async def test_a_resubmitted_first_form_whose_answer_was_lost_counts_once(
    client, voting_campaign
) -> None:
    """A first vote whose answer (and its voter cookie) never arrived, sent again: the
    form's key and the network find the first vote, whose receipt is shown again."""
    candidate = voting_campaign["candidates"]["judicial-office"][0]
    data = await open_form(client, candidate)
    first = await client.post(form_url(candidate), data=data)
    assert first.status_code == 200 and "portal_voter" in first.cookies
    client.cookies.delete("portal_voter")
    again = await client.post(form_url(candidate), data=data)
    assert again.status_code == 200, again.text[:500]
    assert RECEIPT.search(first.text).group(0) == RECEIPT.search(again.text).group(0)
    assert len(await recorded()) == 1


async def test_a_form_without_its_csrf_token_is_refused(client, voting_campaign) -> None:
    candidate = voting_campaign["candidates"]["judicial-office"][0]
    data = await open_form(client, candidate)
    del data["_csrf_token"]
    response = await client.post(form_url(candidate), data=data)
    assert response.status_code == 403
    assert "页面已过期" in response.text
    assert await recorded() == []


async def test_an_empty_pool_is_a_friendly_503(client, voting_campaign, monkeypatch) -> None:
    async def empty(digits: bool = False) -> None:
        return None

    monkeypatch.setattr(challenge, "POOL_WAIT", 0.2)
    monkeypatch.setattr(client.app.state.voting.captcha, "issue", empty)
    candidate = voting_campaign["candidates"]["judicial-office"][0]
    response = await client.get(form_url(candidate))
    assert response.status_code == 503
    assert "稍后再试" in response.text
    assert response.headers["retry-after"]
    assert 'name="captcha_answer"' not in response.text


async def test_a_network_asking_for_too_many_captchas_is_told_to_wait(
    client, voting_campaign, monkeypatch
) -> None:
    async def too_many(network: str) -> None:
        raise RateLimited("获取验证码过于频繁，请稍后再试。", retry_after=42)

    monkeypatch.setattr(client.app.state.voting, "limit_captcha", too_many)
    candidate = voting_campaign["candidates"]["judicial-office"][0]
    response = await client.get(form_url(candidate))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "42"
    assert "获取验证码过于频繁" in response.text and 'name="captcha_id"' not in response.text
    assert "约 42 秒后可以再试" in response.text  # how long, as Retry-After says


async def test_what_people_type_is_escaped(client, voting_campaign) -> None:
    script = "<script>alert(1)</script>"
    for url in (f"/campaigns/{SLUG}/vote", "/receipts"):
        response = await client.get(url, params={"q": script, "receipt": script})
        assert script not in response.text
        assert "&lt;script&gt;" in response.text, url


async def test_unknown_candidates_are_404(client, voting_campaign) -> None:
    other = await make_voting_campaign("other-2024", units=1, mediators=1)
    foreign = other["candidates"]["mediator"][0]
    for url in (form_url(foreign), form_url(999999), "/campaigns/nope/vote"):
        response = await client.get(url)
        assert response.status_code == 404, url
        assert "页面不存在" in response.text


@pytest.mark.parametrize(
    ("opens", "closes", "phase", "label"),
    [
        (1, 10, Phase.voting, "投票未开始"),  # in the phase, before the window
        (-10, -1, Phase.voting, "投票已结束"),  # in the phase, after the window
        (-1, 10, Phase.reviewing, "投票未开始"),
        (-1, 10, Phase.tallying, "投票已结束"),
    ],
)
async def test_outside_voting_the_pages_say_why_and_offer_no_vote(
    client, opens: int, closes: int, phase: Phase, label: str
) -> None:
    now = dt.datetime.now(dt.UTC)
    data = await make_voting_campaign(
        phase=phase.value,
        voting_opens_at=now + dt.timedelta(days=opens),
        voting_closes_at=now + dt.timedelta(days=closes),
    )
    candidate = data["candidates"]["judicial-office"][0]
    for url in (
        f"/campaigns/{SLUG}/vote",
        form_url(candidate),
        f"/campaigns/{SLUG}/candidates/{candidate}",
    ):
        response = await client.get(url)
        assert response.status_code == 200, url
        assert label in response.text, url
        assert "vote-button" not in response.text and 'name="captcha_id"' not in response.text
        assert 'id="vote-dialog"' not in response.text
    post = await client.post(
        form_url(candidate),
        data={
            "_csrf_token": await csrf_token(client),
            "captcha_id": "x.1.y",
            "captcha_answer": "A",
        },
    )
    assert post.status_code == 403 and label in post.text
    assert await recorded() == []


OPENS = dt.datetime(2026, 5, 1, 1, 0, tzinfo=dt.UTC)
CLOSES = dt.datetime(2026, 5, 15, 10, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("window", [(OPENS, CLOSES), (None, CLOSES), (OPENS, None), (None, None)])
def test_the_pages_the_service_and_the_ledger_share_one_window(
    phase: Phase, window: tuple[dt.datetime | None, dt.datetime | None]
) -> None:
    """What the pages say, what the service accepts and when the ledger is public agree:
    open only in the voting phase within its window, ended after it or past the phase."""
    opens, closes = window
    campaign = Campaign(
        phase=phase.value, timezone="Asia/Shanghai", voting_opens_at=opens, voting_closes_at=closes
    )
    rules = VotingRules(
        campaign_id=1,
        slug=SLUG,
        timezone="Asia/Shanghai",
        phase=phase.value,
        opens_at=opens,
        closes_at=closes,
        network_votes_per_day=1,
        network_votes_per_minute=1,
    )
    after = PHASE_ORDER.index(phase) > PHASE_ORDER.index(Phase.voting)
    for now in (OPENS - SECOND, OPENS, CLOSES - SECOND, CLOSES, CLOSES + SECOND):
        in_window = (opens is None or now >= opens) and (closes is None or now < closes)
        ended = after or (phase is Phase.voting and closes is not None and now >= closes)
        state = voting_state(campaign, now)
        assert state.open == rules.is_open(now) == (phase is Phase.voting and in_window), now
        assert (state.status == "ended") == voting_has_closed(campaign, now) == ended, now
        expected = "open" if state.open else "ended" if ended else "not_started"
        assert state.status == expected, now


# --- the vote page ---------------------------------------------------------------------------


async def test_the_vote_page_has_a_tab_per_category_and_a_card_per_candidate(
    client, voting_campaign
) -> None:
    offices = voting_campaign["candidates"]["judicial-office"]
    mediators = voting_campaign["candidates"]["mediator"]
    page = await client.get(f"/campaigns/{SLUG}/vote")
    assert page.status_code == 200
    text = page.text
    no_inline_script(text)
    assert f'<script src="{static_url("js/vote.js")}" defer></script>' in text
    assert 'href="?category=judicial-office"' in text and 'href="?category=mediator"' in text
    assert re.search(r'aria-current="page" class="current">judicial-office<', text)
    assert text.count('class="vote-card"') == len(offices)  # the first category by default
    for candidate in offices:
        assert f'href="{form_url(candidate)}"' in text  # the no-JS path of the 投票 button
    assert f'data-candidate-id="{offices[0]}"' in text
    assert "每人每天可投 <strong>3</strong> 票" in text
    assert 'id="vote-dialog"' in text and f'data-slug="{SLUG}"' in text
    assert f'href="/campaigns/{SLUG}/rules"' in text

    other = await client.get(f"/campaigns/{SLUG}/vote?category=mediator")
    assert other.text.count('class="vote-card"') == len(mediators)
    assert "mediator候选1" in other.text and "judicial-office候选1" not in other.text
    assert "每人每天可投 <strong>2</strong> 票" in other.text


async def test_the_vote_page_filters_by_county_and_searches_by_name(
    client, voting_campaign
) -> None:
    names = {
        row["id"]: (row["name"], row["county"])
        for row in await Nomination.select(
            Nomination.id, Nomination.name, Nomination.bureau.short_name.as_alias("county")
        ).run()
    }
    mediators = voting_campaign["candidates"]["mediator"]
    county = names[mediators[1]][1]
    expected = {i for i in mediators if names[i][1] == county}
    page = await client.get(
        f"/campaigns/{SLUG}/vote", params={"category": "mediator", "county": county}
    )
    shown = {int(i) for i in re.findall(r'<li class="vote-card" id="c-(\d+)"', page.text)}
    assert shown == expected and len(expected) < len(mediators)
    assert f'<option value="{county}" selected>' in page.text
    # Tabs keep the county.
    assert "county=" in re.search(r'href="\?category=judicial-office[^"]*"', page.text).group(0)

    found = await client.get(
        f"/campaigns/{SLUG}/vote", params={"category": "mediator", "q": "候选2"}
    )
    shown = {int(i) for i in re.findall(r'<li class="vote-card" id="c-(\d+)"', found.text)}
    assert shown == {mediators[1]}
    none = await client.get(
        f"/campaigns/{SLUG}/vote", params={"category": "mediator", "q": "无此人"}
    )
    assert 'class="vote-card"' not in none.text and "没有找到符合条件的候选对象" in none.text


async def test_the_vote_page_counts_visits_and_shows_totals_by_status(
    client, voting_campaign
) -> None:
    offices = voting_campaign["candidates"]["judicial-office"]
    for candidate in offices[:3]:
        assert (await vote(client, candidate)).status_code == 201
    votes = await Vote.select(Vote.id).order_by(Vote.id).run()
    await Vote.update({Vote.status: "held"}).where(Vote.id == votes[1]["id"]).run()
    await Vote.update({Vote.status: "excluded"}).where(Vote.id == votes[2]["id"]).run()
    first = await client.get(f"/campaigns/{SLUG}/vote")
    second = await client.get(f"/campaigns/{SLUG}/vote")
    assert stat(second.text, "累计访问量") == stat(first.text, "累计访问量") + 1
    assert (
        stat(second.text, "有效票"),
        stat(second.text, "待核查"),
        stat(second.text, "已剔除"),
    ) == (
        1,
        1,
        1,
    )


async def test_live_counts_show_only_where_the_category_makes_them_public(
    client, voting_campaign
) -> None:
    office, mediator = (
        voting_campaign["candidates"][k][0] for k in ("judicial-office", "mediator")
    )
    assert (await vote(client, office)).status_code == 201
    await (
        Category.update({Category.public_counts: False})
        .where(Category.id == voting_campaign["categories"]["mediator"].id)
        .run()
    )
    page = await client.get(f"/campaigns/{SLUG}/vote")
    assert f'<strong data-count-for="{office}">1</strong> 票' in page.text
    hidden_page = await client.get(f"/campaigns/{SLUG}/vote?category=mediator")
    assert "data-count-for" not in hidden_page.text and "vote-button" in hidden_page.text
    detail = await client.get(f"/campaigns/{SLUG}/candidates/{office}")
    assert f'data-count-for="{office}">1<' in detail.text
    detail = await client.get(f"/campaigns/{SLUG}/candidates/{mediator}")
    assert "data-count-for" not in detail.text


async def test_the_candidates_api_fills_votes_where_public(client, voting_campaign) -> None:
    office = voting_campaign["candidates"]["judicial-office"][0]
    assert (await vote(client, office)).status_code == 201
    await (
        Category.update({Category.public_counts: False})
        .where(Category.id == voting_campaign["categories"]["mediator"].id)
        .run()
    )
    items = (await client.get(f"/api/v1/campaigns/{SLUG}/candidates")).json()
    votes = {i["id"]: i["votes"] for i in items}
    assert votes[office] == 1
    assert all(votes[i] == 0 for i in voting_campaign["candidates"]["judicial-office"][1:])
    assert all(votes[i] is None for i in voting_campaign["candidates"]["mediator"])
    only = (
        await client.get(f"/api/v1/campaigns/{SLUG}/candidates?category=judicial-office")
    ).json()
    assert {i["id"]: i["votes"] for i in only}[office] == 1
    # Before voting, no counts anywhere.
    await (
        Campaign.update({Campaign.phase: Phase.reviewing.value}).where(Campaign.slug == SLUG).run()
    )
    items = (await client.get(f"/api/v1/campaigns/{SLUG}/candidates")).json()
    assert all(i["votes"] is None for i in items)
    # After voting, the counts stay public.
    await Campaign.update({Campaign.phase: Phase.tallying.value}).where(Campaign.slug == SLUG).run()
    items = (await client.get(f"/api/v1/campaigns/{SLUG}/candidates")).json()
    assert {i["id"]: i["votes"] for i in items}[office] == 1


async def test_the_campaign_page_links_the_vote_page_and_the_rules(client, voting_campaign) -> None:
    page = await client.get(f"/campaigns/{SLUG}")
    assert f'href="/campaigns/{SLUG}/vote"' in page.text and "参与网络投票" in page.text
    assert f'href="/campaigns/{SLUG}/rules"' in page.text
    await Campaign.update({Campaign.phase: Phase.tallying.value}).where(Campaign.slug == SLUG).run()
    page = await client.get(f"/campaigns/{SLUG}")
    assert f'href="/campaigns/{SLUG}/vote"' not in page.text


# --- the candidate page: share card and QR code -------------------------------------------


async def test_the_candidate_page_has_a_vote_button_and_share_meta(client, voting_campaign) -> None:
    candidate = voting_campaign["candidates"]["mediator"][0]
    await Nomination.update({Nomination.photo: "photo.jpg"}).where(Nomination.id == candidate).run()
    page = await client.get(f"/campaigns/{SLUG}/candidates/{candidate}")
    assert page.status_code == 200
    text = page.text
    no_inline_script(text)
    base = "http://testserver.local"
    url = f"{base}/campaigns/{SLUG}/candidates/{candidate}"
    meta = dict(re.findall(r'<meta property="(og:[a-z_]+)" content="([^"]*)">', text))
    assert meta["og:title"] == html.escape("mediator候选1 · “枫桥式”mediator")
    assert meta["og:description"] == "就地化解矛盾纠纷。"
    assert meta["og:url"] == url
    assert meta["og:image"] == f"{base}/media/candidates/{candidate}/photo.jpg"
    assert f'href="{form_url(candidate)}"' in text and "为TA投票" in text
    assert f'src="/campaigns/{SLUG}/candidates/{candidate}/qr.png"' in text
    assert 'id="vote-dialog"' in text


async def test_the_qr_code_is_a_png_of_the_pages_absolute_url(client, voting_campaign) -> None:
    candidate = voting_campaign["candidates"]["mediator"][0]
    response = await client.get(f"/campaigns/{SLUG}/candidates/{candidate}/qr.png")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert "max-age=" in response.headers["cache-control"]
    assert "public" in response.headers["cache-control"]
    image = Image.open(io.BytesIO(response.content))
    image.load()
    assert image.format == "PNG" and image.width == image.height >= 100
    colours = {colour for _, colour in image.convert("L").getcolors()}
    assert colours == {0, 255}  # black modules on white
    expected = pages.qr_png(f"http://testserver.local/campaigns/{SLUG}/candidates/{candidate}")
    assert response.content == expected
    cached = await client.get(
        f"/campaigns/{SLUG}/candidates/{candidate}/qr.png",
        headers={"If-None-Match": response.headers["etag"]},
    )
    assert cached.status_code == 304
    other = await make_voting_campaign("other-2024", units=1, mediators=1)
    foreign = other["candidates"]["mediator"][0]
    assert (await client.get(f"/campaigns/{SLUG}/candidates/{foreign}/qr.png")).status_code == 404


async def test_the_share_card_and_qr_code_use_the_public_url_whatever_the_host(
    forged_host_client, voting_campaign
) -> None:
    """The QR code is cached publicly for a day: a forged Host must not get into it."""
    candidate = voting_campaign["candidates"]["mediator"][0]
    await Nomination.update({Nomination.photo: "photo.jpg"}).where(Nomination.id == candidate).run()
    path = f"/campaigns/{SLUG}/candidates/{candidate}"
    page = await forged_host_client.get(path)
    assert page.status_code == 200 and FORGED_HOST not in page.text
    meta = dict(re.findall(r'<meta property="(og:[a-z_]+)" content="([^"]*)">', page.text))
    assert meta["og:url"] == f"{PUBLIC_URL}{path}"
    assert meta["og:image"] == f"{PUBLIC_URL}/media/candidates/{candidate}/photo.jpg"
    assert f'<link rel="canonical" href="{PUBLIC_URL}{path}">' in page.text
    qr = await forged_host_client.get(f"{path}/qr.png")
    assert qr.status_code == 200 and "public" in qr.headers["cache-control"]
    assert qr.content == pages.qr_png(f"{PUBLIC_URL}{path}")
    assert qr.content != pages.qr_png(f"http://{FORGED_HOST}{path}")


# --- rules and receipts ----------------------------------------------------------------------


async def test_the_rules_page_takes_its_numbers_from_the_campaign(client) -> None:
    await make_voting_campaign(network_votes_per_day=37, network_votes_per_minute=7)
    page = await client.get(f"/campaigns/{SLUG}/rules")
    assert page.status_code == 200
    text = page.text
    assert "<span>“枫桥式”judicial-office</span><strong>每天 3 票</strong>" in text
    assert "<span>“枫桥式”mediator</span><strong>每天 2 票</strong>" in text
    assert "<strong>37</strong> 票" in text and "<strong>7</strong> 次" in text
    assert "同一候选对象每人每天只能投 1 票" in text
    assert "“每天”按北京时间的自然日计算" in text
    assert "5 分钟" in text  # the CAPTCHA's lifetime
    for words in ("待核查", "已剔除", "不计入", "投票凭证"):
        assert words in text
    vote_page = await client.get(f"/campaigns/{SLUG}/vote")
    assert f'href="/campaigns/{SLUG}/rules"' in vote_page.text


async def test_receipt_pages(client, voting_campaign) -> None:
    candidate = voting_campaign["candidates"]["mediator"][3]
    response = await vote(client, candidate)
    receipt = response.json()["receipt"]

    blank = await client.get("/receipts")
    assert blank.status_code == 200 and 'name="receipt"' in blank.text

    typed = receipt.lower().replace("-", " ").replace("o", "0")  # as people type it
    lookup = await client.get("/receipts", params={"receipt": typed})
    assert lookup.status_code in (302, 303)
    assert lookup.headers["location"] == f"/receipts/{receipt}"

    page = await client.get(f"/receipts/{receipt}")
    assert page.status_code == 200
    for expected in ("有效", "mediator候选4", "2024年度测试评选", receipt):
        assert expected in page.text
    assert re.search(r"\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}:\d{2}", page.text)

    await Vote.update({Vote.status: "held"}).where(Vote.receipt == receipt).run()
    assert "待核查" in (await client.get(f"/receipts/{receipt}")).text
    await Vote.update({Vote.status: "excluded"}).where(Vote.receipt == receipt).run()
    assert "已剔除" in (await client.get(f"/receipts/{receipt}")).text

    genuine_but_unused = client.app.state.voting.new_receipt()
    for url in (
        f"/receipts/{genuine_but_unused}",
        "/receipts/NOT-A-RECEIPT",
        f"/receipts?receipt={genuine_but_unused}",
    ):
        missing = await client.get(url)
        assert missing.status_code == 404, url
        assert "找不到该投票凭证" in missing.text
        assert 'name="receipt"' in missing.text  # and the form to try again


async def test_the_script_is_served_from_static(client) -> None:
    response = await client.get("/static/js/vote.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "/api/v1/captcha" in response.text and "showModal" in response.text


async def test_the_form_spares_the_captcha_while_the_pass_is_good(client, voting_campaign) -> None:
    """After one vote on the form, the next forms ask for no CAPTCHA; a pass the portal
    no longer honours brings the CAPTCHA back on the same candidate's form."""
    first, second, third = voting_campaign["candidates"]["judicial-office"][:3]
    assert (await submit(client, first)).status_code == 200
    page = await client.get(form_url(second))
    assert 'name="captcha_id"' not in page.text and "无需再输入验证码" in page.text
    taken = await submit(client, second)
    assert taken.status_code == 200 and "投票成功" in taken.text
    client.cookies.set("portal_vote_pass", "spoilt", path=f"/campaigns/{SLUG}")
    refused = await client.post(
        form_url(third),
        data={"_csrf_token": await csrf_token(client), "idempotency_key": "k"},
    )
    assert refused.status_code == 400 and "请输入验证码" in refused.text
    assert hidden(refused.text, "captcha_id")  # a fresh CAPTCHA for the same candidate
    assert len(await recorded()) == 2


async def test_the_voter_sees_where_they_stand_before_voting(client, voting_campaign) -> None:
    """Votes left in the category on the form, and from the standing endpoint the vote
    page's script reads; a vote that would be refused asks for no CAPTCHA."""
    category = await Category.objects().where(Category.key == "mediator").first().run()
    first, second, third = voting_campaign["candidates"]["mediator"][:3]  # 2 votes a day
    standing = await client.get(f"/campaigns/{SLUG}/vote/standing")
    assert standing.status_code == 200 and standing.headers["cache-control"] == "no-store"
    assert standing.json()["left"][str(category.id)] == 2 and standing.json()["voted"] == []
    page = await client.get(form_url(first))
    assert "您今天在本类别还可投 <strong>2</strong> 票" in page.text

    assert "投票成功" in (await submit(client, first)).text
    standing = (await client.get(f"/campaigns/{SLUG}/vote/standing")).json()
    assert standing["left"][str(category.id)] == 1 and standing["voted"] == [first]
    again = await client.get(form_url(first))
    assert "您今天已经为该候选对象投过票了" in again.text
    assert 'name="captcha_id"' not in again.text  # nothing to solve: it would be refused
    assert "您今天在本类别还可投 <strong>1</strong> 票" in (await client.get(form_url(second))).text

    assert "投票成功" in (await submit(client, second)).text
    spent = await client.get(form_url(third))
    assert "您今天在本类别的 2 票已经投完" in spent.text and 'name="captcha_id"' not in spent.text
    assert len(await recorded()) == 2
    # The vote page says where the count goes; its script fills it in.
    vote_page = (await client.get(f"/campaigns/{SLUG}/vote?category=mediator")).text
    assert f'data-votes-left-for="{category.id}"' in vote_page
    assert f'data-category-id="{category.id}"' in vote_page


async def test_the_standing_of_an_unknown_campaign_is_404(client) -> None:
    assert (await client.get("/campaigns/no-such/vote/standing")).status_code == 404
