"""The security review (issue 7): headers, cookies, sessions, login throttling, body and
upload limits, redirects after login, the API docs, and password storage.

Most checks are tables: every kind of response the portal gives (every GET route of the
route × role table in ``test_roles.py``, plus errors, static files and the docs) carries
the same security headers; every template and script is scanned for what the
Content-Security-Policy would block. The route × role sweep itself is ``test_roles.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from litestar import get

from nominations.tables import Nomination
from portal import media
from portal.apidocs import REDOC_BUNDLE, REDOC_SCRIPT
from portal.assets import static_url
from portal.auth import SESSION_COOKIE, safe_next
from portal.settings import Settings
from portal.stores import StoreUnavailable
from portal.tables import AuditEntry, Campaign, Phase
from portal.templating import STATIC_DIR, TEMPLATE_DIR
from results.tables import Objection
from stories.tables import Story
from tests.conftest import running
from tests.helpers import CSRF_COOKIE, PASSWORD, csrf_token, login, post_form

# Fixtures of the other packages' conftests, used by the upload table below.
from tests.nominations.conftest import UNIT, category, open_campaign  # noqa: F401
from tests.portal import test_roles as roles
from tests.results.conftest import NOTICE_SLUG, notice_scene, results_campaign  # noqa: F401
from tests.stories.conftest import world  # noqa: F401
from voting.controllers.api import VOTER_COOKIE

ONE_MIB = 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CAPTCHA_ANSWER = "SAFE7"
JS = "text/javascript"


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    """The CAPTCHA test answer (objection forms) and a small pool, drawn quickly."""
    return dataclasses.replace(settings, captcha_test_answer=CAPTCHA_ANSWER, captcha_pool_size=24)


# --- the headers ----------------------------------------------------------------------------


def policy(response: httpx.Response) -> dict[str, list[str]]:
    csp = response.headers.get("content-security-policy", "")
    return {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}


def assert_security_headers(response: httpx.Response) -> None:
    """What every response carries, whatever its kind or status."""
    where = f"{response.request.method} {response.request.url.path} → {response.status_code}"
    headers = response.headers
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") == "strict-origin-when-cross-origin", where
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("cross-origin-opener-policy") == "same-origin", where
    assert "camera=()" in headers.get("permissions-policy", ""), where
    directives = policy(response)
    scripts = directives.get("script-src")
    assert scripts == ["'self'"], f"{where}: script-src {scripts}"
    assert directives.get("default-src") == ["'self'"], where
    assert directives.get("frame-ancestors") == ["'none'"], where
    assert directives.get("object-src") == ["'none'"], where
    assert directives.get("base-uri") == ["'self'"], where
    assert directives.get("form-action") == ["'self'"], where
    for values in directives.values():
        assert "'unsafe-eval'" not in values and "*" not in values, where
    if not is_docs(response):
        # Outside the API docs, inline styles are refused too.
        assert directives.get("style-src") == ["'self'"], where
    assert len(headers.get_list("content-security-policy")) == 1, where
    assert "strict-transport-security" not in headers, where  # production only


def is_docs(response: httpx.Response) -> bool:
    path = response.request.url.path
    return path == "/schema" or path.startswith("/schema/")


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.I)
STYLE_ELEMENT = re.compile(r"<style\b", re.I)
JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.I)


def blocked_by_csp(html: str) -> list[str]:
    """What in this HTML the policy would block: inline script, handlers, inline styles."""
    found = []
    for name, pattern in (
        ("inline <script>", INLINE_SCRIPT),
        ("on*= handler", HANDLER),
        ("style= attribute", STYLE_ATTRIBUTE),
        ("<style> element", STYLE_ELEMENT),
        ("javascript: URL", JS_URL),
    ):
        found += [f"{name}: {m.group(0)[:80]}" for m in pattern.finditer(html)]
    return found


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<script type="module">x()</script>',
        '<a href="/" onclick="x()">a</a>',
        "<body onload=go()>",
        '<p style="color:red">x</p>',
        "<style>p{}</style>",
        '<a href="javascript:alert(1)">x</a>',
    ],
)
def test_the_scanner_finds_what_the_policy_blocks(html: str) -> None:
    assert blocked_by_csp(html)


def test_the_scanner_passes_what_the_policy_allows() -> None:
    html = (
        '<script src="/static/js/vote.js" defer></script>'
        '<link rel="stylesheet" href="/static/css/portal.css">'
        '<p class="online">only one</p><input name="style" data-onclick="no">'
    )
    assert blocked_by_csp(html) == []


def template_files() -> list[Path]:
    return sorted(TEMPLATE_DIR.rglob("*.html"))


def test_no_template_holds_anything_the_policy_would_block() -> None:
    files = template_files()
    assert len(files) > 30  # the scan really reads the templates
    problems = {
        str(path.relative_to(TEMPLATE_DIR)): found
        for path in files
        if (found := blocked_by_csp(path.read_text(encoding="utf-8")))
    }
    assert problems == {}


# Script features the policy (no 'unsafe-eval', no inline styles or handlers) refuses.
FORBIDDEN_IN_SCRIPTS = re.compile(
    r"\beval\s*\(|new\s+Function\b|setTimeout\s*\(\s*['\"]|setAttribute\s*\(\s*['\"](?:style|on)"
    r"|\.innerHTML\s*=|\.outerHTML\s*=|insertAdjacentHTML|document\.write|\.on[a-z]+\s*=\s*['\"]"
)


def test_our_scripts_need_no_eval_and_no_inline_styles() -> None:
    scripts = [p for p in STATIC_DIR.rglob("*.js") if "vendor" not in p.parts]
    assert {p.name for p in scripts} >= {"vote.js", "print.js"}
    problems = {
        p.name: FORBIDDEN_IN_SCRIPTS.findall(p.read_text(encoding="utf-8")) for p in scripts
    }
    assert {name: found for name, found in problems.items() if found} == {}
    assert FORBIDDEN_IN_SCRIPTS.search('el.setAttribute("style", "x")')  # the check bites


def test_style_sheets_load_nothing_from_elsewhere() -> None:
    for sheet in STATIC_DIR.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8")
        assert not re.search(r"url\(\s*['\"]?(?:https?:)?//|@import", text), sheet.name


# The kinds of response the route sweep below must have met (content types).
KINDS_FROM_ROUTES = {
    "text/html",
    "application/json",
    "application/pdf",
    XLSX,
    "application/atom+xml",
    "image/jpeg",
    "image/png",
}


@pytest.fixture
async def campaign(staff: dict[str, str]) -> Campaign:
    return await roles.ensure_demo_campaign()


@pytest.fixture
def scene(staff: dict[str, str], settings) -> roles.Scene:  # type: ignore[no-untyped-def]
    return roles.Scene(staff, media.upload_dir(settings.var_dir))


@pytest.mark.parametrize("role", ["anonymous", "city_admin"])
async def test_every_get_route_carries_the_headers_and_no_inline_code(
    client, staff, campaign, scene, role: str
) -> None:
    """Every GET route of the route × role table, with real path values: pages, JSON,
    PDFs, workbooks, the Atom feed, photos, QR codes — and the refusals (302, 403, 404)."""
    await roles.sign_in(client, staff, role)
    kinds: set[str] = set()
    statuses: set[int] = set()
    for method, path in sorted(roles.ACCESS):
        if method != "GET":
            continue
        response = await roles.request(client, scene, method, path)
        assert_security_headers(response)
        statuses.add(response.status_code)
        kind = response.headers.get("content-type", "").split(";")[0]
        kinds.add(kind)
        if kind == "text/html":
            assert blocked_by_csp(response.text) == [], response.request.url
    if role == "city_admin":
        assert kinds >= KINDS_FROM_ROUTES, kinds
        assert {200, 403, 404} <= statuses, statuses
    else:
        assert {200, 302} <= statuses, statuses


async def test_every_other_kind_of_response_carries_the_headers(client, app, campaign) -> None:
    @get("/security-boom", sync_to_thread=False)
    def boom() -> str:
        raise RuntimeError("secret-detail")

    @get("/api/v1/security-boom", sync_to_thread=False)
    def api_boom() -> dict:
        raise RuntimeError("secret-detail")

    @get("/security-outage", sync_to_thread=False)
    def outage() -> str:
        raise StoreUnavailable("store down")

    for handler in (boom, api_boom, outage):
        app.register(handler)
    token = await csrf_token(client)
    await (
        Campaign.update({Campaign.phase: Phase.tallying.value})
        .where(Campaign.id == campaign.id)
        .run()
    )
    big = {"username": "x" * (ONE_MIB + 10), "password": "p", "_csrf_token": token}
    cases = [
        # (what, how to ask, status, content type)
        ("404 page", lambda: client.get("/no/such/page"), 404, "text/html"),
        ("404 API", lambda: client.get("/api/v1/campaigns/nope"), 404, "application/json"),
        ("405", lambda: client.get("/logout"), 405, "text/html"),
        ("OPTIONS", lambda: client.options("/"), 204, ""),
        ("500 page", lambda: client.get("/security-boom"), 500, "text/html"),
        ("500 API", lambda: client.get("/api/v1/security-boom"), 500, "application/json"),
        ("503", lambda: client.get("/security-outage"), 503, "text/html"),
        ("403 CSRF", lambda: client.post("/login", data={"username": "a"}), 403, "text/html"),
        ("413 page", lambda: client.post("/login", data=big), 413, "text/html"),
        ("redirect", lambda: client.get("/staff"), 302, ""),
        ("CSS", lambda: client.get("/static/css/portal.css"), 200, "text/css"),
        ("script", lambda: client.get("/static/js/vote.js"), 200, JS),
        ("vendored script", lambda: client.get(REDOC_SCRIPT), 200, JS),
        ("missing static", lambda: client.get("/static/nope.css"), 404, "text/html"),
        (
            "ledger CSV",
            lambda: client.get(f"/api/v1/campaigns/{campaign.slug}/ledger.csv"),
            200,
            "text/csv",
        ),
        ("docs", lambda: client.get("/schema"), 200, "text/html"),
        (
            "schema JSON",
            lambda: client.get("/schema/openapi.json"),
            200,
            "application/vnd.oai.openapi+json",
        ),
        (
            "schema YAML",
            lambda: client.get("/schema/openapi.yaml"),
            200,
            "application/vnd.oai.openapi",
        ),
        ("health", lambda: client.get("/healthz"), 200, "application/json"),
    ]
    for what, send, status, kind in cases:
        response = await send()
        assert response.status_code == status, (what, response.text[:200])
        assert response.headers.get("content-type", "").startswith(kind), what
        assert_security_headers(response)
        assert "secret-detail" not in response.text


async def test_the_session_middlewares_own_503_carries_the_headers(settings, campaign) -> None:
    """A store outage while loading the session is answered outside the handlers."""
    from limits.aio.storage import MemoryStorage

    from portal.app import create_app
    from portal.stores import RedisStateStore, Stores
    from tests.portal.test_errors import dead_redis_url

    stores = Stores(state=RedisStateStore.from_url(dead_redis_url()), limits=MemoryStorage())
    app = create_app(settings, stores=stores)
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
            c.cookies.set(SESSION_COOKIE, "s" * 32, domain="testserver.local")
            response = await c.get("/staff")
    assert response.status_code == 503
    assert_security_headers(response)


async def test_staff_pages_and_the_login_form_are_never_cached(client, staff, campaign) -> None:
    assert (await client.get("/login")).headers["cache-control"] == "no-store"
    await login(client, "admin")
    for url in ("/staff", "/staff/audit", "/staff/accounts"):
        assert (await client.get(url)).headers["cache-control"] == "no-store", url
    # Public pages keep their own caching (the page cache, the static files).
    assert (await client.get("/")).headers.get("cache-control") != "no-store"


# --- the API docs ---------------------------------------------------------------------------


async def test_the_docs_load_redoc_from_this_site_with_no_inline_script(client) -> None:
    script_url = static_url(REDOC_BUNDLE)  # fingerprinted
    assert script_url.startswith(f"{REDOC_SCRIPT}?v=")
    for url in ("/schema", "/schema/redoc"):
        page = await client.get(url)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert '<redoc spec-url="/schema/openapi.json"></redoc>' in page.text
        assert re.findall(r"<script\b[^>]*>", page.text) == [f'<script src="{script_url}">']
        assert not re.search(r"(?:https?:)?//[a-z]", page.text), "nothing from another site"
        assert blocked_by_csp(page.text) == []
        directives = policy(page)
        assert directives["script-src"] == ["'self'"]
        assert directives["connect-src"] == ["'self'"]
        # Redoc inserts <style> elements at run time: inline styles on this page only.
        assert directives["style-src"] == ["'self'", "'unsafe-inline'"]
    script = await client.get(script_url)
    assert script.status_code == 200 and len(script.content) > 500_000
    assert b"spec-url" in script.content  # starts itself on the <redoc> element
    assert (STATIC_DIR / "vendor" / "redoc" / "LICENSE").is_file()


@pytest.mark.parametrize("url", ["/schema/swagger", "/schema/rapidoc", "/schema/elements"])
async def test_the_cdn_viewers_are_not_served(client, url: str) -> None:
    response = await client.get(url)
    assert response.status_code == 404
    assert "cdn." not in response.text


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


async def test_the_docs_render_in_a_browser_under_their_policy(client) -> None:
    """Chromium opens /schema (served by the app in process) and Redoc draws the API,
    with the page's own CSP in force and no violation reported."""
    from tests import services

    executable = _chromium()
    if executable is None:
        services.unavailable("Chromium is not installed (Debian package: chromium)")
    from playwright.async_api import async_playwright

    from tests.e2e.conftest import CHROMIUM_FLAGS

    async def from_app(route) -> None:  # type: ignore[no-untyped-def]
        request = route.request
        url = httpx.URL(request.url)
        if url.host != "portal.test":
            await route.abort()  # nothing may be fetched from anywhere else
            outside.append(request.url)
            return
        response = await client.get(url.raw_path.decode())
        await route.fulfill(
            status=response.status_code,
            headers=dict(response.headers),
            body=response.content,
        )

    outside: list[str] = []
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page = await browser.new_page()
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: problems.append(str(e)))
            await page.route("**/*", from_app)
            await page.goto("http://portal.test/schema")
            # Redoc has fetched the schema and drawn the operations.
            await page.wait_for_selector(
                "text=A new CAPTCHA challenge", state="attached", timeout=60_000
            )
            heading = await page.text_content("h1")
        finally:
            await browser.close()
    assert heading and "枫桥式评选投票平台 API" in heading
    violations = [p for p in problems if "Content Security Policy" in p or "Refused" in p]
    # Nothing is blocked: the bundle, its sidebar logo (served here, not from Redocly's
    # CDN), the schema, its styles and its search worker all come from this site.
    assert violations == []
    assert outside == []


