"""A voter on a phone, opened from a WeChat link: votes on the demo campaign through the
plain form (JavaScript off) and through the in-page dialog, then checks the receipt."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import ARTIFACTS, CAPTCHA_TEST_ANSWER, shot

SLUG = "dingxi-2023"
WIDTH = 390
RECEIPT = re.compile(r"^[A-Z2-7]{4}(?:-[A-Z2-7]{4}){4}$")


def phone_context(browser, server: str, javascript: bool = True) -> BrowserContext:  # type: ignore[no-untyped-def]
    context = browser.new_context(
        base_url=server,
        locale="zh-CN",
        viewport={"width": WIDTH, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        java_script_enabled=javascript,
        user_agent=(
            "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/120.0 Mobile Safari/537.36 MicroMessenger/8.0.44"
        ),
    )
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def handset(browser, server: str, request: pytest.FixtureRequest) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    """A 390 × 844 phone with JavaScript."""
    context = phone_context(browser, server)
    tab = context.new_page()
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def plain_handset(browser, server: str, request: pytest.FixtureRequest) -> Iterator[Page]:  # type: ignore[no-untyped-def]
    """The same phone with JavaScript switched off."""
    context = phone_context(browser, server, javascript=False)
    tab = context.new_page()
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def candidates(tab: Page, category: str) -> list[dict]:
    response = tab.request.get(f"/api/v1/campaigns/{SLUG}/candidates?category={category}")
    assert response.ok, response.status
    return response.json()


def fits_the_screen(tab: Page) -> None:
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"page is {width}px wide on a {WIDTH}px phone"


def viewport_shot(tab: Page, name: str) -> None:
    """What the phone's screen shows (a dialog sits in the viewport, not the page)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def check_receipt(tab: Page, receipt: str, name: str) -> None:
    """The receipt page says the vote counts, for whom and when."""
    expect(tab.get_by_role("heading", level=1)).to_have_text("投票凭证")
    expect(tab.locator(".receipt-code")).to_have_text(receipt)
    expect(tab.locator(".receipt-status .badge")).to_have_text("有效")
    main = tab.locator("main")
    expect(main).to_contain_text(name)
    expect(main).to_contain_text("2023年度定西市")
    expect(main).to_contain_text(re.compile(r"\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}:\d{2}"))


def test_voting_without_javascript(plain_handset: Page) -> None:
    tab = plain_handset
    candidate = candidates(tab, "mediator")[0]
    tab.goto(f"/campaigns/{SLUG}/candidates/{candidate['id']}")
    expect(tab.get_by_role("heading", level=1)).to_have_text(candidate["name"])
    expect(tab.locator("meta[property='og:title']")).to_have_attribute(
        "content", re.compile(re.escape(candidate["name"]))
    )
    expect(tab.locator("img.share-qr")).to_be_visible()
    shot(tab, "vote-nojs-candidate")

    # The 投票 button is a plain link to the form.
    tab.get_by_role("link", name=re.compile("为TA投票")).first.click()
    expect(tab).to_have_url(re.compile(rf"/candidates/{candidate['id']}/vote$"))
    expect(tab.get_by_role("heading", level=1)).to_contain_text(candidate["name"])
    captcha = tab.locator("img.captcha-image")
    expect(captcha).to_be_visible()
    expect(tab.get_by_role("link", name="听语音验证码")).to_have_attribute(
        "href", re.compile(r"^/api/v1/captcha/.+/audio\.wav$")
    )
    first_captcha = captcha.get_attribute("src")
    picture = tab.request.get(first_captcha or "")
    assert picture.ok and picture.headers["content-type"] == "image/png"
    shot(tab, "vote-nojs-form")

    # A wrong answer: the message, and a new CAPTCHA.
    tab.get_by_label("请输入图中的验证码").fill("WRONG9")
    tab.get_by_role("button", name="确认投票").click()
    expect(tab.get_by_role("alert")).to_contain_text("验证码错误")
    assert captcha.get_attribute("src") != first_captcha
    shot(tab, "vote-nojs-wrong-answer")

    # The test answer goes through.
    tab.get_by_label("请输入图中的验证码").fill(CAPTCHA_TEST_ANSWER.lower())
    tab.get_by_role("button", name="确认投票").click()
    expect(tab.get_by_role("status").first).to_contain_text("投票成功")
    receipt = tab.locator("#receipt-code").inner_text().strip()
    assert RECEIPT.match(receipt), receipt
    expect(tab.locator(".vote-facts")).to_contain_text("本类别今日还可投")
    shot(tab, "vote-nojs-receipt")

    tab.get_by_role("link", name="查询这张票").click()
    expect(tab).to_have_url(re.compile(rf"/receipts/{receipt}$"))
    check_receipt(tab, receipt, candidate["name"])
    shot(tab, "vote-nojs-receipt-check")


