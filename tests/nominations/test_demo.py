"""The demo campaign's nominations: the real 2023 numbers, within the caps, complete."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from nominations import fields, uploads
from nominations.tables import HOLDS_PLACE, Document, Nomination, Status
from portal.seed import DEMO_CATEGORIES, DEMO_SLUG, load_demo
from portal.tables import AuditEntry, Bureau, Campaign, Category

EXPECTED_SHORTLISTED = {"judicial-office": 14, "mediation-committee": 29, "mediator": 38}
CAPS = {key: cap for key, _, _, _, cap, _ in DEMO_CATEGORIES}


@pytest.fixture
async def demo(db: None, tmp_path: Path) -> dict:
    await load_demo(tmp_path)
    campaign = await Campaign.objects().where(Campaign.slug == DEMO_SLUG).first().run()
    categories = {
        row["id"]: row
        for row in await Category.select().where(Category.campaign == campaign.id).run()
    }
    bureaus = {row["id"]: row["county"] for row in await Bureau.select().run()}
    rows = await Nomination.select().where(Nomination.campaign == campaign.id).run()
    return {
        "campaign": campaign,
        "categories": categories,
        "bureaus": bureaus,
        "rows": rows,
        "var_dir": tmp_path,
    }


def key_of(demo: dict, row: dict) -> str:
    return demo["categories"][row["category"]]["key"]


def check_numbers(demo: dict) -> None:
    shortlisted = Counter(
        key_of(demo, r) for r in demo["rows"] if r["status"] == Status.shortlisted.value
    )
    assert shortlisted == EXPECTED_SHORTLISTED
    statuses = Counter(r["status"] for r in demo["rows"] if r["status"] != "shortlisted")
    assert statuses == {"draft": 2, "returned": 2, "rejected": 1}


def check_caps_and_places(demo: dict) -> None:
    held: Counter = Counter()
    places: set[tuple] = set()
    for row in demo["rows"]:
        key = key_of(demo, row)
        if Status(row["status"]) in HOLDS_PLACE:
            assert 1 <= row["place"] <= CAPS[key], row["name"]
            place = (key, row["bureau"], row["place"])
            assert place not in places, row["name"]
            places.add(place)
            held[(key, row["bureau"])] += 1
        else:
            assert row["place"] is None, row["name"]
    for (key, bureau), count in held.items():
        assert count <= CAPS[key], (key, demo["bureaus"][bureau])
    # 7 × 2 = 14: every county has both of its judicial-office places.
    assert sorted(c for (k, _), c in held.items() if k == "judicial-office") == [2] * 7
    assert len({demo["bureaus"][b] for (_, b) in held}) == 7


def check_named_units(demo: dict) -> None:
    shortlisted = {
        (key_of(demo, r), r["name"], r["committee"])
        for r in demo["rows"]
        if r["status"] == Status.shortlisted.value
    }
    assert ("judicial-office", "安定区中华路司法所", "") in shortlisted
    assert ("mediation-committee", "安定区福台路街道人民调解委员会", "") in shortlisted
    assert ("mediator", "李志国", "安定区香泉镇香泉村人民调解委员会") in shortlisted
    names = [(key_of(demo, r), r["name"]) for r in demo["rows"]]
    assert len(names) == len(set(names))


def check_records(demo: dict) -> None:
    campaign = demo["campaign"]
    opens, closes = campaign.nominating_opens_at, campaign.nominating_closes_at
    decided = []
    for row in demo["rows"]:
        kind = demo["categories"][row["category"]]["kind"]
        values = {f.key: row[f.key] for f in fields.FIELDS}
        cleaned, errors = fields.clean(kind, values)
        assert errors == {}, (row["name"], errors)
        if row["status"] == Status.draft.value:
            assert row["submitted_at"] is None and row["created_by"] is not None
            continue
        assert fields.missing(kind, cleaned) == {}, row["name"]
        assert len(row["summary"]) <= 200
        assert re.search(r"^(#+ |- |\d+\. |> )", row["deeds"], re.M), row["name"]
        paragraphs = [b for b in row["deeds"].split("\n\n") if not b.startswith("#")]
        assert 2 <= len(paragraphs) <= 4, row["deeds"]
        assert re.fullmatch(r"1[3-9]\d{9}", row["contact_phone"])
        rate = row["disputes_resolved"] / row["disputes_mediated"]
        assert 0.97 <= rate <= 1
        assert opens < row["submitted_at"] < row["decided_at"] <= closes, row["name"]
        if row["status"] == Status.shortlisted.value:
            assert row["shortlisted_at"] == row["decided_at"]
            decided.append(row["shortlisted_at"])
        else:
            assert row["shortlisted_at"] is None and row["decision_reason"]
    assert len(set(decided)) == len(decided) == 81


async def check_files_and_timeline(demo: dict) -> None:
    directory = uploads.upload_dir(demo["var_dir"])
    # One generated PDF per nomination that was ever submitted.
    documents = {d["nomination"]: d for d in await Document.select().run()}
    entries = Counter(
        (e["object_id"], e["action"])
        for e in await AuditEntry.select().where(AuditEntry.object_type == "nomination").run()
    )
    for row in demo["rows"]:
        if row["status"] == Status.draft.value:
            assert row["id"] not in documents
            assert entries[(str(row["id"]), "nomination.create")] == 1
            continue
        for name in (row["photo"], row["thumbnail"]):
            with Image.open(uploads.stored_path(directory, name)) as image:
                assert image.format == "JPEG"
        document = documents[row["id"]]
        data = uploads.stored_path(directory, document["stored_name"]).read_bytes()
        assert len(data) == document["size"] and document["filename"].endswith(".pdf")
        assert_xref_points_at_objects(data)
        assert entries[(str(row["id"]), f"nomination.{row['status']}")] == 1
    with Image.open(uploads.stored_path(directory, demo["rows"][0]["photo"])) as image:
        assert image.size == (800, 600)


def assert_xref_points_at_objects(data: bytes) -> None:
    start = int(re.search(rb"startxref\s+(\d+)\s+%%EOF", data).group(1))
    assert data[start:].startswith(b"xref")
    offsets = [int(m) for m in re.findall(rb"^(\d{10}) 00000 n ", data[start:], re.M)]
    for number, offset in enumerate(offsets, start=1):
        assert data[offset:].startswith(b"%d 0 obj" % number)


def check_same_every_run(demo: dict) -> None:
    from nominations.demo import TOWNS, build_plans, columns

    kinds = {c["key"]: c["kind"] for c in demo["categories"].values()}
    stored = sorted(
        (key_of(demo, r), r["status"], *(r[f.key] for f in fields.FIELDS)) for r in demo["rows"]
    )
    planned = sorted(
        (plan.key, plan.status.value, *columns(kinds[plan.key], plan.values).values())
        for plan in build_plans(demo["campaign"].year, list(TOWNS))
    )
    assert stored == planned


# Loading the demo takes a few seconds: each test loads it once and checks a group.


async def test_the_real_2023_numbers_within_the_caps(demo: dict) -> None:
    check_numbers(demo)
    check_caps_and_places(demo)
    check_named_units(demo)


async def test_complete_records_with_files_and_timelines(demo: dict) -> None:
    check_records(demo)
    await check_files_and_timeline(demo)
    check_same_every_run(demo)


async def test_loading_again_adds_nothing(demo: dict) -> None:
    directory = uploads.upload_dir(demo["var_dir"])
    files = sorted(p.name for p in directory.iterdir())
    counts = (
        await Nomination.count().run(),
        await Document.count().run(),
        await AuditEntry.count().run(),
    )
    await load_demo(demo["var_dir"])
    assert (
        await Nomination.count().run(),
        await Document.count().run(),
        await AuditEntry.count().run(),
    ) == counts
    assert sorted(p.name for p in directory.iterdir()) == files
