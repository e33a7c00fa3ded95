"""Checked by a tool nobody here wrote: axe-core (from npm, tests/e2e/package.json, no
CDN) runs in every public page, in normal and care mode, on a phone (where the public
opens its links), and in the staff pages a clerk, the vetting bureau and a reviewer use
most, at a desk and on a phone; any `serious` or `critical` violation fails. Screenshots
of every public page in both modes are kept under test-artifacts/pages/. On a 390 px
phone, no table hides a column without a way to reach it, and no code or number breaks
over two lines."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect

from portal.demo import DEMO_PASSWORD
from tests import services
from tests.e2e.conftest import ARTIFACTS

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
PAGES = ARTIFACTS.parent / "pages"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}
BLOCKING = ("serious", "critical")

VOTING, FINISHED, NOMINATING = "dingxi-2023", "dingxi-2022", "gansu-2024"
# Every public page; "first:<page>:<prefix>" is the first link under <prefix> on <page>.
PUBLIC = {
    "home": "/",
    "campaign": f"/campaigns/{VOTING}",
    "candidates": f"/campaigns/{VOTING}/candidates",
    "candidate": f"first:/campaigns/{VOTING}/candidates:/campaigns/{VOTING}/candidates/",
    "vote": f"/campaigns/{VOTING}/vote",
    "rules": f"/campaigns/{VOTING}/rules",
    "method": f"/campaigns/{VOTING}/method",
    "statistics": f"/campaigns/{FINISHED}/statistics",
    "statistics-live": f"/campaigns/{VOTING}/statistics",
    "statistics-overview": "/statistics",
    "finished-campaign": f"/campaigns/{FINISHED}",
    "nominating-campaign": f"/campaigns/{NOMINATING}",
    "notice": f"/campaigns/{FINISHED}/notice",
    "objection-form": f"/campaigns/{FINISHED}/notice/object",
    "honours": f"/campaigns/{FINISHED}/honours",
    "announcement": f"/campaigns/{FINISHED}/announcement",
    "stories": "/stories",
    "story": "first:/stories:/stories/",
    "register": "/register",
    "certificates": "/certificates",
    "certificate": "first:/register:/certificates/",
    "receipts": "/receipts",
    "objections": "/objections",
    "login": "/login",
    "not-found": "/campaigns/no-such-campaign",
}
# The staff pages used most: (who, name, page).
STAFF = [
    ("clerk-dingxi", "clerk-nominations", f"/staff/nominations?campaign={NOMINATING}"),
    (
        "clerk-dingxi",
        "clerk-nomination-form",
        f"first:/staff/nominations?campaign={NOMINATING}&status=draft:/staff/nominations/",
    ),
    (
        "province-admin",
        "vetting-queue",
        f"/staff/nominations?campaign={NOMINATING}&status=submitted",
    ),
    ("reviewer-tongwei", "reviewer-list", "/staff/review"),
    ("reviewer-tongwei", "reviewer-scoring", "first:/staff/review:/staff/review/assignments/"),
    ("city-admin", "brushing", f"/staff/voting/{VOTING}"),
    (
        "city-admin",
        "held-votes",
        f"first:/staff/voting/{VOTING}:/staff/voting/{VOTING}/candidates/",
    ),
]
MODES = ("normal", "care")

# Where a table is wider than its place, it must scroll in a labelled region the keyboard
# reaches; codes, numbers, times and status pills must each sit on one line.
TABLE_PROBLEMS = """() => {
  const problems = [];
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth + 1)
    problems.push(`the page scrolls sideways: ${page.scrollWidth}px in ${page.clientWidth}px`);
  for (const table of document.querySelectorAll("main table")) {
    const name = (table.closest("section")?.querySelector("h2,h3")?.textContent
      || table.querySelector("th")?.textContent || "table").trim().slice(0, 30);
    const region = table.closest('[tabindex="0"][role="region"][aria-label]');
    const box = region || table.parentElement;
    if (table.scrollWidth > box.clientWidth + 1) {
      const overflow = region ? getComputedStyle(region).overflowX : "";
      if (!region || !["auto", "scroll"].includes(overflow))
        problems.push(`${name}: ${table.scrollWidth}px in ${box.clientWidth}px, no scroll region`);
    }
    const right = box.getBoundingClientRect().right;
    if (!region && table.getBoundingClientRect().right > right + 1)
      problems.push(`${name}: columns hidden off screen`);
    const cells = table.querySelectorAll("code, time, .num, .badge, .nowrap, .code, .ip");
    for (const cell of cells) {
      // Each text inside the cell lies on one line: its rectangles share one top.
      const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      for (let text = walker.nextNode(); text; text = walker.nextNode()) {
        if (!text.data.trim()) continue;
        const range = document.createRange();
        range.selectNodeContents(text);
        const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0)
          .map((r) => Math.round(r.top)));
        if (tops.size > 1)
          problems.push(`${name}: "${text.data.trim().slice(0, 30)}" breaks: ${tops.size} lines`);
      }
    }
  }
  return problems;
}"""


def _need_axe() -> None:
    if not AXE.is_file():
        services.unavailable("axe-core is not installed: run `make install` (npm ci in tests/e2e)")


@pytest.fixture
def tabs(browser: Browser, server: str) -> Iterator[dict[str, Page]]:
    """A phone and a desk, with the page's policy bypassed so that axe can be injected."""
    _need_axe()
    contexts = {}
    for name, viewport in (("phone", PHONE), ("desk", DESK)):
        options = {"is_mobile": True, "has_touch": True} if name == "phone" else {}
        contexts[name] = browser.new_context(
            base_url=server, locale="zh-CN", viewport=viewport, bypass_csp=True, **options
        )
        contexts[name].set_default_timeout(20_000)
    yield {name: context.new_page() for name, context in contexts.items()}
    for context in contexts.values():
        context.close()


