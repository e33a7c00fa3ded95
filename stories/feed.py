"""The series as an Atom 1.0 feed (RFC 4287).

Every id is a stable URL of this site: the feed's is the story list, an entry's is its
story page (a story's id never changes, and unpublishing does not free it). Text goes
through ElementTree, which escapes it; the entry content is the story's sanitised HTML,
carried escaped as ``type="html"``.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from portal.identity import Identity

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MEDIA_TYPE = "application/atom+xml"
FEED_TITLE = "典型案例与先进事迹"
FEED_SUBTITLE = "坚持和发展新时代“枫桥经验”：人民调解典型案例和“枫桥式”先进事迹"


@dataclass(frozen=True)
class Entry:
    """One story as the feed carries it."""

    url: str
    title: str
    published: dt.datetime
    updated: dt.datetime
    author: str
    summary: str
    content_html: str
    category: str
    category_label: str


def timestamp(value: dt.datetime) -> str:
    """An RFC 3339 date-time in UTC, as Atom requires (seconds are enough)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def build_feed(
    *,
    feed_url: str,
    list_url: str,
    entries: list[Entry],
    generated_at: dt.datetime,
    identity: Identity,
) -> bytes:
    """The Atom document. ``updated`` is the newest entry's, or ``generated_at`` if none;
    the site's identity names the feed and its publisher."""
    feed = ET.Element("feed", {"xmlns": ATOM_NS, XML_LANG: "zh-CN"})
    _text(feed, "id", list_url)
    _text(feed, "title", f"{FEED_TITLE} · {identity.title_suffix}")
    _text(feed, "subtitle", FEED_SUBTITLE)
    newest = max((e.updated for e in entries), default=generated_at)
    _text(feed, "updated", timestamp(newest))
    ET.SubElement(feed, "link", {"rel": "self", "type": MEDIA_TYPE, "href": feed_url})
    ET.SubElement(feed, "link", {"rel": "alternate", "type": "text/html", "href": list_url})
    author = ET.SubElement(feed, "author")
    _text(author, "name", identity.host or identity.site_name)
    _text(feed, "generator", f"{identity.site_name}平台")
    for item in entries:
        entry = ET.SubElement(feed, "entry")
        _text(entry, "id", item.url)
        _text(entry, "title", item.title, type="text")
        _text(entry, "published", timestamp(item.published))
        _text(entry, "updated", timestamp(item.updated))
        ET.SubElement(entry, "link", {"rel": "alternate", "type": "text/html", "href": item.url})
        entry_author = ET.SubElement(entry, "author")
        _text(entry_author, "name", item.author)
        ET.SubElement(entry, "category", {"term": item.category, "label": item.category_label})
        _text(entry, "summary", item.summary, type="text")
        _text(entry, "content", item.content_html, type="html")
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
