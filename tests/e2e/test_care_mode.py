"""Care mode (长辈版) measured in the browser, the text size and reflow, and the public
flows with the keyboard alone.

On a 390 × 844 phone in care mode every visible text is at least 20 px with a line
height of at least 1.3 and a contrast of at least 7:1 against the background it sits
on (computed from getComputedStyle's colours), and every link, button, input and select
is at least 48 × 48 px. At 200 % zoom (a 1280 px desk seen at 640 px) and at the
largest text size on a phone no page scrolls sideways. A voter using only the keyboard
votes in the dialog (hearing the audio CAPTCHA played there), is given focus back, votes again
on the plain form in care mode with its audio player, checks the receipts, reads a story,
checks a certificate and files an objection.
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote, unquote

from playwright.sync_api import Page, expect

from tests.e2e.conftest import ARTIFACTS, CAPTCHA_TEST_ANSWER, on_server_database, shot
from tests.e2e.steps import publish_notice, sign_in

VOTING, FINISHED = "dingxi-2023", "dingxi-2022"
PHONE = {"width": 390, "height": 844}
CARE_PAGES = {
    "home": "/",
    "campaign": f"/campaigns/{VOTING}",
    "vote": f"/campaigns/{VOTING}/vote",
    "candidates": f"/campaigns/{VOTING}/candidates",
    "rules": f"/campaigns/{VOTING}/rules",
    "stories": "/stories",
    "register": "/register",
    "receipts": "/receipts",
    "notice": f"/campaigns/{FINISHED}/notice",
    "honours": f"/campaigns/{FINISHED}/honours",
}
REFLOW_PAGES = [
    "/",
    f"/campaigns/{VOTING}",
    f"/campaigns/{VOTING}/vote",
    f"/campaigns/{VOTING}/candidates",
    f"/campaigns/{VOTING}/rules",
    f"/campaigns/{FINISHED}/notice",
    f"/campaigns/{FINISHED}/honours",
    "/stories",
    "/register",
    "/certificates",
    "/receipts",
]
RECEIPT = re.compile(r"[A-Z0-9]{2,}(-[A-Z0-9]{4}){2,}")

# Every visible text's size, line height and contrast, and every target's size: the
# problems found (empty when the page passes).
MEASURE = """
() => {
  const channel = (c) => {
    c /= 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = (c) =>
    0.2126 * channel(c[0]) + 0.7152 * channel(c[1]) + 0.0722 * channel(c[2]);
  const parse = (text) => {
    const m = text.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const ground = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0.5) return c;
    }
    return [255, 255, 255, 1];
  };
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const problems = [];
  const body = getComputedStyle(document.body);
  if (parseFloat(body.fontSize) < 20) problems.push(["body font", body.fontSize]);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  let texts = 0;
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const words = node.textContent.trim();
    const el = node.parentElement;
    if (!words || seen.has(el)) continue;
    seen.add(el);
    const box = el.getBoundingClientRect();
    if (box.width < 2 || box.height < 2 || !el.checkVisibility()) continue;
    if (el.closest("svg, option, script, style, noscript")) continue;
    texts++;
    const style = getComputedStyle(el);
    const size = parseFloat(style.fontSize);
    const where = el.tagName + "." + el.className + " «" + words.slice(0, 16) + "»";
    if (size < 20) problems.push(["font size", where, size]);
    const height = style.lineHeight === "normal" ? 1.2 * size : parseFloat(style.lineHeight);
    if (height / size < 1.3) problems.push(["line height", where, height / size]);
    const colour = parse(style.color);
    const contrast = ratio(colour, ground(el));
    if (contrast < 7) problems.push(["contrast", where, Math.round(contrast * 100) / 100]);
  }
  let targets = 0;
  const kinds = "a[href], button, input:not([type=hidden]), select, textarea";
  for (const el of document.querySelectorAll(kinds)) {
    if (!el.checkVisibility()) continue;
    const box = el.getBoundingClientRect();
    // The skip link waits off-screen until focused.
    if (box.width === 0 || box.right <= 0 || box.bottom <= 0) continue;
    targets++;
    if (box.width < 48 || box.height < 48) {
      const what = el.tagName + " «" + (el.textContent || el.name || "").trim().slice(0, 16) + "»";
      problems.push(["target", what, Math.round(box.width), Math.round(box.height)]);
    }
  }
  return {problems, texts, targets};
}
"""


def open_in(tab: Page, path: str, care: str = "", text: str = "") -> None:
    """Open ``path`` through the site's own switches (their cookies), as a visitor would."""
    params = "&".join(
        p for p in (f"care={care}" if care else "", f"text={text}" if text else "") if p
    )
    tab.goto(f"/view?{params}&next={quote(path, safe='')}")


def first_link(tab: Page, path: str, prefix: str) -> str:
    tab.goto(path)
    href = tab.locator(f"main a[href^='{prefix}']").first.get_attribute("href")
    assert href
    return href


