"""The public JSON API, checked against its contract (shared/docs/public-api.md).

Paths, field names, status codes and error shapes are fixed; the generated OpenAPI
schema must describe the endpoints as they answer.
"""

from __future__ import annotations

import datetime as dt

import pytest

from portal import visits
from portal.demo import DEMO_CATEGORIES, DEMO_SLUG, ensure_demo_campaign
from portal.tables import Campaign, Category, Phase

SUMMARY_FIELDS = {"slug", "title", "year", "phase"}
DETAIL_FIELDS = {
    "slug",
    "title",
    "year",
    "phase",
    "timezone",
    "voting_opens_at",
    "voting_closes_at",
    "visits",
    "organiser",
    "level",
    "categories",
}
CATEGORY_FIELDS = {"key", "title", "kind", "quota", "votes_per_day"}
PHASES = [
    "draft",
    "nominating",
    "vetting",
    "reviewing",
    "voting",
    "tallying",
    "notice",
    "published",
]
KINDS = ["judicial_office", "mediation_committee", "mediator"]
UTC = dt.UTC


@pytest.fixture
async def campaign(db) -> Campaign:  # type: ignore[no-untyped-def]
    return await ensure_demo_campaign()


async def add_campaign(slug: str, year: int, phase: Phase, **fields) -> Campaign:  # type: ignore[no-untyped-def]
    campaign = Campaign(slug=slug, title=f"{year}年度评选（{slug}）", year=year, phase=phase.value)
    for name, value in fields.items():
        setattr(campaign, name, value)
    await campaign.save().run()
    return campaign


# --- GET /api/v1/campaigns --------------------------------------------------------------


async def test_list_has_the_contract_fields_and_no_drafts(client, campaign) -> None:
    await add_campaign("dingxi-2025", 2025, Phase.draft)
    await add_campaign("dingxi-2024", 2024, Phase.nominating)
    await add_campaign("dingxi-2022", 2022, Phase.published)
    response = await client.get("/api/v1/campaigns")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, list)
    for item in body:
        assert set(item) == SUMMARY_FIELDS
        assert isinstance(item["year"], int)
        assert item["phase"] in PHASES
    assert [(c["slug"], c["year"], c["phase"]) for c in body] == [
        ("dingxi-2024", 2024, "nominating"),
        (DEMO_SLUG, 2023, "voting"),
        ("dingxi-2022", 2022, "published"),
    ]
    assert body[1]["title"] == campaign.title
    assert all(c["phase"] != "draft" for c in body)


async def test_list_is_empty_while_everything_is_a_draft(client, db) -> None:
    await add_campaign("dingxi-2025", 2025, Phase.draft)
    response = await client.get("/api/v1/campaigns")
    assert response.status_code == 200
    assert response.json() == []


# --- GET /api/v1/campaigns/{slug} ------------------------------------------------------