def test_voting_in_the_dialog(handset: Page) -> None:
    tab = handset
    listed = candidates(tab, "mediator")
    candidate = listed[1]
    tab.goto(f"/campaigns/{SLUG}/candidates/{candidate['id']}")
    count = tab.locator(f".candidate-votes [data-count-for='{candidate['id']}']")
    before = int(count.inner_text())
    fits_the_screen(tab)
    shot(tab, "vote-js-candidate")

    tab.get_by_role("link", name=re.compile("为TA投票")).first.click()
    dialog = tab.locator("#vote-dialog")
    expect(dialog).to_be_visible()
    expect(tab).to_have_url(re.compile(rf"/candidates/{candidate['id']}$"))  # no navigation
    expect(dialog.get_by_role("heading")).to_contain_text(candidate["name"])
    image = dialog.locator("img.captcha-image")
    expect(image).to_have_attribute("src", re.compile(r"/image\.png$"))
    tab.wait_for_function(
        "() => document.querySelector('#vote-dialog img.captcha-image').naturalWidth > 0"
    )
    viewport_shot(tab, "vote-js-dialog")

    # A wrong answer: the API's message, and the CAPTCHA is refreshed.
    first = image.get_attribute("src")
    answer = dialog.get_by_label("请输入图中的验证码")
    answer.fill("WRONG9")
    dialog.get_by_role("button", name="确认投票").click()
    expect(dialog.get_by_role("alert")).to_contain_text("验证码错误")
    expect(image).not_to_have_attribute("src", first or "")
    expect(answer).to_be_enabled()
    viewport_shot(tab, "vote-js-wrong-answer")

    answer.fill(CAPTCHA_TEST_ANSWER)
    dialog.get_by_role("button", name="确认投票").click()
    expect(dialog.locator("[data-role=done]")).to_be_visible()
    expect(dialog).to_contain_text("投票成功")
    receipt = dialog.locator("[data-role=receipt]").inner_text().strip()
    assert RECEIPT.match(receipt), receipt
    expect(dialog.locator("[data-role=cast-at]")).to_have_text(
        re.compile(r"^\d{4}年\d{2}月\d{2}日 \d{2}:\d{2}:\d{2}$")
    )
    expect(count).to_have_text(str(before + 1))  # the count on the page follows
    viewport_shot(tab, "vote-js-receipt")

    dialog.get_by_role("link", name="查询投票状态").click()
    expect(tab).to_have_url(re.compile(rf"/receipts/{receipt}$"))
    check_receipt(tab, receipt, candidate["name"])
    shot(tab, "vote-js-receipt-check")


