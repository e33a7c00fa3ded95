"""Who may do what: every route the app registers × every role, from one explicit table.

The table below is the access policy written out by hand. ``test_every_route_is_in_the_table``
compares it with the routes the app really registers, so a new route cannot ship without
someone deciding, here, who may use it. Each cell is then requested for real (seeded
campaign, real path values, a valid CSRF token on unsafe requests so that any refusal
comes from the role check) and checked against the table.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.seed import DEMO_SLUG, ensure_demo_campaign
from portal.tables import AuditEntry, Campaign, Category, Phase, Staff
from portal.templating import form_time
from tests.helpers import csrf_token, login

ROLES = ("anonymous", "city_admin", "county_clerk", "reviewer", "auditor")
CATEGORY_KEY = "judicial-office"
PATH_VALUES = {"slug": DEMO_SLUG, "key": CATEGORY_KEY, "username": "reviewer"}

Y, N = True, False

# fmt: off
ACCESS: dict[tuple[str, str], tuple[bool, bool, bool, bool, bool]] = {
    # (method, path as registered)                                        anonymous
    #                                                                     |  city_admin
    #                                                                     |  |  county_clerk
    #                                                                     |  |  |  reviewer
    #                                                                     |  |  |  |  auditor
    ("GET",  "/"):                                                       (Y, Y, Y, Y, Y),
    ("GET",  "/campaigns/{slug:str}"):                                   (Y, Y, Y, Y, Y),
    ("GET",  "/api/v1/campaigns"):                                       (Y, Y, Y, Y, Y),
    ("GET",  "/api/v1/campaigns/{slug:str}"):                            (Y, Y, Y, Y, Y),
    ("GET",  "/login"):                                                  (Y, Y, Y, Y, Y),
    ("POST", "/login"):                                                  (Y, Y, Y, Y, Y),
    ("POST", "/logout"):                                                 (Y, Y, Y, Y, Y),
    ("GET",  "/staff"):                                                  (N, Y, Y, Y, Y),
    ("GET",  "/staff/campaigns"):                                        (N, Y, N, N, Y),
    ("GET",  "/staff/campaigns/new"):                                    (N, Y, N, N, N),
    ("POST", "/staff/campaigns/new"):                                    (N, Y, N, N, N),
    ("GET",  "/staff/campaigns/{slug:str}"):                             (N, Y, N, N, Y),
    ("GET",  "/staff/campaigns/{slug:str}/edit"):                        (N, Y, N, N, N),
    ("POST", "/staff/campaigns/{slug:str}/edit"):                        (N, Y, N, N, N),
    ("POST", "/staff/campaigns/{slug:str}/phase"):                       (N, Y, N, N, N),
    ("GET",  "/staff/campaigns/{slug:str}/categories/new"):              (N, Y, N, N, N),
    ("POST", "/staff/campaigns/{slug:str}/categories/new"):              (N, Y, N, N, N),
    ("GET",  "/staff/campaigns/{slug:str}/categories/{key:str}/edit"):   (N, Y, N, N, N),
    ("POST", "/staff/campaigns/{slug:str}/categories/{key:str}/edit"):   (N, Y, N, N, N),
    ("POST", "/staff/campaigns/{slug:str}/categories/{key:str}/delete"): (N, Y, N, N, N),
    ("POST", "/api/staff/campaigns/{slug:str}/phase"):                   (N, Y, N, N, N),
    ("GET",  "/staff/accounts"):                                         (N, Y, N, N, Y),
    ("GET",  "/staff/accounts/new"):                                     (N, Y, N, N, N),
    ("POST", "/staff/accounts/new"):                                     (N, Y, N, N, N),
    ("POST", "/staff/accounts/{username:str}/active"):                   (N, Y, N, N, N),
    ("GET",  "/staff/audit"):                                            (N, Y, N, N, Y),
}
# fmt: on

ROLE_REFUSED = "您的角色无权执行此操作"
STAFF_PREFIXES = ("/staff", "/api/staff/")
UNSAFE_STAFF_ROUTES = [
    (method, path) for method, path in ACCESS if method != "GET" and path.startswith(STAFF_PREFIXES)
]


def registered_routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(method, path) of every handler the app serves, bar static files and the API docs."""
    found = set()
    for route in app.routes:
        if route.path == "/static" or route.path.startswith(("/static/", "/schema")):
            continue
        for handler in route.route_handlers:
            # Litestar answers OPTIONS on every path by itself (an empty 204 with Allow).
            if handler.fn.__qualname__.startswith("HTTPRoute.create_options_handler"):
                continue
            for method in handler.http_methods:
                found.add((method, route.path))
    return found


