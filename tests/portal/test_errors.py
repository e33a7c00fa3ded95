"""Errors as people and API clients see them.

Every failure answers with the right status and a clear Chinese message (a page, or the
contract's ``{"error", "message"}`` JSON under ``/api/``), changes nothing, and never
shows a traceback or an exception's text.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import socket

import httpx
import pytest
from limits.aio.storage import MemoryStorage
from litestar import Request, get, post

from portal.demo import DEMO_SLUG, ensure_demo_campaign
from portal.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    RateLimited,
    Refused,
    Unavailable,
    nested_too_deep,
    wait_words,
)
from portal.stores import RedisStateStore, Stores
from portal.tables import AuditEntry, Campaign, Category, Phase
from tests.conftest import running
from tests.helpers import PASSWORD, csrf_token, login, post_form

PHASE_API = f"/api/staff/campaigns/{DEMO_SLUG}/phase"
EDIT_PAGE = f"/staff/campaigns/{DEMO_SLUG}/edit"
ONE_MIB = 1024 * 1024
# What must never reach a visitor: Python's own words for a failure.
LEAKS = ("Traceback", 'File "', "RuntimeError", "Exception", "secret-detail", "site-packages")

pytestmark = pytest.mark.usefixtures("staff")


@pytest.fixture
async def campaign() -> Campaign:
    return await ensure_demo_campaign()


def has_chinese(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def assert_no_leak(response: httpx.Response) -> None:
    for leak in LEAKS:
        assert leak not in response.text, f"{leak!r} shown to the visitor"


def assert_error_page(response: httpx.Response, status: int, *phrases: str) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="zh-CN"' in response.text
    for phrase in phrases:
        assert phrase in response.text
    assert_no_leak(response)


def assert_error_json(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and has_chinese(body["message"])
    assert_no_leak(response)
    return body


async def snapshot() -> tuple:
    return (
        await Campaign.select().order_by(Campaign.id).run(),
        await Category.select().order_by(Category.id).run(),
        await AuditEntry.select().order_by(AuditEntry.id).run(),
    )


async def admin(client: httpx.AsyncClient) -> str:
    """Sign in as the city admin; return the CSRF token for unsafe calls."""
    await login(client, "admin")
    return await csrf_token(client)


def dead_redis_url() -> str:
    """A Redis URL on a local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


@pytest.fixture
async def outage_client(settings, campaign):  # type: ignore[no-untyped-def]
    """A client on an app whose shared store (Redis) is down, rate limits included."""
    from portal.app import create_app

    app = create_app(dataclasses.replace(settings, redis_url=dead_redis_url()))
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
            yield c


@pytest.fixture
async def session_outage_client(settings, campaign):  # type: ignore[no-untyped-def]
    """The portal built with ``create_app(settings, stores=...)`` on a dead Redis store."""
    from portal.app import create_app

    stores = Stores(state=RedisStateStore.from_url(dead_redis_url()), limits=MemoryStorage())
    app = create_app(settings, stores=stores)
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as c:
            yield c


# --- not found --------------------------------------------------------------------------


async def test_unknown_campaign_page_is_404(client, campaign) -> None:
    response = await client.get("/campaigns/nope")
    assert_error_page(response, 404, "页面不存在", "找不到该评选活动")


@pytest.mark.parametrize("number", ["2147483648", "99999999999999999999999", "-2147483649"])
async def test_ids_no_row_can_have_are_404(client, campaign, number: str) -> None:
    """Past PostgreSQL's `integer` (and SQLite's 64 bits) an id is unknown, not a 500."""
    public = (
        f"/campaigns/{DEMO_SLUG}/candidates/{number}",
        f"/campaigns/{DEMO_SLUG}/candidates/{number}/qr.png",
        f"/media/candidates/{number}/photo.jpg",
        f"/stories/{number}",
    )
    for url in public:
        assert_error_page(await client.get(url), 404, "页面不存在")
    # Staff routes still ask who is asking first, then answer the same.
    staff = f"/staff/nominations/{number}"
    assert (await client.get(staff)).status_code in (302, 303)
    await admin(client)
    assert_error_page(await client.get(staff), 404, "页面不存在")
    # The largest possible id is looked up as usual (and found nowhere).
    assert_error_page(await client.get("/stories/2147483647"), 404, "页面不存在")


