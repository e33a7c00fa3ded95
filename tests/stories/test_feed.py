"""The Atom feed of the series, validated against RFC 4287's RELAX NG schema."""

from __future__ import annotations

import copy
import datetime as dt
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from portal.identity import Identity
from stories import feed, publishing
from tests.conftest import FORGED_HOST, PUBLIC_URL
from tests.factories import actor_for
from tests.stories.conftest import World

ATOM = "{http://www.w3.org/2005/Atom}"
SCHEMA = Path(__file__).with_name("atom.rng")


@cache
def atom_schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(SCHEMA)))


def assert_valid_atom(document: bytes) -> etree._Element:
    """Valid against the RELAX NG schema, plus the appendix's Schematron rules and the
    RFC's MUSTs that a grammar cannot say."""
    root = etree.fromstring(document)
    schema = atom_schema()
    assert schema.validate(root), schema.error_log
    entries = root.findall(f"{ATOM}entry")
    # An author on the feed, or on every entry (4.1.1).
    assert root.find(f"{ATOM}author") is not None or all(
        e.find(f"{ATOM}author") is not None for e in entries
    )
    # A self link, and at most one alternate link per type (4.1.1).
    assert [link.get("rel") for link in root.findall(f"{ATOM}link")].count("self") == 1
    ids = [root.findtext(f"{ATOM}id")]
    for entry in entries:
        alternates = [
            link
            for link in entry.findall(f"{ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        # Without content an entry needs an alternate link (4.1.2); ours have both.
        assert entry.find(f"{ATOM}content") is not None and len(alternates) == 1
        ids.append(entry.findtext(f"{ATOM}id"))
        published = dt.datetime.fromisoformat(entry.findtext(f"{ATOM}published"))
        updated = dt.datetime.fromisoformat(entry.findtext(f"{ATOM}updated"))
        assert published <= updated
    # Ids are absolute IRIs, each entry's its own.
    assert all(i and i.startswith("http://testserver.local/") for i in ids)
    assert len(set(ids)) == len(ids)
    return root


async def test_the_feed_is_valid_atom_with_the_latest_stories(client, world: World) -> None:
    empty = await client.get("/stories/feed.atom")
    assert empty.status_code == 200
    assert empty.headers["content-type"] == "application/atom+xml; charset=utf-8"
    assert assert_valid_atom(empty.content).findall(f"{ATOM}entry") == []

    stories = [await world.published(title=f"第{i}篇稿件") for i in range(1, 24)]
    await publishing.unpublish(actor_for(world.admin), world.admin, stories[-1], "信息有误")
    response = await client.get("/stories/feed.atom")
    root = assert_valid_atom(response.content)
    assert root.findtext(f"{ATOM}id") == "http://testserver.local/stories"
    self_link = next(link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self")
    assert self_link.get("href") == "http://testserver.local/stories/feed.atom"
    assert self_link.get("type") == "application/atom+xml"
    entries = root.findall(f"{ATOM}entry")
    # The latest twenty published, newest first; the one taken down is gone.
    expected = [s for s in reversed(stories[:-1])][:20]
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        f"http://testserver.local/stories/{s.id}" for s in expected
    ]
    first = entries[0]
    assert first.findtext(f"{ATOM}title") == f"第{expected[0].series_no}期｜典型案例｜第22篇稿件"
    assert first.find(f"{ATOM}author").findtext(f"{ATOM}name") == "定西市司法局"
    assert first.find(f"{ATOM}category").get("term") == "case"
    assert first.find(f"{ATOM}content").get("type") == "html"
    assert first.find(f"{ATOM}content").text == "<p>第一段。</p>\n<p>第二段。</p>\n"
    assert first.findtext(f"{ATOM}summary") == "第一段。 第二段。"
    assert root.findtext(f"{ATOM}updated") == first.findtext(f"{ATOM}updated")


async def test_the_feed_links_the_public_url_whatever_the_host(
    forged_host_client, world: World
) -> None:
    """The feed is cached publicly: a forged Host must put nothing of its own into it."""
    story = await world.published()
    response = await forged_host_client.get("/stories/feed.atom")
    assert response.status_code == 200 and FORGED_HOST not in response.text
    root = etree.fromstring(response.content)
    assert root.findtext(f"{ATOM}id") == f"{PUBLIC_URL}/stories"
    assert [link.get("href") for link in root.iter(f"{ATOM}link")] == [
        f"{PUBLIC_URL}/stories/feed.atom",
        f"{PUBLIC_URL}/stories",
        f"{PUBLIC_URL}/stories/{story.id}",
    ]
    assert [e.findtext(f"{ATOM}id") for e in root.iter(f"{ATOM}entry")] == [
        f"{PUBLIC_URL}/stories/{story.id}"
    ]


async def test_the_story_pages_advertise_the_feed(client, world: World) -> None:
    story = await world.published()
    link = (
        '<link rel="alternate" type="application/atom+xml" '
        'title="典型案例与先进事迹（订阅更新）" href="/stories/feed.atom">'
    )
    assert link in (await client.get("/stories")).text
    assert link in (await client.get(f"/stories/{story.id}")).text


def sample_feed() -> bytes:
    at = dt.datetime(2023, 5, 4, 8, 30, tzinfo=dt.UTC)
    entry = feed.Entry(
        url="http://testserver.local/stories/7",
        title="标题 <与> & 符号",
        published=at,
        updated=at + dt.timedelta(hours=1),
        author="安定区司法局",
        summary="摘要",
        content_html="<p>正文 &amp; <strong>加粗</strong></p>",
        category="deeds",
        category_label="先进事迹",
    )
    return feed.build_feed(
        feed_url="http://testserver.local/stories/feed.atom",
        list_url="http://testserver.local/stories",
        entries=[entry],
        generated_at=at,
        identity=Identity(host="白银市司法局"),
    )


def test_the_builder_escapes_text_and_writes_utc_times() -> None:
    root = assert_valid_atom(sample_feed())
    entry = root.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "标题 <与> & 符号"
    assert entry.findtext(f"{ATOM}content") == "<p>正文 &amp; <strong>加粗</strong></p>"
    assert entry.findtext(f"{ATOM}published") == "2023-05-04T08:30:00Z"
    assert root.findtext(f"{ATOM}updated") == "2023-05-04T09:30:00Z"
    assert feed.timestamp(
        dt.datetime(2023, 5, 4, 16, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    ) == ("2023-05-04T08:30:00Z")


def broken(change) -> bytes:  # type: ignore[no-untyped-def]
    root = etree.fromstring(sample_feed())
    change(root)
    return etree.tostring(root)


def drop(path: str):  # type: ignore[no-untyped-def]
    def change(root: etree._Element) -> None:
        element = root.find(path)
        element.getparent().remove(element)

    return change


def set_text(path: str, text: str):  # type: ignore[no-untyped-def]
    def change(root: etree._Element) -> None:
        root.find(path).text = text

    return change


def add_child(path: str, tag: str):  # type: ignore[no-untyped-def]
    def change(root: etree._Element) -> None:
        etree.SubElement(root.find(path) if path else root, tag)

    return change


def duplicate(path: str):  # type: ignore[no-untyped-def]
    def change(root: etree._Element) -> None:
        element = root.find(path)
        element.addnext(copy.deepcopy(element))

    return change


def set_attribute(path: str, name: str, value: str):  # type: ignore[no-untyped-def]
    def change(root: etree._Element) -> None:
        root.find(path).set(name, value)

    return change


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(drop(f"{ATOM}id"), id="feed without id"),
        pytest.param(drop(f"{ATOM}updated"), id="feed without updated"),
        pytest.param(drop(f"{ATOM}title"), id="feed without title"),
        pytest.param(drop(f"{ATOM}entry/{ATOM}id"), id="entry without id"),
        pytest.param(drop(f"{ATOM}entry/{ATOM}updated"), id="entry without updated"),
        pytest.param(duplicate(f"{ATOM}entry/{ATOM}title"), id="entry with two titles"),
        pytest.param(set_text(f"{ATOM}entry/{ATOM}published", "2023年5月4日"), id="bad date"),
        pytest.param(set_attribute(f"{ATOM}entry/{ATOM}content", "type", "htm"), id="bad type"),
        pytest.param(add_child(f"{ATOM}entry/{ATOM}title", f"{ATOM}b"), id="markup in text"),
        pytest.param(add_child("", f"{ATOM}unknown"), id="unknown atom element"),
    ],
)
def test_a_broken_feed_fails_validation(change) -> None:  # type: ignore[no-untyped-def]
    assert atom_schema().validate(etree.fromstring(sample_feed()))
    assert not atom_schema().validate(etree.fromstring(broken(change)))


def test_a_feed_in_another_namespace_is_not_atom() -> None:
    document = sample_feed().replace(b"http://www.w3.org/2005/Atom", b"http://example.org/atom")
    assert not atom_schema().validate(etree.fromstring(document))