def concrete(path: str) -> str:
    """The registered path with real values for its parameters."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        assert name in PATH_VALUES, f"no test value for path parameter {name!r} in {path}"
        return PATH_VALUES[name]

    return re.sub(r"\{(\w+)(?::\w+)?\}", value, path)


def allowed(method: str, path: str, role: str) -> bool:
    return ACCESS[(method, path)][ROLES.index(role)]


async def campaign_form(title: str) -> dict[str, str]:
    """The seeded campaign's edit form as the page fills it, with a new title."""
    campaign = await Campaign.objects().where(Campaign.slug == DEMO_SLUG).first().run()
    form = {
        "slug": campaign.slug,
        "title": title,
        "year": str(campaign.year),
        "description": campaign.description,
        "timezone": campaign.timezone,
        "notice_days": str(campaign.notice_days),
    }
    for name in (
        "nominating_opens_at",
        "nominating_closes_at",
        "reviewing_opens_at",
        "reviewing_closes_at",
        "voting_opens_at",
        "voting_closes_at",
    ):
        form[name] = form_time(getattr(campaign, name), campaign.timezone)
    return form


async def next_phase() -> str:
    from portal.campaigns import next_phase as following

    campaign = await Campaign.objects().where(Campaign.slug == DEMO_SLUG).first().run()
    return str(following(campaign.phase))


async def payload(method: str, path: str) -> dict:
    """A request body that would change something if the role check let it through."""
    category = {
        "title": "“枫桥式”司法所（修订）",
        "kind": "judicial_office",
        "quota": "9",
        "county_cap": "2",
        "votes_per_day": "3",
    }
    forms = {
        "/login": {"username": "", "password": ""},
        "/staff/campaigns/new": {
            "slug": "dingxi-2024",
            "title": "2024年度定西市评选",
            "year": "2024",
            "timezone": "Asia/Shanghai",
            "notice_days": "7",
        },
        "/staff/campaigns/{slug:str}/edit": await campaign_form("被改过的活动名称"),
        "/staff/campaigns/{slug:str}/phase": {"phase": await next_phase()},
        "/staff/campaigns/{slug:str}/categories/new": {**category, "key": "new-category"},
        "/staff/campaigns/{slug:str}/categories/{key:str}/edit": {**category, "key": CATEGORY_KEY},
        "/api/staff/campaigns/{slug:str}/phase": {"phase": await next_phase()},
        "/staff/accounts/new": {
            "username": "new-clerk",
            "display_name": "新经办人",
            "role": "county_clerk",
            "bureau": "漳县司法局",
            "password": "a-new-password",
            "password2": "a-new-password",
        },
        "/staff/accounts/{username:str}/active": {"active": "0"},
    }
    return forms.get(path, {})


async def request(client, method: str, path: str):  # type: ignore[no-untyped-def]
    """Send the cell's request; unsafe ones carry a valid CSRF token (form field or header)."""
    url = concrete(path)
    if method == "GET":
        return await client.get(url)
    token = await csrf_token(client)
    body = await payload(method, path)
    if path.startswith("/api/"):
        return await client.request(method, url, json=body, headers={"x-csrftoken": token})
    return await client.request(method, url, data={"_csrf_token": token, **body})


async def snapshot() -> tuple:
    """Everything a staff request could change: campaigns, categories, the audit log."""
    return (
        await Campaign.select().order_by(Campaign.id).run(),
        await Category.select().order_by(Category.id).run(),
        await AuditEntry.select().order_by(AuditEntry.id).run(),
        await Staff.select(Staff.username, Staff.active).order_by(Staff.id).run(),
    )