async def test_draft_campaign_page_is_404_to_the_public(client, campaign) -> None:
    await (
        Campaign.update({Campaign.phase: Phase.draft.value}).where(Campaign.id == campaign.id).run()
    )
    response = await client.get(f"/campaigns/{DEMO_SLUG}")
    assert_error_page(response, 404, "找不到该评选活动")
    assert campaign.title not in response.text


async def test_unknown_campaign_api_is_404_json(client, campaign) -> None:
    response = await client.get("/api/v1/campaigns/nope")
    body = assert_error_json(response, 404, "not_found")
    assert body == {"error": "not_found", "message": "找不到该评选活动。"}


async def test_unknown_url_is_404_page(client) -> None:
    response = await client.get("/no/such/page")
    assert_error_page(response, 404, "页面不存在", "您要找的内容不存在")
    assert 'href="/"' in response.text  # a way back home


async def test_unknown_api_url_is_404_json(client) -> None:
    response = await client.get("/api/v1/no-such-thing")
    assert_error_json(response, 404, "not_found")


async def test_wrong_method_is_405_page(client) -> None:
    response = await client.get("/logout")
    assert_error_page(response, 405, "不支持该请求方法")


# --- invalid JSON bodies ----------------------------------------------------------------


async def test_malformed_json_is_400_invalid(client, campaign) -> None:
    token = await admin(client)
    before = await snapshot()
    response = await client.post(
        PHASE_API,
        content=b'{"phase": "tallying"',
        headers={"x-csrftoken": token, "content-type": "application/json"},
    )
    assert_error_json(response, 400, "invalid")
    assert await snapshot() == before


@pytest.mark.parametrize(
    "body",
    [{"phase": 5}, {"phase": None}, {"phase": ["tallying"]}, {}, ["tallying"], "tallying"],
    ids=["number", "null", "list", "missing", "array-body", "string-body"],
)
async def test_wrong_field_types_are_400_invalid(client, campaign, body) -> None:
    token = await admin(client)
    before = await snapshot()
    response = await client.post(PHASE_API, json=body, headers={"x-csrftoken": token})
    assert_error_json(response, 400, "invalid")
    assert await snapshot() == before
    assert (await Campaign.objects().get(Campaign.id == campaign.id).run()).phase == "voting"


async def test_a_valid_body_does_move_the_phase(client, campaign) -> None:
    """The control for the two tests above: the same call with a good body works."""
    token = await admin(client)
    response = await client.post(
        PHASE_API, json={"phase": "tallying"}, headers={"x-csrftoken": token}
    )
    assert response.status_code == 200
    assert response.json() == {"slug": DEMO_SLUG, "phase": "tallying"}


async def test_a_phase_move_the_rules_refuse_is_409_and_an_unknown_campaign_404(
    client, campaign
) -> None:
    """The services' refusals reach the staff API through the one mapping."""
    token = await admin(client)
    before = await snapshot()
    response = await client.post(
        PHASE_API, json={"phase": "voting"}, headers={"x-csrftoken": token}
    )
    body = assert_error_json(response, 409, "phase_refused")
    assert body == {"error": "phase_refused", "message": "活动已处于「网络投票」阶段。"}
    response = await client.post(
        "/api/staff/campaigns/nope/phase",
        json={"phase": "tallying"},
        headers={"x-csrftoken": token},
    )
    assert assert_error_json(response, 404, "not_found")["message"] == "找不到该评选活动。"
    assert await snapshot() == before


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", None],
    ids=["text", "form", "none"],
)
async def test_a_body_of_another_media_type_is_415_invalid(
    client, campaign, content_type: str | None
) -> None:
    """The staff JSON API, like the public one, takes only application/json."""
    token = await admin(client)
    before = await snapshot()
    headers = {"x-csrftoken": token, **({"content-type": content_type} if content_type else {})}
    response = await client.post(PHASE_API, content=b'{"phase": "tallying"}', headers=headers)
    assert response.request.headers.get("content-type") == content_type
    assert_error_json(response, 415, "invalid")
    assert await snapshot() == before