def test_the_vote_page_on_a_phone(handset: Page) -> None:
    tab = handset
    tab.goto(f"/campaigns/{SLUG}")
    tab.get_by_role("link", name="参与网络投票").click()
    expect(tab).to_have_url(re.compile(rf"/campaigns/{SLUG}/vote$"))
    expect(tab.get_by_role("heading", level=1)).to_have_text("网络投票")
    main = tab.locator("main")
    for label in ("累计访问量", "有效票", "待核查", "已剔除", "投票进行中"):
        expect(main).to_contain_text(label)
    expect(tab.locator(".vote-card")).to_have_count(14)  # the demo's judicial offices
    fits_the_screen(tab)
    shot(tab, "vote-page")

    # Tabs are links: the mediators, then one county of them.
    tab.get_by_role("link", name="人民调解员", exact=True).click()
    expect(tab).to_have_url(re.compile(r"category=mediator"))
    expect(tab.locator(".vote-card")).to_have_count(38)
    tab.get_by_label("县区").select_option("岷县")
    tab.get_by_role("button", name="筛选").click()
    cards = tab.locator(".vote-card")
    expect(cards.first).to_contain_text("岷县")
    assert 0 < cards.count() < 38
    fits_the_screen(tab)
    shot(tab, "vote-page-filtered")

    # Vote from a card, in the dialog; the card's count follows.
    card = cards.first
    count = card.locator("[data-count-for]")
    before = int(count.inner_text())
    card.get_by_role("link", name=re.compile("投票")).click()
    dialog = tab.locator("#vote-dialog")
    expect(dialog).to_be_visible()
    tab.wait_for_function(
        "() => document.querySelector('#vote-dialog img.captcha-image').naturalWidth > 0"
    )
    dialog.get_by_label("请输入图中的验证码").fill(CAPTCHA_TEST_ANSWER)
    dialog.get_by_role("button", name="确认投票").click()
    expect(dialog.locator("[data-role=done]")).to_be_visible()
    expect(count).to_have_text(str(before + 1))
    dialog.get_by_role("button", name="完成").click()
    expect(dialog).to_be_hidden()

    # The card now says so, also after a reload; its dialog asks for nothing.
    voted = card.get_by_role("link", name=re.compile("今日已投"))
    expect(voted).to_be_visible()
    tab.reload()
    expect(voted).to_be_visible()
    voted.click()
    expect(dialog.get_by_role("alert")).to_contain_text("已经为该候选对象投过票")
    expect(dialog.get_by_role("button", name="确认投票")).to_be_hidden()
    expect(dialog.locator("img.captcha-image")).to_be_hidden()
    viewport_shot(tab, "vote-page-already-voted")
    dialog.get_by_role("button", name="知道了").click()
    expect(dialog).to_be_hidden()

    tab.goto(f"/campaigns/{SLUG}/rules")
    expect(tab.get_by_role("heading", level=1)).to_have_text("投票规则")
    fits_the_screen(tab)
    shot(tab, "vote-rules")