def assert_refused_to_anonymous(response, url: str) -> None:  # type: ignore[no-untyped-def]
    if url.startswith("/api/"):
        assert response.status_code == 401, response.text[:300]
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert set(body) == {"error", "message"}
        assert body["error"] == "unauthorized"
        assert "登录" in body["message"]
    else:
        assert response.status_code in (302, 303), response.text[:300]
        target = urlsplit(response.headers["location"])
        assert target.path == "/login"
        assert parse_qs(target.query)["next"] == [url]


def assert_refused_to_role(response, url: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 403, response.text[:300]
    if url.startswith("/api/"):
        body = response.json()
        assert body["error"] == "forbidden"
        assert ROLE_REFUSED in body["message"]
    else:
        assert response.headers["content-type"].startswith("text/html")
        assert ROLE_REFUSED in response.text
    assert "Traceback" not in response.text


@pytest.fixture
async def campaign(staff: dict[str, str]) -> Campaign:
    return await ensure_demo_campaign()


@pytest.fixture
async def draft_campaign(campaign: Campaign) -> Campaign:
    """The seeded campaign back in preparation, where every staff change is possible.

    (In its seeded voting phase, categories can no longer be added or deleted.)
    """
    await (
        Campaign.update({Campaign.phase: Phase.draft.value}).where(Campaign.id == campaign.id).run()
    )
    return campaign


async def sign_in(client, staff: dict[str, str], role: str) -> None:  # type: ignore[no-untyped-def]
    if role != "anonymous":
        await login(client, staff[role])


# --- the table matches the app ---------------------------------------------------------


async def test_every_route_is_in_the_table(app) -> None:
    registered = registered_routes(app)
    missing = registered - ACCESS.keys()
    assert not missing, f"routes without an access decision in ACCESS: {sorted(missing)}"
    stale = ACCESS.keys() - registered
    assert not stale, f"ACCESS lists routes the app does not serve: {sorted(stale)}"


async def test_the_route_enumeration_sees_new_routes(app) -> None:
    """The completeness check above is only as good as the enumeration: prove it notices."""
    from litestar import get, post

    @get("/staff/reports", sync_to_thread=False)
    def reports() -> str:
        return "reports"

    @post("/api/staff/reports", sync_to_thread=False)
    def make_report() -> str:
        return "made"

    app.register(reports)
    app.register(make_report)
    missing = registered_routes(app) - ACCESS.keys()
    assert missing == {("GET", "/staff/reports"), ("POST", "/api/staff/reports")}


def test_staff_routes_are_closed_to_anonymous_in_the_table() -> None:
    for (method, path), row in ACCESS.items():
        if path.startswith(STAFF_PREFIXES):
            assert row[0] is N, f"{method} {path} is a staff route open to the public"


# --- every cell -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path"), list(ACCESS))
async def test_access_matrix(client, staff, campaign, method: str, path: str, role: str) -> None:
    await sign_in(client, staff, role)
    url = concrete(path)
    before = await snapshot()
    response = await request(client, method, path)
    if allowed(method, path, role):
        assert response.status_code not in (401, 403), (method, url, role, response.text[:300])
        assert response.status_code < 500, response.text[:300]
        if role == "anonymous" and response.is_redirect:
            assert not response.headers["location"].startswith("/login?")
        return
    if role == "anonymous":
        assert_refused_to_anonymous(response, url)
    else:
        assert_refused_to_role(response, url)
    assert await snapshot() == before, f"refused {method} {url} as {role} changed data"


# --- the unsafe requests above are real changes -------------------------------------------


@pytest.mark.parametrize(("method", "path"), UNSAFE_STAFF_ROUTES)
async def test_city_admin_requests_take_effect(
    client, staff, draft_campaign, method: str, path: str
) -> None:
    """The bodies the refused roles send are not no-ops: for a city admin they change data."""
    await login(client, staff["city_admin"])
    before = await snapshot()
    response = await request(client, method, path)
    assert response.status_code in (200, 302, 303), response.text[:300]
    after = await snapshot()
    changed = (after[0], after[1], after[3]) != (before[0], before[1], before[3])
    assert changed, f"{method} {path} changed nothing for a city admin"
    assert len(after[2]) == len(before[2]) + 1  # and the change is in the audit log


@pytest.mark.parametrize("role", ["county_clerk", "reviewer", "auditor"])
@pytest.mark.parametrize(("method", "path"), UNSAFE_STAFF_ROUTES)
async def test_other_roles_change_nothing(
    client, staff, draft_campaign, method: str, path: str, role: str
) -> None:
    """In the state where the city admin's request takes effect, theirs is refused."""
    await login(client, staff[role])
    before = await snapshot()
    response = await request(client, method, path)
    assert_refused_to_role(response, concrete(path))
    assert await snapshot() == before


# --- the cases people ask about ---------------------------------------------------------


async def test_county_clerk_cannot_edit_a_campaign(client, staff, campaign) -> None:
    await login(client, staff["county_clerk"])
    page = await client.get(f"/staff/campaigns/{DEMO_SLUG}/edit")
    assert_refused_to_role(page, f"/staff/campaigns/{DEMO_SLUG}/edit")
    form = await campaign_form("县区改的名称")
    response = await client.post(
        f"/staff/campaigns/{DEMO_SLUG}/edit",
        data={"_csrf_token": await csrf_token(client), **form},
    )
    assert_refused_to_role(response, f"/staff/campaigns/{DEMO_SLUG}/edit")
    stored = await Campaign.objects().where(Campaign.slug == DEMO_SLUG).first().run()
    assert stored.title == campaign.title
    assert stored.updated_at == campaign.updated_at
    response = await client.post(
        f"/api/staff/campaigns/{DEMO_SLUG}/phase",
        json={"phase": "tallying"},
        headers={"x-csrftoken": await csrf_token(client)},
    )
    assert_refused_to_role(response, f"/api/staff/campaigns/{DEMO_SLUG}/phase")
    stored = await Campaign.objects().where(Campaign.slug == DEMO_SLUG).first().run()
    assert stored.phase == Phase.voting.value
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action).run()]
    assert actions == ["staff.login"]