# --- cookies --------------------------------------------------------------------------------


def set_cookie(response: httpx.Response, name: str) -> str:
    found = [
        value
        for key, value in response.headers.multi_items()
        if key == "set-cookie" and value.startswith(f"{name}=")
    ]
    assert found, f"no {name} cookie set by {response.request.url}"
    return found[-1]


def flags(cookie: str) -> dict[str, str]:
    parts = [p.strip() for p in cookie.split(";")[1:]]
    return {p.split("=")[0].lower(): (p.split("=", 1)[1] if "=" in p else "") for p in parts}


@contextlib.asynccontextmanager
async def production_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with production settings, reached over HTTPS at its public URL."""
    from portal.app import create_app

    app = create_app(
        dataclasses.replace(
            settings,
            env="production",
            secret_key="p" * 40,
            captcha_test_answer=None,
            public_url="https://testserver.local",
        )
    )
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(
            transport=transport, base_url="https://testserver.local", follow_redirects=False
        ) as client:
            yield client


async def cookies_set(client: httpx.AsyncClient, slug: str) -> dict[str, dict[str, str]]:
    """The flags of the session, CSRF and voter cookies, as the portal sets them."""
    page = await client.get("/login")
    csrf = flags(set_cookie(page, CSRF_COOKIE))
    # A clerk: in production an administrator would first enrol a second factor.
    session = flags(set_cookie(await login(client, "clerk"), SESSION_COOKIE))
    vote = await client.post(
        f"/api/v1/campaigns/{slug}/votes",
        json={"candidate_id": 1, "captcha_id": "nope", "captcha_answer": "nope"},
    )
    assert vote.status_code in (400, 404, 409, 422), vote.text[:200]
    voter = flags(set_cookie(vote, VOTER_COOKIE))
    return {"session": session, "csrf": csrf, "voter": voter}


def assert_cookie_flags(found: dict[str, dict[str, str]], secure: bool) -> None:
    for name, cookie in found.items():
        assert cookie.get("samesite", "").lower() == "lax", name
        assert cookie.get("path") == "/", name
        assert "domain" not in cookie, name  # this host only
        assert ("secure" in cookie) is secure, name
        assert "httponly" in cookie, name  # no script reads any of them
    # No longer than a session lives (PORTAL_SESSION_MAX_HOURS, default 12).
    assert int(found["session"]["max-age"]) <= 12 * 3600
    assert int(found["voter"]["max-age"]) <= 400 * 24 * 3600


async def test_cookie_flags_outside_production(client, staff, campaign) -> None:
    assert_cookie_flags(await cookies_set(client, campaign.slug), secure=False)


async def test_cookie_flags_in_production(settings, staff, campaign) -> None:
    async with production_client(settings) as client:
        found = await cookies_set(client, campaign.slug)
        assert_cookie_flags(found, secure=True)
        # And the secure session works over HTTPS, with HSTS on every answer.
        dashboard = await client.get("/staff")
        assert dashboard.status_code == 200
        assert int(dashboard.headers["strict-transport-security"].split("=")[1]) >= 31536000
        missing = await client.get("/no/such/page")
        assert "strict-transport-security" in missing.headers


# --- the Host header ------------------------------------------------------------------------


async def test_production_refuses_a_request_for_another_host(settings, campaign) -> None:
    """A forged Host would make the feed, share cards and QR codes point elsewhere."""
    from portal.origin import WRONG_HOST_MESSAGE

    slug = campaign.slug
    async with production_client(settings) as client:
        for host in (
            "evil.example",
            "testserver.local.evil.example",
            "evil.example:443",
            "testserver.local:8443",
            "testserver.local@evil.example",
            "testserver.local:https",
            "",
        ):
            for path in ("/", f"/campaigns/{slug}", "/stories/feed.atom", "/login"):
                page = await client.get(path, headers={"Host": host})
                assert page.status_code == 400, (host, path)
                assert page.headers["content-type"].startswith("text/html"), (host, path)
                assert WRONG_HOST_MESSAGE in page.text and "evil" not in page.text
                assert page.headers["x-content-type-options"] == "nosniff"
            api = await client.get(f"/api/v1/campaigns/{slug}", headers={"Host": host})
            assert api.status_code == 400, host
            assert api.json() == {"error": "invalid", "message": WRONG_HOST_MESSAGE}
            # Refused before the session, CSRF or the handler run: nothing is set or done.
            form = await client.post("/login", data={"username": "x"}, headers={"Host": host})
            assert form.status_code == 400 and "set-cookie" not in form.headers
        # The public URL's own host passes, with or without its default port, in any case,
        # and X-Forwarded-Host is not read at all.
        for host in ("testserver.local", "TestServer.Local", "testserver.local:443"):
            page = await client.get(f"/campaigns/{slug}", headers={"Host": host})
            assert page.status_code == 200, host
        forwarded = await client.get("/", headers={"X-Forwarded-Host": "evil.example"})
        assert forwarded.status_code == 200
        # Load balancers probe a node by its address.
        health = await client.get("/healthz", headers={"Host": "10.0.0.11:8000"})
        assert health.status_code == 200


async def test_outside_production_any_host_is_served(client, campaign) -> None:
    """Development reaches the portal as localhost or by its LAN address."""
    for host in ("localhost:8000", "192.168.1.20:8000", "evil.example"):
        page = await client.get(f"/campaigns/{campaign.slug}", headers={"Host": host})
        assert page.status_code == 200, host
    # A Host no URL can be parsed from still gets the ordinary error answers.
    missing = await client.get("/no/such/page", headers={"Host": "evil.example:abc"})
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]
    api = await client.get("/api/v1/campaigns/nope", headers={"Host": "evil.example:abc"})
    assert api.status_code == 404 and api.json()["error"] == "not_found"


# --- sessions -------------------------------------------------------------------------------


async def test_the_session_id_changes_at_login_and_the_old_one_is_dead(client, staff) -> None:
    await login(client, "clerk")
    first = client.cookies[SESSION_COOKIE]
    assert len(first) >= 32
    # Signing in again (here as someone else) replaces the id and ends the old session.
    await login(client, "admin")
    second = client.cookies[SESSION_COOKIE]
    assert second != first
    client.cookies.set(SESSION_COOKIE, first, domain="testserver.local")
    assert (await client.get("/staff")).status_code == 302
    client.cookies.set(SESSION_COOKIE, second, domain="testserver.local")
    page = await client.get("/staff")
    assert page.status_code == 200 and "管理员" in page.text


async def test_a_planted_session_id_never_becomes_a_signed_in_one(client, staff) -> None:
    planted = "f" * 64
    client.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")
    await login(client, "admin")
    assert client.cookies[SESSION_COOKIE] != planted
    client.cookies.set(SESSION_COOKIE, planted, domain="testserver.local")
    assert (await client.get("/staff")).status_code == 302


async def test_logout_clears_the_session_on_the_server(client, staff) -> None:
    await login(client, "admin")
    old = client.cookies[SESSION_COOKIE]
    response = await post_form(client, "/logout")
    assert response.status_code in (302, 303)
    cleared = set_cookie(response, SESSION_COOKIE)
    assert cleared.startswith(f"{SESSION_COOKIE}=null;") and "expires=" in cleared.lower()
    # Someone who kept the old id (a copied cookie) is not signed in with it.
    client.cookies.set(SESSION_COOKIE, old, domain="testserver.local")
    response = await client.get("/staff")
    assert response.status_code == 302 and response.headers["location"].startswith("/login")
    assert await client.app.state.stores.state.with_namespace("sessions").get(old) is None  # type: ignore[attr-defined]


# --- login throttling -----------------------------------------------------------------------


async def fail(client: httpx.AsyncClient, username: str) -> httpx.Response:
    return await post_form(client, "/login", {"username": username, "password": "wrong-pass"})


def another_network(app, address: str) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app, client=(address, 40001))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver.local")


def assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text[:200]
    assert "登录失败次数过多" in response.text
    assert 0 < int(response.headers["retry-after"]) <= 15 * 60
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert_security_headers(response)


async def test_five_failures_from_anywhere_ask_for_a_captcha_not_a_lock(client, app, staff) -> None:
    """Five failures for an account from several networks lock no one out (an outsider
    could keep the owner out so): the form asks for a CAPTCHA instead; a lock needs five
    from one network (tests/portal/test_login_security.py)."""
    for _ in range(3):
        assert (await fail(client, "clerk")).status_code == 400
    async with another_network(app, "198.51.100.9") as elsewhere:
        for _ in range(2):
            # Case and spaces do not make a fresh account key.
            assert (await fail(elsewhere, " CLERK ")).status_code == 400
        # The right password without the CAPTCHA is not looked at.
        asked = await post_form(elsewhere, "/login", {"username": "clerk", "password": PASSWORD})
        assert asked.status_code == 400 and 'name="captcha_id"' in asked.text
        assert "请正确输入图片中的验证码" in asked.text
    assert (await client.get("/staff")).status_code == 302
    await login(client, "admin")  # other accounts ask for nothing
    entries = await AuditEntry.select(AuditEntry.action).run()
    # No lock: the failures themselves are audited (staff.login_failed), then the login.
    assert [e["action"] for e in entries if e["action"] != "staff.login_failed"] == ["staff.login"]


async def test_a_network_is_locked_after_twenty_failures(client, app, staff) -> None:
    for i in range(20):
        # A forged X-Forwarded-For does not make a new network (no trusted proxy here).
        response = await post_form(
            client,
            "/login",
            {"username": f"guess{i}", "password": "wrong-pass"},
            headers={"x-forwarded-for": f"203.0.113.{i}"},
        )
        assert response.status_code == 400
    assert_throttled(await post_form(client, "/login", {"username": "admin", "password": PASSWORD}))
    async with another_network(app, "198.51.100.20") as elsewhere:
        await login(elsewhere, "admin")  # the account itself is not locked


# --- body and upload limits -----------------------------------------------------------------


async def test_a_form_over_one_mib_is_413_with_a_clear_page(client, staff) -> None:
    token = await csrf_token(client)
    response = await client.post(
        "/login", data={"_csrf_token": token, "username": "admin", "password": "x" * ONE_MIB}
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "提交的内容过大，请缩小后重试" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_json_over_one_mib_is_413_in_the_contract_shape(client, campaign, chunked) -> None:
    body = b'{"candidate_id": 1, "captcha_id": "x", "captcha_answer": "' + b"y" * ONE_MIB + b'"}'

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = await client.post(
        f"/api/v1/campaigns/{campaign.slug}/votes",
        content=stream() if chunked else body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413, response.text[:200]
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"error": "too_large", "message": "提交的内容过大，请缩小后重试。"}
    assert_security_headers(response)


def padded(head: bytes, size: int) -> bytes:
    return head + b"\0" * (size - len(head))


FIVE_MB, TEN_MB = media.MAX_PHOTO_BYTES, media.MAX_PDF_BYTES
BIG_PHOTO = padded(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", FIVE_MB + 1)
BIG_PDF = padded(b"%PDF-1.4\n", TEN_MB + 1)


def upload_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


async def nomination_upload(client, nomination_category, name: str, content: bytes):  # type: ignore[no-untyped-def]
    data = {**UNIT, "category": str(nomination_category.id), "action": "save"}
    field, kind = (
        ("photo", "image/jpeg") if name.endswith(".jpg") else ("documents", "application/pdf")
    )
    return await post_form(
        client, "/staff/nominations/new", data, files=[(field, (name, content, kind))]
    )


async def story_upload(client, story_world, name: str, content: bytes):  # type: ignore[no-untyped-def]
    data = {
        "kind": "case",
        "title": "封面过大的稿件",
        "body": "正文。",
        "bureau": str(story_world.bureaus[""]),
    }
    return await post_form(
        client, "/staff/stories/new", data, files={"cover": (name, content, "image/jpeg")}
    )


async def objection_upload(client, scene, name: str, content: bytes):  # type: ignore[no-untyped-def]
    await client.app.state.voting.captcha.fill()
    form = await client.get(f"/campaigns/{NOTICE_SLUG}/notice/object")
    found = re.search(r'name="captcha_id" value="([^"]+)"', form.text)
    assert found, form.text[:300]
    data = {
        "candidate": str(scene.ids["甲司法所"]),
        "real_name": "王建国",
        "phone": "13919001234",
        "relation": "同村村民",
        "content": "该所去年有一起调解协议未履行，群众多次反映，申报材料与实际不符。",
        "captcha_id": found.group(1),
        "captcha_answer": CAPTCHA_ANSWER,
    }
    kind = "application/pdf" if name.endswith(".pdf") else "image/jpeg"
    return await post_form(
        client,
        f"/campaigns/{NOTICE_SLUG}/notice/object",
        data,
        files={"evidence": (name, content, kind)},
    )


async def counts() -> tuple[int, ...]:
    return (
        await Nomination.count().run(),
        await Story.count().run(),
        await Objection.count().run(),
        await AuditEntry.count().run(),
    )


# (form, file name, content, status, message): a file over its own limit is refused at
# its field; a body over the route's whole limit is refused as a whole (413).
NOMINATION_UPLOADS = [
    pytest.param("照片.jpg", BIG_PHOTO, 400, "照片超过 5 MB", id="photo"),
    pytest.param("推荐表.pdf", BIG_PDF, 400, "文件超过 10 MB", id="pdf"),
    pytest.param("推荐表.pdf", padded(b"%PDF", 41 * ONE_MIB), 413, "提交的内容过大", id="body"),
]
STORY_UPLOADS = [
    pytest.param("封面.jpg", BIG_PHOTO, 400, "封面图片：照片超过 5 MB", id="cover"),
    pytest.param("封面.jpg", padded(b"\xff\xd8", 7 * ONE_MIB), 413, "提交的内容过大", id="body"),
]
OBJECTION_UPLOADS = [
    pytest.param("证据.pdf", BIG_PDF, 400, "超过 10 MB", id="pdf"),
    pytest.param("证据.jpg", BIG_PHOTO, 400, "图片超过 5 MB", id="image"),
    pytest.param("证据.pdf", padded(b"%PDF", 11 * ONE_MIB), 413, "提交的内容过大", id="body"),
]
ROW = ("name", "content", "status", "message")


async def assert_refused_and_nothing_kept(settings, send, status: int, message: str) -> None:  # type: ignore[no-untyped-def]
    folder = media.upload_dir(settings.var_dir)
    before = (upload_files(folder), await counts())
    response = await send()
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text
    assert "Traceback" not in response.text
    assert_security_headers(response)
    assert (upload_files(folder), await counts()) == before


@pytest.mark.parametrize(ROW, NOMINATION_UPLOADS)
async def test_nomination_files_over_their_limit_are_refused_and_nothing_is_kept(
    client,
    settings,
    category,  # noqa: F811 - the fixture imported above
    name,
    content,
    status,
    message,
) -> None:
    await login(client, "clerk")
    await assert_refused_and_nothing_kept(
        settings, lambda: nomination_upload(client, category, name, content), status, message
    )


@pytest.mark.parametrize(ROW, STORY_UPLOADS)
async def test_story_covers_over_their_limit_are_refused_and_nothing_is_kept(
    client,
    settings,
    world,  # noqa: F811 - the fixture imported above
    name,
    content,
    status,
    message,
) -> None:
    await login(client, "admin")
    await assert_refused_and_nothing_kept(
        settings, lambda: story_upload(client, world, name, content), status, message
    )


@pytest.mark.parametrize(ROW, OBJECTION_UPLOADS)
async def test_objection_evidence_over_its_limit_is_refused_and_nothing_is_kept(
    client,
    settings,
    notice_scene,  # noqa: F811 - the fixture imported above
    name,
    content,
    status,
    message,
) -> None:
    await assert_refused_and_nothing_kept(
        settings, lambda: objection_upload(client, notice_scene, name, content), status, message
    )


# --- redirects after login ------------------------------------------------------------------

OFF_SITE = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example",
    "//evil.example/staff",
    "/\\evil.example",
    "/staff\\..\\\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\nSet-Cookie: a=b",
    " //evil.example",
    "evil.example",
    "",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_safe_next_refuses_every_target_off_the_site(target: str) -> None:
    assert safe_next(target) == "/staff"


@pytest.mark.parametrize("target", ["/staff/audit?action=campaign", "/campaigns/x#top", "/"])
def test_safe_next_keeps_local_paths(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize("target", OFF_SITE)
async def test_login_never_redirects_off_the_site(client, staff, target: str) -> None:
    form = await client.get("/login", params={"next": target})
    assert "evil.example" not in form.text
    response = await post_form(
        client, "/login", {"username": "admin", "password": PASSWORD, "next": target}
    )
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/staff"
    # Already signed in, the login page's own redirect is just as careful.
    again = await client.get("/login", params={"next": target})
    assert again.headers["location"] == "/staff"


async def test_login_returns_to_a_local_page(client, staff) -> None:
    response = await post_form(
        client, "/login", {"username": "admin", "password": PASSWORD, "next": "/staff/accounts"}
    )
    assert response.headers["location"] == "/staff/accounts"


# --- password storage -----------------------------------------------------------------------


async def test_passwords_are_salted_slow_hashes(bureaus, monkeypatch) -> None:
    from piccolo.apps.user.tables import BaseUser

    from portal.accounts import create_staff
    from portal.tables import Staff

    # Production strength: the class default the portal keeps (the suite lowers it).
    assert BaseUser._pbkdf2_iteration_count == 600_000
    monkeypatch.delattr(Staff, "_pbkdf2_iteration_count", raising=False)
    first = await create_staff("one", PASSWORD, "auditor")
    second = await create_staff("two", PASSWORD, "auditor")
    rows = await Staff.select(Staff.password).where(Staff.id.is_in([first.id, second.id])).run()
    hashes = [row["password"] for row in rows]
    assert all(h.startswith("pbkdf2_sha256$600000$") for h in hashes)
    salts = {h.split("$")[2] for h in hashes}
    assert len(salts) == 2 and all(len(s) >= 16 for s in salts)  # salted: same password, two hashes
    assert hashes[0] != hashes[1] and all(PASSWORD not in h for h in hashes)


def test_production_refuses_to_start_without_a_real_secret() -> None:
    from portal.settings import ConfigError

    production = Settings(
        database_url="postgresql://portal@db/portal", env="production", secret_key="short"
    )
    with pytest.raises(ConfigError):
        production.check()
    assert os.environ["PORTAL_ENV"] == "test"  # the suite never runs as production by accident
