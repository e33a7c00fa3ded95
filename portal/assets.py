"""Fingerprinted static files: every page links its CSS, scripts and images by
``static_url("css/portal.css")``, which adds the file's content hash to the URL
(``/static/css/portal.css?v=3f9a0c2b71de``). A browser may keep such a file a year
without asking again (``Cache-Control: immutable``): when the file changes, so does its
URL, and the next page loads the new one.

A request whose ``v`` is not the file's current hash (a page rendered before a deploy,
a hand-typed URL) still gets the current file, but only ``no-cache``: never may a year's
caching bind a URL to content it does not name. The hash is read again when the file's
size or modification time changes, so an edited file in development gets a new URL on
the next page without a restart.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import parse_qs

from litestar.types import Message, Scope

from portal.settings import PROJECT_ROOT

STATIC_DIR = PROJECT_ROOT / "static"
STATIC_PREFIX = "/static/"
IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"
HASH_CHARS = 12


class Fingerprints:
    """Content hashes of the files under ``root``, read once per version of each file."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        self.root = root.resolve()
        self._known: dict[str, tuple[tuple[int, int], str]] = {}

    def of(self, path: str) -> str | None:
        """The hash of ``root/path``; None for a path outside ``root`` or no file."""
        target = (self.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.root):
            return None
        try:
            stat = target.stat()
        except OSError:
            return None
        version = (stat.st_mtime_ns, stat.st_size)
        known = self._known.get(path)
        if known and known[0] == version:
            return known[1]
        try:
            digest = hashlib.sha256(target.read_bytes()).hexdigest()[:HASH_CHARS]
        except OSError:
            return None
        self._known[path] = (version, digest)
        return digest

    def url(self, path: str) -> str:
        """The URL of static file ``path`` (relative to ``static/``), with its hash."""
        path = path.lstrip("/")
        digest = self.of(path)
        return f"{STATIC_PREFIX}{path}?v={digest}" if digest else f"{STATIC_PREFIX}{path}"


FINGERPRINTS = Fingerprints()


def static_url(path: str) -> str:
    """The template helper: the fingerprinted URL of a file under ``static/``."""
    return FINGERPRINTS.url(path)


def static_caching(fingerprints: Fingerprints = FINGERPRINTS):  # type: ignore[no-untyped-def]
    """A before-send hook: a static file asked for by its current hash is cached a year
    (immutable); any other answer under ``/static/`` is revalidated each time."""

    async def add_cache_control(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or scope.get("type") != "http":
            return
        path = scope["path"]
        if not path.startswith(STATIC_PREFIX):
            return
        headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
        value = REVALIDATE
        if message["status"] == 200:
            asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [""])[0]
            if asked and asked == fingerprints.of(path[len(STATIC_PREFIX) :]):
                value = IMMUTABLE
        headers.append((b"cache-control", value))
        message["headers"] = headers

    return add_cache_control