def test_care_mode_on_a_phone_is_large_clear_and_easy_to_tap(browser, server) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(
        base_url=server,
        locale="zh-CN",
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    tab = context.new_page()
    # A first visit on a phone offers care mode; one tap on it switches.
    tab.goto("/")
    hint = tab.locator(".care-hint")
    expect(hint).to_be_visible()
    hint.get_by_role("link", name="切换到长辈版").click()
    expect(tab.locator("html")).to_have_class(re.compile(r"\bcare\b"))
    expect(tab.locator(".care-hint")).to_have_count(0)
    pages = dict(CARE_PAGES)
    tab.goto(f"/campaigns/{VOTING}/vote")
    pages["vote-form"] = tab.locator("main a.vote-button").first.get_attribute("href") or ""
    pages["candidate"] = first_link(
        tab, f"/campaigns/{VOTING}/candidates", f"/campaigns/{VOTING}/candidates/"
    )
    failures = {}
    for name, path in pages.items():
        tab.goto(path)
        measured = tab.evaluate(MEASURE)
        assert measured["texts"] > 5 and measured["targets"] > 3, (name, measured)
        if measured["problems"]:
            failures[name] = measured["problems"][:12]
        shot(tab, f"care-phone-{name}")
    assert not failures, json.dumps(failures, ensure_ascii=False, indent=1)
    # The vote form in care mode: the plain words, digits, the audio one tap away.
    tab.goto(pages["vote-form"])
    expect(tab.get_by_role("button", name="投一票")).to_be_visible()
    expect(tab.get_by_role("link", name="换一张验证码")).to_be_visible()
    expect(tab.get_by_text("听语音验证码").first).to_be_visible()
    expect(tab.locator("audio.captcha-player")).to_be_visible()
    expect(tab.get_by_role("button", name="再听一遍")).to_be_visible()
    expect(tab.get_by_label("请输入图中的 4 个数字")).to_have_attribute("inputmode", "numeric")
    tab.screenshot(path=str(ARTIFACTS / "care-phone-vote-form-top.png"))
    context.close()


def test_pages_reflow_at_200_percent_and_at_the_largest_text(browser, server) -> None:  # type: ignore[no-untyped-def]
    """WCAG 1.4.10: a 1280 px window zoomed to 200 % is a 640 px viewport; the largest
    text size on a 390 px phone zooms the page by 1.3 — neither scrolls sideways."""
    for viewport, text in (({"width": 640, "height": 450}, ""), (PHONE, "xl")):
        context = browser.new_context(base_url=server, locale="zh-CN", viewport=viewport)
        tab = context.new_page()
        for path in REFLOW_PAGES:
            open_in(tab, path, care="off", text=text or "md")
            wide = tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert wide <= 0, (viewport, text, path, wide)
        shot(tab, f"reflow-{viewport['width']}-{text or 'md'}")
        context.close()


def tab_to(tab: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until the focused element matches ``selector``."""
    for _ in range(limit):
        tab.keyboard.press("Tab")
        if tab.evaluate(
            "(s) => !!document.activeElement && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"Tab never reached {selector}")


def focused(tab: Page, selector: str) -> bool:
    return tab.evaluate(
        "(s) => !!document.activeElement && document.activeElement.matches(s)", selector
    )


# The dialog's player has played some of the spoken challenge.
PLAYED = "(player) => player.currentTime > 0 || player.ended"


def test_a_voter_with_only_a_keyboard_votes_checks_and_objects(  # type: ignore[no-untyped-def]
    browser, server, server_env
) -> None:
    context = browser.new_context(
        base_url=server, locale="zh-CN", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()

    # The vote page: Tab to a 投票 button, Enter opens the dialog with focus in it.
    tab.goto(f"/campaigns/{VOTING}/vote")
    tab_to(tab, "a.vote-button")
    opener = tab.evaluate("document.activeElement.dataset.candidateId")
    tab.keyboard.press("Enter")
    dialog = tab.locator("#vote-dialog")
    expect(dialog).to_be_visible()
    assert tab.evaluate("document.getElementById('vote-dialog').contains(document.activeElement)")
    expect(dialog.locator("img.captcha-image")).to_have_attribute("src", re.compile(r"image\.png$"))
    # The audio CAPTCHA is reached by the keyboard: it plays in the dialog, and the same
    # link then plays it again from the start.
    listen = dialog.locator("a[data-role=audio]")
    tab_to(tab, "#vote-dialog a[data-role=audio]")
    tab.keyboard.press("Enter")
    player = dialog.locator("audio[data-role=player]")
    expect(player).to_have_attribute("src", re.compile(r"^/api/v1/captcha/.+/audio\.wav$"))
    expect(listen).to_have_text("再听一遍")
    tab.wait_for_function(PLAYED, arg=player.element_handle())
    expect(listen).to_be_focused()
    tab_to(tab, "#vote-dialog input[name=captcha_answer]")
    tab.keyboard.type(CAPTCHA_TEST_ANSWER)
    tab.keyboard.press("Enter")
    # The result is announced (a status region) and focus goes to the receipt.
    expect(dialog.locator(".vote-success[role=status]")).to_be_visible()
    receipt = dialog.locator("[data-role=receipt]")
    expect(receipt).to_be_focused()
    code = receipt.inner_text().strip()
    assert RECEIPT.search(code), code
    shot(tab, "keyboard-vote-dialog")
    tab.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert tab.evaluate("document.activeElement.dataset.candidateId") == opener

    # In care mode the same voter votes on the plain form: Tab reaches the audio player.
    open_in(tab, f"/campaigns/{VOTING}/vote", care="on")
    tab_to(tab, f"a.vote-button:not([data-candidate-id='{opener}'])")
    tab.keyboard.press("Enter")
    expect(tab.get_by_role("button", name="投一票")).to_be_visible()
    tab_to(tab, "audio.captcha-player")
    with tab.expect_response(lambda r: r.url.endswith("/audio.wav")) as heard:
        tab.keyboard.press("Space")
    assert heard.value.status == 200
    assert heard.value.headers["content-type"].startswith("audio/")
    tab_to(tab, "input[name=captcha_answer]")
    tab.keyboard.type(CAPTCHA_TEST_ANSWER)
    tab.keyboard.press("Enter")
    expect(tab.locator(".vote-success")).to_have_text("投票成功！")
    second = tab.locator("#receipt-code").inner_text().strip()
    open_in(tab, "/", care="off")

    # The receipt check, by keyboard.
    tab.goto("/receipts")
    tab_to(tab, "#f-receipt")
    tab.keyboard.type(code)
    tab.keyboard.press("Enter")
    expect(tab.locator(".receipt-status")).to_be_visible()
    expect(tab.locator("main")).to_contain_text(code)
    tab.goto("/receipts")
    tab_to(tab, "#f-receipt")
    tab.keyboard.type(second)
    tab.keyboard.press("Enter")
    expect(tab.locator(".receipt-status")).to_be_visible()

    # A story read, and a certificate checked, by keyboard.
    tab.goto("/stories")
    tab_to(tab, "main a[href^='/stories/']:not([href*='.'])")
    story = tab.evaluate("document.activeElement.getAttribute('href')")
    tab.keyboard.press("Enter")
    expect(tab).to_have_url(re.compile(re.escape(story) + "$"))
    expect(tab.get_by_role("heading", level=1)).to_be_visible()
    certificate = first_link(tab, "/register", "/certificates/")
    number = unquote(certificate.rsplit("/", 1)[1])
    tab.goto("/certificates")
    tab_to(tab, "#c-no")
    tab.keyboard.type(number)
    tab.keyboard.press("Enter")
    expect(tab).to_have_url(re.compile(r"/certificates/"))
    expect(tab.locator("main")).to_contain_text(number)

    # An objection during a notice: the city publishes one (set-up, by its admin) ...
    slug = "e2e-keyboard"
    ids = json.loads(on_server_database(server_env, "results-campaign", slug))
    admin_context = browser.new_context(base_url=server, locale="zh-CN")
    admin = admin_context.new_page()
    sign_in(admin, "city-admin")
    admin.goto(f"/staff/results/{slug}")
    admin.get_by_role("button", name="计算综合排名").click()
    expect(admin.locator(".flash-success")).to_contain_text("已计算综合排名")
    publish_notice(admin, 5)
    admin_context.close()

    # ... and the citizen objects with the keyboard alone.
    tab.goto(f"/campaigns/{slug}/notice/object")
    tab_to(tab, "#f-candidate")
    wanted = str(ids["通渭县平襄司法所"])
    for _ in range(10):  # the arrow keys walk a closed select's options
        if tab.locator("#f-candidate").input_value() == wanted:
            break
        tab.keyboard.press("ArrowDown")
    assert tab.locator("#f-candidate").input_value() == wanted
    for selector, words in (
        ("[name=real_name]", "王建国"),
        ("[name=phone]", "13809321234"),
        ("[name=relation]", "同乡群众"),
        ("[name=content]", "该所去年有一起土地纠纷调解后当事人反映未履行，请核实。"),
    ):
        tab_to(tab, selector)
        tab.keyboard.type(words)
    tab_to(tab, "audio.captcha-player")
    tab_to(tab, "input[name=captcha_answer]")
    tab.keyboard.type(CAPTCHA_TEST_ANSWER)
    tab_to(tab, "button[type=submit]")
    tab.keyboard.press("Enter")
    expect(tab.get_by_role("heading", level=1)).to_have_text("您的异议已受理")
    shot(tab, "keyboard-objection-receipt")
    context.close()