async def test_detail_has_exactly_the_contract_fields(client, campaign) -> None:
    response = await client.get(f"/api/v1/campaigns/{DEMO_SLUG}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == DETAIL_FIELDS
    assert body["slug"] == DEMO_SLUG
    assert body["title"] == campaign.title
    assert body["year"] == 2023 and isinstance(body["year"], int)
    assert body["phase"] == "voting"
    assert body["timezone"] == "Asia/Shanghai"
    assert type(body["visits"]) is int and body["visits"] == 0
    # The demo campaign is the city's: its counties nominate.
    assert (body["organiser"], body["level"]) == ("定西市司法局", "city")


async def test_detail_categories(client, campaign) -> None:
    body = (await client.get(f"/api/v1/campaigns/{DEMO_SLUG}")).json()
    for category in body["categories"]:
        assert set(category) == CATEGORY_FIELDS
        assert category["kind"] in KINDS
    assert body["categories"] == [
        {
            "key": key,
            "title": title,
            "kind": kind.value,
            "quota": quota,
            "votes_per_day": per_day,
        }
        for key, title, kind, quota, _cap, per_day in DEMO_CATEGORIES
    ]


async def test_detail_categories_follow_their_position(client, campaign) -> None:
    await Category.update({Category.position: 10}).where(Category.key == "judicial-office").run()
    body = (await client.get(f"/api/v1/campaigns/{DEMO_SLUG}")).json()
    assert [c["key"] for c in body["categories"]] == [
        "mediation-committee",
        "mediator",
        "judicial-office",
    ]


async def test_detail_times_are_iso_8601_in_the_campaign_zone(client, campaign) -> None:
    body = (await client.get(f"/api/v1/campaigns/{DEMO_SLUG}")).json()
    for name in ("voting_opens_at", "voting_closes_at"):
        text = body[name]
        assert isinstance(text, str)
        assert text.endswith("+08:00"), text
        parsed = dt.datetime.fromisoformat(text)
        assert parsed.utcoffset() == dt.timedelta(hours=8)
        assert parsed == getattr(campaign, name)
    assert dt.datetime.fromisoformat(body["voting_opens_at"]).hour == 9  # 09:00 Beijing time
    assert dt.datetime.fromisoformat(body["voting_closes_at"]).hour == 18


async def test_detail_times_use_the_campaigns_own_zone(client, db) -> None:
    opens = dt.datetime(2024, 6, 1, 3, 15, tzinfo=UTC)
    await add_campaign(
        "kathmandu-2024",
        2024,
        Phase.voting,
        timezone="Asia/Kathmandu",
        voting_opens_at=opens,
        voting_closes_at=opens + dt.timedelta(days=10),
    )
    body = (await client.get("/api/v1/campaigns/kathmandu-2024")).json()
    assert body["timezone"] == "Asia/Kathmandu"
    assert body["voting_opens_at"] == "2024-06-01T09:00:00+05:45"
    assert body["voting_closes_at"] == "2024-06-11T09:00:00+05:45"
    assert body["categories"] == []


async def test_detail_times_are_null_until_set(client, db) -> None:
    await add_campaign("dingxi-2024", 2024, Phase.nominating)
    body = (await client.get("/api/v1/campaigns/dingxi-2024")).json()
    assert body["voting_opens_at"] is None
    assert body["voting_closes_at"] is None


async def test_detail_visits_count_public_page_views(client, app, campaign) -> None:
    for _ in range(3):
        assert (await client.get(f"/campaigns/{DEMO_SLUG}")).status_code == 200
    for _ in range(2):
        await client.get(f"/api/v1/campaigns/{DEMO_SLUG}")
    assert (await client.get(f"/api/v1/campaigns/{DEMO_SLUG}")).json()["visits"] == 3
    # Moved from the store into the database, the total stays the same.
    assert await visits.flush(app.state.stores.state) == 3
    await client.get(f"/campaigns/{DEMO_SLUG}")
    assert (await client.get(f"/api/v1/campaigns/{DEMO_SLUG}")).json()["visits"] == 4


async def test_draft_and_unknown_campaigns_are_404(client, db) -> None:
    await add_campaign("dingxi-2025", 2025, Phase.draft)
    for slug in ("dingxi-2025", "nope"):
        response = await client.get(f"/api/v1/campaigns/{slug}")
        assert response.status_code == 404
        body = response.json()
        assert set(body) == {"error", "message"}
        assert body["error"] == "not_found"
        assert "找不到" in body["message"]


# --- the OpenAPI schema -----------------------------------------------------------------


@pytest.fixture
async def openapi(client) -> dict:  # type: ignore[no-untyped-def]
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert "json" in response.headers["content-type"]  # application/vnd.oai.openapi+json
    return response.json()


def resolve(schema: dict, document: dict) -> dict:
    """Follow a local ``$ref`` (and unwrap a nullable ``oneOf``) to the schema it names."""
    while "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/"), ref
        node = document
        for part in ref[2:].split("/"):
            node = node[part]
        schema = node
    return schema


