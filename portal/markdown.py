"""Markdown written by county clerks (deeds, case stories) turned into safe HTML.

Two layers: markdown-it-py renders CommonMark (plus tables and strikethrough) with raw
HTML switched off, so tags typed by a user come out as text; nh3 then keeps only an
allowlist of tags and attributes, so nothing executable survives even if the renderer
ever let something through. Headings are demoted (``#`` → ``<h3>``, deeper → ``<h4>``)
so a deed never outranks the page's own title and sections.
"""

from __future__ import annotations

from collections.abc import Sequence

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "strong", "em", "s", "del", "ul", "ol", "li",
        "h2", "h3", "h4", "blockquote", "a", "code", "pre", "hr",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"

# `#` becomes <h3>, everything deeper <h4>.
_HEADING_SHIFT = 2
_DEEPEST_HEADING = 4

# "breaks": a newline typed in the text box is a line break, as Chinese writers expect
# (a soft break would show as a stray space between characters).
_md = (
    MarkdownIt("commonmark", {"html": False, "breaks": True})
    .enable(["table", "strikethrough"])
    # Pictures are not part of a deed: `![x](y)` stays a plain link.
    .disable("image")
)


def _href_filter(tag: str, attribute: str, value: str) -> str | None:
    """Keep absolute http(s) and mailto links only: no relative or scheme-less URLs."""
    if tag == "a" and attribute == "href":
        scheme, colon, _ = value.partition(":")
        if not colon or scheme.strip().lower() not in LINK_SCHEMES:
            return None
    return value


def _demote_headings(tokens: Sequence[Token]) -> None:
    for token in tokens:
        if token.type in {"heading_open", "heading_close"}:
            level = min(int(token.tag[1:]) + _HEADING_SHIFT, _DEEPEST_HEADING)
            token.tag = f"h{level}"


def render(text: str) -> Markup:
    """Render user Markdown to sanitised HTML, safe to put in a template as is."""
    if not text or not text.strip():
        return Markup("")
    tokens = _md.parse(text)
    _demote_headings(tokens)
    html = _md.renderer.render(tokens, _md.options, {})
    cleaned = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_href_filter,
        url_schemes=set(LINK_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )
    return Markup(cleaned)  # noqa: S704 - sanitised by nh3 just above