async def test_reviewer_cannot_read_the_audit_log(client, staff, campaign) -> None:
    await login(client, staff["city_admin"])
    await client.post("/logout", data={"_csrf_token": await csrf_token(client)})
    await login(client, staff["reviewer"])
    response = await client.get("/staff/audit")
    assert_refused_to_role(response, "/staff/audit")
    assert "操作日志" not in response.text
    assert staff["city_admin"] not in response.text
    response = await client.get("/staff/audit?actor=admin&page=1")
    assert response.status_code == 403


async def test_auditor_reads_campaigns_and_the_audit_log(client, staff, campaign) -> None:
    await login(client, staff["auditor"])
    listing = await client.get("/staff/campaigns")
    assert listing.status_code == 200
    assert campaign.title in listing.text
    detail = await client.get(f"/staff/campaigns/{DEMO_SLUG}")
    assert detail.status_code == 200
    assert "“枫桥式”司法所" in detail.text
    log = await client.get("/staff/audit")
    assert log.status_code == 200
    assert "操作日志" in log.text
    assert "staff.login" in log.text and staff["auditor"] in log.text


async def test_auditor_every_post_is_refused(client, app, staff, draft_campaign) -> None:
    await login(client, staff["auditor"])
    posts = sorted(
        (method, path)
        for method, path in registered_routes(app)
        if method == "POST" and path.startswith(STAFF_PREFIXES)
    )
    assert len(posts) >= 7
    before = await snapshot()
    for method, path in posts:
        response = await request(client, method, path)
        assert_refused_to_role(response, concrete(path))
    assert await snapshot() == before
    # Still signed in: the refusals did not end the session.
    assert (await client.get("/staff/audit")).status_code == 200


async def test_public_cannot_reach_any_staff_page(client, app, staff, campaign) -> None:
    staff_routes = sorted(
        (method, path) for method, path in registered_routes(app) if path.startswith(STAFF_PREFIXES)
    )
    assert ("GET", "/staff") in staff_routes and ("GET", "/staff/audit") in staff_routes
    before = await snapshot()
    for method, path in staff_routes:
        response = await request(client, method, path)
        assert_refused_to_anonymous(response, concrete(path))
        assert campaign.title not in response.text
    assert await snapshot() == before