def response_schema(document: dict, path: str, status: str) -> dict:
    operation = document["paths"][path]["get"]
    assert status in operation["responses"], f"{path} does not document {status}"
    content = operation["responses"][status]["content"]["application/json"]
    return resolve(content["schema"], document)


def object_fields(schema: dict, document: dict) -> dict:
    schema = resolve(schema, document)
    assert schema.get("type") == "object", schema
    return schema["properties"]


def types_of(schema: dict) -> set[str]:
    """The JSON types a property allows, through ``oneOf``/``anyOf`` and type lists."""
    options = schema.get("oneOf") or schema.get("anyOf") or [schema]
    found: set[str] = set()
    for option in options:
        value = option.get("type")
        found.update(value if isinstance(value, list) else [value] if value else [])
    return found


async def test_schema_page_answers(client) -> None:
    response = await client.get("/schema")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


async def test_openapi_documents_the_campaign_list(openapi) -> None:
    assert openapi["openapi"].startswith("3.")
    schema = response_schema(openapi, "/api/v1/campaigns", "200")
    assert schema["type"] == "array"
    item = resolve(schema["items"], openapi)
    assert set(item["properties"]) >= SUMMARY_FIELDS
    assert set(item["required"]) >= SUMMARY_FIELDS
    assert item["properties"]["year"]["type"] == "integer"
    assert item["properties"]["phase"]["enum"] == PHASES


async def test_openapi_documents_the_campaign_detail(openapi) -> None:
    operation = openapi["paths"]["/api/v1/campaigns/{slug}"]["get"]
    assert [(p["name"], p["in"], p["required"]) for p in operation["parameters"]] == [
        ("slug", "path", True)
    ]
    schema = response_schema(openapi, "/api/v1/campaigns/{slug}", "200")
    fields = object_fields(schema, openapi)
    assert set(fields) >= DETAIL_FIELDS
    assert set(schema["required"]) >= DETAIL_FIELDS
    assert fields["phase"]["enum"] == PHASES
    assert types_of(fields["visits"]) == {"integer"}
    for name in ("voting_opens_at", "voting_closes_at"):
        options = fields[name].get("oneOf") or [fields[name]]
        assert any(o.get("format") == "date-time" for o in options), fields[name]
        assert "null" in types_of(fields[name])
    assert types_of(fields["categories"]) == {"array"}
    category = resolve(fields["categories"]["items"], openapi)
    assert set(category["properties"]) >= CATEGORY_FIELDS
    assert set(category["required"]) >= CATEGORY_FIELDS
    assert category["properties"]["kind"]["enum"] == KINDS


async def test_openapi_documents_404_with_the_error_shape(openapi) -> None:
    schema = response_schema(openapi, "/api/v1/campaigns/{slug}", "404")
    fields = object_fields(schema, openapi)
    assert {"error", "message"} <= set(fields)
    assert {"error", "message"} <= set(schema["required"])
    assert types_of(fields["error"]) == {"string"}
    assert types_of(fields["message"]) == {"string"}


async def test_openapi_error_responses_all_have_the_contract_shape(openapi) -> None:
    """Every 4xx/5xx the schema documents for the public API is {"error", "message"}."""
    checked = 0
    for path, item in openapi["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) < 400:
                    continue
                schema = resolve(response["content"]["application/json"]["schema"], openapi)
                assert {"error", "message"} <= set(schema.get("required", [])), (
                    method,
                    path,
                    status,
                )
                checked += 1
    assert checked >= 1


async def test_openapi_leaves_out_pages(openapi) -> None:
    """Only the JSON API is documented; the HTML pages are not an API."""
    assert {"/api/v1/campaigns", "/api/v1/campaigns/{slug}"} <= set(openapi["paths"])
    assert all(path.startswith("/api/") for path in openapi["paths"])