def test_five_votes_in_the_dialog_take_one_captcha(handset: Page) -> None:
    """The first vote's CAPTCHA earns a pass: the next four ask for none. A pass the
    portal no longer honours brings the CAPTCHA back for the same candidate."""
    tab = handset
    fetched: list[str] = []
    tab.on(
        "request", lambda r: fetched.append(r.url) if r.url.endswith("/api/v1/captcha") else None
    )
    tab.goto(f"/campaigns/{SLUG}/vote?category=mediation-committee")
    dialog = tab.locator("#vote-dialog")
    cards = tab.locator(".vote-card")
    left = tab.locator("[data-votes-left-for]")
    expect(left).to_have_text("您今天还可投 5 票。")  # before the voter starts
    for index in range(5):
        cards.nth(index).get_by_role("link", name=re.compile("投票")).click()
        expect(dialog).to_be_visible()
        if index == 0:
            tab.wait_for_function(
                "() => document.querySelector('#vote-dialog img.captcha-image').naturalWidth > 0"
            )
            dialog.get_by_label("请输入图中的验证码").fill(CAPTCHA_TEST_ANSWER)
        else:
            expect(dialog.locator("[data-role=passed]")).to_be_visible()
            # The pass's own minutes left (the first vote earned 15).
            expect(dialog.locator("[data-role=passed]")).to_contain_text(
                re.compile(r"1[45] 分钟内在本活动投票无需再输入验证码")
            )
            expect(dialog.get_by_label("请输入图中的验证码")).to_be_hidden()
            if index == 1:
                viewport_shot(tab, "vote-pass-dialog")
        dialog.get_by_role("button", name="确认投票").click()
        expect(dialog.locator("[data-role=done]")).to_be_visible()
        expect(dialog.locator("[data-role=left]")).to_have_text(str(4 - index))
        dialog.get_by_role("button", name="完成").click()
        expect(left).to_have_text(f"您今天还可投 {4 - index} 票。")
    assert len(fetched) == 1, fetched

    # Where the voter stands comes from the portal, not only from this browser's storage;
    # a sixth vote in the category asks for nothing.
    tab.evaluate("() => localStorage.clear()")
    tab.reload()
    expect(cards.nth(0).get_by_role("link", name=re.compile("今日已投"))).to_be_visible()
    expect(left).to_have_text("您今天还可投 0 票。")
    tab.evaluate("() => window.scrollTo(0, 0)")
    viewport_shot(tab, "vote-page-votes-left")
    cards.nth(5).get_by_role("link", name=re.compile("投票")).click()
    expect(dialog.get_by_role("alert")).to_contain_text("本类别的票已经投完")
    expect(dialog.locator("img.captcha-image")).to_be_hidden()
    dialog.get_by_role("button", name="知道了").click()
    assert len(fetched) == 1, fetched

    # The portal stops honouring the pass (here: it is spoilt): a CAPTCHA, same choice.
    tab.evaluate(
        "() => { const k = 'vote-pass:' + document.querySelector('#vote-dialog').dataset.slug;"
        " const p = JSON.parse(sessionStorage.getItem(k)); p.token += 'x';"
        " sessionStorage.setItem(k, JSON.stringify(p)); }"
    )
    tab.goto(f"/campaigns/{SLUG}/vote?category=mediator")
    card = tab.locator(".vote-card").first
    name = card.locator(".vote-card-name").inner_text().strip()
    card.get_by_role("link", name=re.compile("投票")).click()
    dialog.get_by_role("button", name="确认投票").click()
    expect(dialog.get_by_role("alert")).to_contain_text("请输入验证码")
    expect(dialog.get_by_role("heading")).to_contain_text(name)
    tab.wait_for_function(
        "() => document.querySelector('#vote-dialog img.captcha-image').naturalWidth > 0"
    )
    viewport_shot(tab, "vote-pass-withdrawn")
    dialog.get_by_label("请输入图中的验证码").fill(CAPTCHA_TEST_ANSWER)
    dialog.get_by_role("button", name="确认投票").click()
    expect(dialog.locator("[data-role=done]")).to_be_visible()
    assert len(fetched) == 2, fetched


def test_the_plain_form_takes_the_pass_too(plain_handset: Page) -> None:
    tab = plain_handset
    first, second, third = candidates(tab, "judicial-office")[3:6]
    tab.goto(f"/campaigns/{SLUG}/candidates/{first['id']}/vote")
    tab.get_by_label("请输入图中的验证码").fill(CAPTCHA_TEST_ANSWER)
    tab.get_by_role("button", name="确认投票").click()
    expect(tab.get_by_role("status").first).to_contain_text("投票成功")

    tab.goto(f"/campaigns/{SLUG}/candidates/{second['id']}/vote")
    expect(tab.locator("img.captcha-image")).to_have_count(0)
    expect(tab.get_by_role("status").first).to_contain_text("无需再输入验证码")
    shot(tab, "vote-pass-form")
    tab.get_by_role("button", name="确认投票").click()
    expect(tab.get_by_role("status").first).to_contain_text("投票成功")

    # A pass no longer honoured: the same candidate's form, now with a CAPTCHA.
    tab.goto(f"/campaigns/{SLUG}/candidates/{third['id']}/vote")
    expect(tab.locator("img.captcha-image")).to_have_count(0)
    server = tab.url.split("/campaigns/")[0]
    tab.context.add_cookies(
        [{"name": "portal_vote_pass", "value": "spoilt", "url": f"{server}/campaigns/{SLUG}"}]
    )
    tab.get_by_role("button", name="确认投票").click()
    expect(tab.get_by_role("alert")).to_contain_text("请输入验证码")
    expect(tab.get_by_role("heading", level=1)).to_contain_text(third["name"])
    tab.get_by_label("请输入图中的验证码").fill(CAPTCHA_TEST_ANSWER)
    tab.get_by_role("button", name="确认投票").click()
    expect(tab.get_by_role("status").first).to_contain_text("投票成功")
