"""How a visitor chose to see the site: care mode (长辈版 / 关怀模式) and the text size.

Both are cookies set by one small route (``GET /view``), so they work without
JavaScript: a switch is a plain link that sets the cookie and comes back to the page it
was clicked on. The same templates serve every choice: the page's ``<html>`` carries
``care`` and ``text-…`` classes, and ``static/css/care.css`` does the rest. Care mode also
makes the vote flow simpler (one candidate per screen, plain words) and its CAPTCHA
digits only, spoken in Mandarin.

The route only ever sends the visitor back to a path of this site: anything else in
``next`` (another host, a scheme, ``//host``, a backslash trick) goes to the home page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

CARE_COOKIE = "portal_care"
TEXT_COOKIE = "portal_text"
# A year: a preference, not a tracker (no identifier in it).
COOKIE_AGE = 365 * 24 * 3600
# The text sizes, smallest first; "md" is the default. A−/A+ step through them.
TEXT_SIZES = ("sm", "md", "lg", "xl")
TEXT_LABELS = {"sm": "小", "md": "标准", "lg": "大", "xl": "特大"}
DEFAULT_TEXT = "md"
CARE_VALUES = {"on": "1", "off": "0"}
NEXT_LONGEST = 2000


@dataclass(frozen=True)
class View:
    care: bool = False
    text: str = DEFAULT_TEXT
    # The visitor answered the care-mode question (on or off): no first-visit hint then.
    chosen: bool = False

    @property
    def classes(self) -> str:
        """The classes of the page's ``<html>``."""
        names = [f"text-{self.text}"]
        if self.care:
            names.insert(0, "care")
        return " ".join(names)

    @property
    def smaller(self) -> str:
        return TEXT_SIZES[max(0, TEXT_SIZES.index(self.text) - 1)]

    @property
    def larger(self) -> str:
        return TEXT_SIZES[min(len(TEXT_SIZES) - 1, TEXT_SIZES.index(self.text) + 1)]

    @property
    def text_label(self) -> str:
        return TEXT_LABELS[self.text]


def parse(cookies: Any) -> View:
    """The view the request's cookies ask for (unknown values: the default)."""
    care = cookies.get(CARE_COOKIE)
    text = cookies.get(TEXT_COOKIE)
    return View(
        care=care == "1",
        text=text if text in TEXT_SIZES else DEFAULT_TEXT,
        chosen=care in ("0", "1"),
    )


def view_of(request: Any) -> View:
    """The view of a request (for templates and handlers)."""
    return parse(request.cookies)


def cache_key(request: Any) -> str:
    """What a cached page depends on beside its address: the view's classes and hint."""
    view = view_of(request)
    return f"{view.classes}|{int(view.chosen)}"


def safe_next(target: str | None) -> str:
    """``target`` if it is a path of this site, else ``/``."""
    if not target or len(target) > NEXT_LONGEST or not target.startswith("/"):
        return "/"
    if target.startswith(("//", "/\\")) or any(c in target for c in "\\\r\n\t") or " " in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def here(request: Any) -> str:
    """The page's own path and query, to come back to after a switch: without a ``next``
    of its own (the login page's), which the page never echoes, off-site or not."""
    path = request.scope.get("path", "/")
    query = request.scope.get("query_string", b"").decode("latin-1")
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "next"]
    return quote(path) + (f"?{urlencode(kept)}" if kept else "")


def switch_url(request: Any, **changes: str) -> str:
    """The address that sets ``changes`` (``care``: on/off, ``text``: a size) and comes
    back to this page."""
    return "/view?" + urlencode({**changes, "next": here(request)})