async def test_deeply_nested_json_is_400_invalid_not_a_crash(client, campaign, caplog) -> None:
    """A thousand nested arrays (2 KB) would exhaust the decoder's recursion: 400 invalid,
    nothing changed, no error logged."""
    token = await admin(client)
    before = await snapshot()
    body = b'{"phase": "tallying", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    with caplog.at_level(logging.WARNING):
        response = await client.post(
            PHASE_API,
            content=body,
            headers={"x-csrftoken": token, "content-type": "application/json"},
        )
    assert_error_json(response, 400, "invalid")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert await snapshot() == before


@pytest.mark.parametrize(
    ("body", "too_deep"),
    [
        (b"[" * 32 + b"]" * 32, False),
        (b"[" * 33 + b"]" * 33, True),
        (b"[" + b",".join([b'{"a": []}'] * 1000) + b"]", False),  # many, not deep
        (b'["' + b"[" * 100 + b'"]', False),  # inside a string
        (b'["\\"' + b"{" * 100 + b'"]', False),  # after an escaped quote: still inside
        (b'["\\\\", ' + b"[" * 40 + b"]" * 40 + b"]", True),  # the string ended
        (b'["\\\\\\"' + b"[" * 100 + b'"]', False),  # escaped backslash, escaped quote
    ],
    ids=["32", "33", "wide", "string", "escaped-quote", "escaped-backslash", "both"],
)
def test_nesting_is_measured_outside_strings(body: bytes, too_deep: bool) -> None:
    assert nested_too_deep(body) is too_deep


# --- oversized bodies -------------------------------------------------------------------