def resolve(tab: Page, target: str) -> str:
    """A page's path: ``first:<page>:<prefix>`` is the first link under <prefix> on <page>."""
    if not target.startswith("first:"):
        return target
    _, page, prefix = target.split(":", 2)
    tab.goto(page)
    # A page, not a file (the stories' feed.atom, a .docx).
    link = tab.locator(f'main a[href^="{prefix}"]:not([href*="."])').first.get_attribute("href")
    assert link, f"no link to {prefix} on {page}"
    return link


def open_in(tab: Page, path: str, mode: str) -> None:
    """Open ``path`` in ``mode``: care mode through the site's own switch (its cookie)."""
    value = "on" if mode == "care" else "off"
    response = tab.goto(f"/view?care={value}&next={quote(path, safe='')}")
    assert response is not None and response.status < 500
    assert tab.evaluate("location.pathname + location.search") == path
    assert tab.evaluate("document.documentElement.classList.contains('care')") == (
        mode == "care"
    ), "care mode not switched"


def axe_violations(tab: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    tab.add_script_tag(path=str(AXE))
    found = tab.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
          .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.slice(0, 4).map((n) => n.target.join(" "))}))"""
    )
    return [
        f"{v['impact']} {v['id']} ({v['help']}): {v['nodes']}"
        for v in found
        if v["impact"] in BLOCKING
    ]


def check(tabs: dict[str, Page], path: str, mode: str, shot: str | None, size: str) -> None:
    """axe on ``size`` (and on the phone the 390 px table check)."""
    tab = tabs[size]
    open_in(tab, path, mode)
    problems = axe_violations(tab)
    if size == "phone":
        problems += tab.evaluate(TABLE_PROBLEMS)
    if shot:
        PAGES.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(PAGES / f"{shot}-{mode}-{size}.png"), full_page=True)
    assert problems == [], f"{path} ({mode}, {size}):\n" + "\n".join(problems)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(PUBLIC))
def test_public_page_has_no_serious_violation(tabs: dict[str, Page], name: str, mode: str) -> None:
    # The public's pages on a phone, where its links are opened (a desk's view of the same
    # markup is the staff pages' check below).
    path = resolve(tabs["phone"], PUBLIC[name])
    check(tabs, path, mode, shot=name, size="phone")


@pytest.mark.parametrize(("who", "name", "target"), STAFF, ids=[s[1] for s in STAFF])
def test_staff_page_has_no_serious_violation(
    tabs: dict[str, Page], who: str, name: str, target: str
) -> None:
    # One sign-in, its session shared by both sizes (a new sign-in ends the old session).
    desk = tabs["desk"]
    desk.goto("/login")
    desk.fill("input[name=username]", who)
    desk.fill("input[name=password]", DEMO_PASSWORD)
    desk.locator("main button[type=submit]").click()
    desk.wait_for_url("**/staff")
    tabs["phone"].context.add_cookies(desk.context.cookies())
    path = resolve(tabs["desk"], target)
    # Staff work at office desks; their tables are checked at 390 px too.
    check(tabs, path, "normal", shot=f"staff-{name}", size="desk")
    check(tabs, path, "normal", shot=None, size="phone")


def test_the_table_check_finds_what_it_must(tabs: dict[str, Page]) -> None:
    """The 390 px check itself: a wide table outside a scroll region, and a code broken
    over two lines, are both reported."""
    phone = tabs["phone"]
    phone.goto("/receipts")
    phone.evaluate(
        """() => {
          const main = document.querySelector("main");
          const table = document.createElement("table");
          const row = table.insertRow();
          for (let i = 0; i < 12; i++) row.insertCell().textContent = "列名称较长的表格单元格" + i;
          const cell = row.insertCell();
          const code = document.createElement("code");
          code.textContent = "2001:db8:1234:5678::1 ".repeat(6);
          code.style.whiteSpace = "normal";
          cell.append(code);
          const box = document.createElement("div");
          box.style.width = "200px";
          box.append(table);
          main.append(box);
        }"""
    )
    problems = phone.evaluate(TABLE_PROBLEMS)
    assert any("no scroll region" in p for p in problems), problems
    assert any("breaks:" in p for p in problems), problems


def test_the_home_page_offers_the_running_vote_and_its_deadline(tabs: dict[str, Page]) -> None:
    for tab in tabs.values():
        tab.goto("/")
        offer = tab.locator(".card-vote")
        expect(offer).to_have_count(1)  # the one campaign in its vote
        expect(offer.get_by_role("link", name="去投票")).to_have_attribute(
            "href", f"/campaigns/{VOTING}/vote"
        )
        expect(offer).to_contain_text("投票截止：")
        expect(offer.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-"))
        description = tab.locator('meta[name="description"]').get_attribute("content")
        assert description and len(description) > 20
