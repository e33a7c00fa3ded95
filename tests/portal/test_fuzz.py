"""The API against its own OpenAPI schema: schemathesis, in process, on the demo data.

The schema is the one the app serves at ``/schema/openapi.json``. schemathesis sends
every documented operation generated requests — its explicit examples, its coverage
cases (boundaries, missing and malformed parts) and ``MAX_EXAMPLES`` random ones per
generation mode, valid and invalid — to the app in process (ASGI, no server; the app's
lifespan runs, so the database pool, the ledger writer and the CAPTCHA pool are live).
The database holds the demo (`portal demo`): a campaign in voting and a published one;
their slugs and candidate ids are mixed into the generated ones, so paths and bodies hit
real objects as well as unknown ones. Every answer must pass every check: no 5xx, a
documented status code, the documented content type and headers, a body that matches
the documented schema. The run is seeded, so it is the same run each time.

``test_success_answers_conform_to_the_schema`` first walks the success paths the
generator cannot reach on its own (a live CAPTCHA, a counted vote, its receipt,
published results, the ledger) and checks those answers against the schema the same way.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi as schemathesis_asgi

from portal.app import create_app
from portal.settings import Settings
from tests.conftest import DemoTemplate
from voting.services import CAPTCHA_PER_MINUTE

SCHEMA_PATH = "/schema/openapi.json"
# Random examples per operation and generation mode (the coverage phase adds its own).
MAX_EXAMPLES = 25
SEED = 20231205
TEST_ANSWER = "fuzzword"
VOTING_SLUG = "dingxi-2023"  # the demo's campaign in voting
PUBLISHED_SLUG = "dingxi-2022"  # the demo's finished campaign: results and ledger public
POOL_WAIT_SECONDS = 120.0


def fuzz_settings(var_dir: Path) -> Settings:
    return Settings(
        database_url=os.environ["DATABASE_URL"],
        env="test",
        secret_key=os.environ["PORTAL_SECRET_KEY"],
        var_dir=var_dir,
        page_cache_seconds=0,
        # More than the generator asks for, so the fuzzing never finds the pool empty.
        captcha_pool_size=32,
        captcha_test_answer=TEST_ANSWER,
    )


def served_schema() -> dict[str, Any]:
    """``/schema/openapi.json`` as the app serves it (no lifespan: no database needed)."""
    app = create_app(fuzz_settings(Path(os.environ["PORTAL_VAR_DIR"])))
    response = TestClient(app).get(SCHEMA_PATH)
    assert response.status_code == 200, response.text
    return response.json()


api = schemathesis.openapi.from_dict(
    served_schema(),
    config=SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
            "operations": [
                {
                    # The contract answers a well-formed vote 400 when its candidate is
                    # unknown or its CAPTCHA wrong (`invalid`, `captcha_invalid`,
                    # `captcha_expired`): a schema-valid vote is not always accepted.
                    "include-operation-id": "castVote",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", 400, 403, 404, 409, 413, 429, 503]
                        }
                    },
                }
            ],
        }
    ),
)


@dataclasses.dataclass
class Demo:
    app: Litestar
    slugs: list[str] = dataclasses.field(default_factory=list)
    candidate_ids: list[int] = dataclasses.field(default_factory=list)


DEMO: list[Demo] = []  # the module's running demo, for the generation hooks


@pytest.fixture(scope="module")
async def demo(
    demo_template: DemoTemplate, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Demo]:
    """A database holding the demo (a copy of the run's), and the app on it (one for the
    whole module)."""
    from nominations.tables import Nomination
    from portal.tables import Campaign

    settings = fuzz_settings(tmp_path_factory.mktemp("fuzz-var"))
    async with demo_template.copy(settings.var_dir):
        running = Demo(
            app=create_app(settings),
            slugs=sorted(row["slug"] for row in await Campaign.select(Campaign.slug).run()),
            candidate_ids=sorted(row["id"] for row in await Nomination.select(Nomination.id).run()),
        )
        DEMO.append(running)
        try:
            yield running
        finally:
            DEMO.clear()
            # schemathesis runs the app's lifespan on its own event loop, started by the
            # first request: end it (closing the PostgreSQL pool) before other tests open
            # theirs.
            schemathesis_asgi.shutdown_lifespans()


@api.hook
def flatmap_path_parameters(context, path_parameters):  # type: ignore[no-untyped-def]
    """Real campaign slugs (and an unknown one) beside the generated strings."""
    if not (isinstance(path_parameters, dict) and isinstance(path_parameters.get("slug"), str)):
        return st.just(path_parameters)
    slugs = st.sampled_from([*DEMO[0].slugs, "no-such-campaign"])
    return st.one_of(
        st.just(path_parameters), slugs.map(lambda slug: {**path_parameters, "slug": slug})
    )


@api.hook
def flatmap_body(context, body):  # type: ignore[no-untyped-def]
    """Real candidate ids beside the generated integers."""
    if not (isinstance(body, dict) and type(body.get("candidate_id")) is int):
        return st.just(body)
    ids = st.sampled_from(DEMO[0].candidate_ids)
    return st.one_of(st.just(body), ids.map(lambda id_: {**body, "candidate_id": id_}))


# --- the success paths ------------------------------------------------------------------


def wait_for_captcha_pool(app: Litestar) -> None:
    """Until the background task has drawn challenges (a fresh app starts with none)."""
    with schemathesis_asgi.get_client(app) as client:
        deadline = time.monotonic() + POOL_WAIT_SECONDS
        while client.get("/healthz/ready").json()["captcha_pool"] < 2:
            assert time.monotonic() < deadline, "the CAPTCHA pool was never filled"
            time.sleep(0.2)


def voter_cookie(headers: dict[str, list[str]]) -> str:
    (cookie,) = [c for c in headers["set-cookie"] if c.startswith("portal_voter=")]
    return cookie.split(";", 1)[0].split("=", 1)[1]


def test_success_answers_conform_to_the_schema(demo: Demo) -> None:
    def call(path: str, method: str = "GET", **parts: Any):  # type: ignore[no-untyped-def]
        return api[path][method].Case(**parts).call_and_validate(app=demo.app)

    listed = call("/api/v1/campaigns").json()
    # Newest year first: the province's campaign (vetting), then Dingxi's.
    assert [c["slug"] for c in listed] == ["gansu-2024", VOTING_SLUG, PUBLISHED_SLUG]
    detail = call("/api/v1/campaigns/{slug}", path_parameters={"slug": VOTING_SLUG}).json()
    assert detail["phase"] == "voting"
    candidates = call(
        "/api/v1/campaigns/{slug}/candidates",
        path_parameters={"slug": VOTING_SLUG},
        query={"category": "mediator"},
    ).json()
    assert len(candidates) == 38

    wait_for_captcha_pool(demo.app)
    challenge = call("/api/v1/captcha", "POST").json()
    captcha = {"captcha_id": challenge["captcha_id"]}
    image = call("/api/v1/captcha/{captcha_id}/image.png", path_parameters=captcha)
    assert image.content.startswith(b"\x89PNG")
    audio = call("/api/v1/captcha/{captcha_id}/audio.wav", path_parameters=captcha)
    assert audio.content.startswith(b"RIFF")

    votes = "/api/v1/campaigns/{slug}/votes"
    ballot = {
        "candidate_id": candidates[0]["id"],
        "captcha_id": challenge["captcha_id"],
        "captcha_answer": TEST_ANSWER,
    }
    cast = call(votes, "POST", path_parameters={"slug": VOTING_SLUG}, body=ballot)
    assert cast.status_code == 201
    receipt = cast.json()["receipt"]
    # The same voter, the same candidate, the same day: 409 already_voted.
    again = {**ballot, "captcha_id": call("/api/v1/captcha", "POST").json()["captcha_id"]}
    refused = call(
        votes,
        "POST",
        path_parameters={"slug": VOTING_SLUG},
        body=again,
        cookies={"portal_voter": voter_cookie(cast.headers)},
    )
    assert (refused.status_code, refused.json()["error"]) == (409, "already_voted")

    status = call("/api/v1/receipts/{receipt}", path_parameters={"receipt": receipt}).json()
    assert (status["receipt"], status["campaign"]) == (receipt, VOTING_SLUG)

    published = {"slug": PUBLISHED_SLUG}
    results = call("/api/v1/campaigns/{slug}/results", path_parameters=published).json()
    assert results["phase"] == "published"
    ledger = call("/api/v1/campaigns/{slug}/ledger.csv", path_parameters=published)
    assert ledger.text.startswith("seq,cast_at,candidate_id,voter_hash,")
    hidden = call("/api/v1/campaigns/{slug}/results", path_parameters={"slug": VOTING_SLUG})
    assert (hidden.status_code, hidden.json()["error"]) == (404, "not_found")

    # The refusals the generator rarely meets, checked against the schema the same way.
    huge = {**ballot, "captcha_id": "x" * (1024 * 1024)}
    too_large = call(votes, "POST", path_parameters={"slug": VOTING_SLUG}, body=huge)
    assert (too_large.status_code, too_large.json()["error"]) == (413, "too_large")
    # Draining the pool (503, the contract's flow control: excluded from "no 5xx" here
    # only) up to the network's minute of challenges (429), both with Retry-After.
    challenges = api["/api/v1/captcha"]["POST"]
    answers = []
    while not answers or answers[-1].status_code != 429:
        assert len(answers) <= CAPTCHA_PER_MINUTE, "no 429 past the minute's challenges"
        answers.append(
            challenges.Case().call_and_validate(app=demo.app, excluded_checks=[not_a_server_error])
        )
    assert {a.status_code for a in answers} <= {201, 429, 503}
    assert all(int(a.headers["retry-after"][0]) > 0 for a in answers if a.status_code != 201)


# --- every operation, generated ---------------------------------------------------------


@api.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)
def test_every_answer_conforms_to_the_schema(case, demo: Demo) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(app=demo.app)