async def test_oversized_form_is_413(client, campaign) -> None:
    await admin(client)
    before = await snapshot()
    response = await post_form(
        client, EDIT_PAGE, {"title": "大" * (ONE_MIB // 3 + 10), "description": "x" * 64}
    )
    assert len(response.request.content) > ONE_MIB
    assert_error_page(response, 413, "内容过大", "提交的内容过大")
    assert await snapshot() == before


async def test_oversized_json_is_413_too_large(client, campaign) -> None:
    token = await admin(client)
    before = await snapshot()
    body = b'{"phase": "tallying", "padding": "' + b"x" * ONE_MIB + b'"}'
    response = await client.post(
        PHASE_API, content=body, headers={"x-csrftoken": token, "content-type": "application/json"}
    )
    assert_error_json(response, 413, "too_large")
    assert await snapshot() == before


async def test_body_just_under_the_limit_is_read(client, campaign) -> None:
    """The limit is 1 MiB, not less: a large-but-allowed body reaches the handler."""
    token = await admin(client)
    body = b'{"phase": "tallying", "padding": "' + b"x" * (ONE_MIB - 100) + b'"}'
    response = await client.post(
        PHASE_API, content=body, headers={"x-csrftoken": token, "content-type": "application/json"}
    )
    assert response.status_code == 200, response.text[:300]


# --- CSRF -------------------------------------------------------------------------------


async def test_form_post_without_csrf_token_is_refused(client, campaign) -> None:
    await admin(client)
    before = await snapshot()
    response = await client.post(EDIT_PAGE, data={"title": "没有令牌的修改"})
    assert_error_page(response, 403, "页面已过期")
    response = await client.post(EDIT_PAGE, data={"_csrf_token": "forged", "title": "伪造令牌"})
    assert_error_page(response, 403, "页面已过期")
    response = await client.post(f"/staff/campaigns/{DEMO_SLUG}/phase", data={"phase": "tallying"})
    assert_error_page(response, 403, "页面已过期")
    assert await snapshot() == before


async def test_json_api_without_csrf_header_is_refused(client, campaign) -> None:
    await admin(client)
    before = await snapshot()
    response = await client.post(PHASE_API, json={"phase": "tallying"})
    body = assert_error_json(response, 403, "csrf_failed")
    assert "页面已过期" in body["message"]
    response = await client.post(
        PHASE_API, json={"phase": "tallying"}, headers={"x-csrftoken": "forged"}
    )
    assert_error_json(response, 403, "csrf_failed")
    assert await snapshot() == before


# --- refusals by the rules (DomainError) ------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status", "code", "title", "retry_after"),
    [
        (NotFound("找不到该对象。"), 404, "not_found", "页面不存在", None),
        (Invalid("请检查填写。", {"title": "请填写名称。"}), 400, "invalid", "请求有误", None),
        (Invalid("验证码错误。", code="captcha_invalid"), 400, "captcha_invalid", "请求有误", None),
        (
            Refused("当前不在投票时间内。", code="voting_closed"),
            403,
            "voting_closed",
            "无权访问",
            None,
        ),
        (
            Conflict("今天已经投过票了。", code="already_voted"),
            409,
            "already_voted",
            "出错了",
            None,
        ),
        (RateLimited("请稍后再试。", retry_after=42), 429, "rate_limited", "请求过于频繁", "42"),
        (Unavailable("请稍后重试。"), 503, "unavailable", "服务暂时不可用", "1"),
        (Unavailable("请稍后重试。", retry_after=7), 503, "unavailable", "服务暂时不可用", "7"),
    ],
    ids=["not-found", "invalid", "captcha", "refused", "conflict", "rate", "unavail", "unavail-7"],
)
async def test_each_kind_of_refusal_has_one_answer(
    client, app, error: DomainError, status: int, code: str, title: str, retry_after: str | None
) -> None:
    """A service's refusal is answered by its kind alone: the contract's JSON on an API
    path, the friendly page elsewhere, Retry-After where it says when to come back."""

    @get("/refused", sync_to_thread=False)
    def page() -> str:
        raise error

    @get("/api/v1/refused", sync_to_thread=False)
    def api() -> dict:
        raise error

    app.register(page)
    app.register(api)
    response = await client.get("/api/v1/refused")
    body = assert_error_json(response, status, code)
    assert body == {"error": code, "message": error.message}
    assert response.headers.get("retry-after") == retry_after
    response = await client.get("/refused")
    assert_error_page(response, status, title, error.message)
    assert response.headers.get("retry-after") == retry_after
    # The page says how long to wait, as the header does (in seconds, minutes, hours).
    if retry_after:
        assert f"请等待约 <strong>{retry_after} 秒</strong> 后再试" in response.text
    else:
        assert "请等待约" not in response.text


def test_a_wait_is_said_as_people_say_it() -> None:
    assert [wait_words(s) for s in (1, 59, 60, 61, 3599, 3600, 26_000)] == [
        "1 秒",
        "59 秒",
        "1 分钟",
        "2 分钟",
        "1 小时",
        "1 小时",
        "7 小时 14 分钟",
    ]


# --- unexpected exceptions --------------------------------------------------------------


async def test_unexpected_exception_renders_friendly_500(client, app, caplog) -> None:
    @get("/boom", sync_to_thread=False)
    def boom() -> str:
        raise RuntimeError("secret-detail of the failure")

    @get("/api/v1/boom", sync_to_thread=False)
    def api_boom() -> dict:
        raise RuntimeError("secret-detail of the failure")

    app.register(boom)
    app.register(api_boom)
    with caplog.at_level(logging.ERROR, logger="portal"):
        page = await client.get("/boom")
        api = await client.get("/api/v1/boom")
    assert_error_page(page, 500, "服务器错误", "服务器出现错误")
    body = assert_error_json(api, 500, "internal")
    assert set(body) == {"error", "message"}
    # Not shown, but recorded for the operators.
    assert any("secret-detail" in (r.exc_text or str(r.exc_info)) for r in caplog.records)


async def test_a_client_leaving_mid_body_is_no_error(client, app, caplog) -> None:
    """A page left while its fetch was sending (the editor's preview): nobody to
    answer, nothing logged as a failure."""

    @post("/api/v1/gone", status_code=200)
    async def gone(request: Request) -> str:
        return str(len(await request.body()))

    app.register(gone)
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/gone",
        "raw_path": b"/api/v1/gone",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-length", b"10")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }
    with caplog.at_level(logging.INFO, logger="portal"):
        await app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("client left" in r.getMessage() for r in caplog.records)


async def test_failing_service_inside_a_staff_call_is_500(client, campaign, monkeypatch) -> None:
    import portal.campaigns
    import portal.phases

    async def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("secret-detail: service exploded")

    token = await admin(client)
    monkeypatch.setattr(portal.phases, "move_phase", broken)
    monkeypatch.setattr(portal.campaigns, "list_campaigns", broken)
    before = await snapshot()
    response = await client.post(
        PHASE_API, json={"phase": "tallying"}, headers={"x-csrftoken": token}
    )
    assert_error_json(response, 500, "internal")
    page = await client.get("/staff/campaigns")
    assert_error_page(page, 500, "服务器出现错误")
    assert await snapshot() == before


# --- the shared store is down -----------------------------------------------------------


async def test_store_outage_is_503_on_the_staff_api(session_outage_client) -> None:
    client = session_outage_client
    token = await csrf_token(client)  # the login page needs no store
    # A signed-in staff member: their session lives in the store that is down.
    client.cookies.set("portal_session", "s" * 32, domain="testserver.local")
    before = await snapshot()
    response = await client.post(
        PHASE_API, json={"phase": "tallying"}, headers={"x-csrftoken": token}
    )
    body = assert_error_json(response, 503, "unavailable")
    assert set(body) == {"error", "message"}
    assert "未被记录" in body["message"]
    assert int(response.headers["retry-after"]) > 0
    page = await client.get("/staff")
    assert_error_page(page, 503, "服务暂时不可用")
    assert int(page.headers["retry-after"]) > 0
    assert await snapshot() == before


async def test_store_outage_leaves_public_pages_up(session_outage_client) -> None:
    client = session_outage_client
    for url in ("/", f"/campaigns/{DEMO_SLUG}", "/login"):
        response = await client.get(url)
        assert response.status_code == 200, url
        assert "服务暂时不可用" not in response.text
    listing = await client.get("/api/v1/campaigns")
    assert [c["slug"] for c in listing.json()] == [DEMO_SLUG]
    detail = await client.get(f"/api/v1/campaigns/{DEMO_SLUG}")
    assert detail.status_code == 200
    assert detail.json()["visits"] == 0


async def test_redis_outage_at_login_is_503_not_a_crash(outage_client) -> None:
    """Redis down for everything (sessions and login limits): a friendly 503, no session."""
    client = outage_client
    assert (await client.get(f"/campaigns/{DEMO_SLUG}")).status_code == 200
    before = await snapshot()
    response = await post_form(client, "/login", {"username": "admin", "password": PASSWORD})
    assert_error_page(response, 503, "服务暂时不可用", "未被记录")
    assert int(response.headers["retry-after"]) > 0
    assert "portal_session" not in response.headers.get("set-cookie", "")
    assert await snapshot() == before


# --- security headers -------------------------------------------------------------------


def assert_security_headers(response: httpx.Response) -> None:
    headers = response.headers
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("referrer-policy") in {
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    }
    csp = headers.get("content-security-policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    scripts = directives.get("script-src", directives.get("default-src"))
    assert scripts, f"no script policy in {csp!r}"
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert "*" not in scripts
    assert directives.get("frame-ancestors") == ["'none'"]
    assert directives.get("object-src") == ["'none'"]


@pytest.mark.parametrize(
    "url",
    ["/", f"/campaigns/{DEMO_SLUG}", "/login", "/api/v1/campaigns", "/campaigns/nope", "/no/such"],
)
async def test_security_headers_on_pages(client, campaign, url: str) -> None:
    response = await client.get(url)
    assert_security_headers(response)


async def test_security_headers_on_staff_and_error_pages(client, app, campaign) -> None:
    @get("/boom-page", sync_to_thread=False)
    def boom() -> str:
        raise RuntimeError("secret-detail")

    app.register(boom)
    await admin(client)
    for url in ("/staff", "/staff/audit", "/boom-page"):
        assert_security_headers(await client.get(url))
    assert_security_headers(await client.get("/logout"))  # 405
    response = await client.post(EDIT_PAGE, data={"title": "x"})  # 403 CSRF
    assert_security_headers(response)


async def test_pages_run_no_inline_script(client, campaign) -> None:
    """The CSP forbids inline script; the pages must not rely on any."""
    for url in ("/", f"/campaigns/{DEMO_SLUG}", "/login"):
        html = (await client.get(url)).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"\son[a-z]+\s*=", html), url


async def test_security_headers_on_the_outage_page(session_outage_client) -> None:
    client = session_outage_client
    client.cookies.set("portal_session", "s" * 32, domain="testserver.local")
    response = await client.get("/staff")
    assert response.status_code == 503
    assert_security_headers(response)
