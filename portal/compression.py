"""Compressed answers: text (pages, CSS, scripts, JSON, feeds, CSV) is sent gzipped to a
client that asks for it, with Litestar's compression middleware.

Litestar's middleware compresses every body over its minimum size whatever its type;
here only text is: photos, PDFs and spreadsheets are compressed formats already, and
gzipping them again costs the server CPU for nothing. Streams (the ledger's CSV) stay
streams: each chunk is flushed compressed as it comes.
"""

from __future__ import annotations

from litestar.config.compression import CompressionConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware.compression import CompressionMiddleware
from litestar.types import Message, Scope, Send

# Level 6 (zlib's default) gives nearly all of level 9's saving on HTML for a fraction
# of its CPU; the vote path's pages are rendered on every request.
GZIP_LEVEL = 6
# Below this, gzip's header and the CPU are not worth it (small JSON answers of the API).
MINIMUM_BYTES = 500

_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/atom+xml",
    "application/rss+xml",
    "application/yaml",
    "application/x-yaml",
    "application/vnd.oai.openapi",
    "application/problem+json",
    "image/svg+xml",
)


def compressible(content_type: str) -> bool:
    """Whether a body of this ``Content-Type`` is text worth compressing."""
    return content_type.strip().lower().startswith(_TEXT_TYPES)


class TextCompressionMiddleware(CompressionMiddleware):
    """Litestar's compression, for text bodies only (and never twice)."""

    def create_compression_send_wrapper(  # type: ignore[override]
        self, send: Send, compression_encoding: str, scope: Scope
    ) -> Send:
        compressing = super().create_compression_send_wrapper(
            send,
            compression_encoding,  # type: ignore[arg-type]
            scope,
        )
        target: Send | None = None

        async def choose(message: Message) -> None:
            nonlocal target
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders(message)
                text = compressible(headers.get("content-type") or "")
                target = compressing if text and "content-encoding" not in headers else send
            await (target or compressing)(message)

        return choose


def compression_config() -> CompressionConfig:
    return CompressionConfig(
        backend="gzip",
        gzip_compress_level=GZIP_LEVEL,
        minimum_size=MINIMUM_BYTES,
        middleware_class=TextCompressionMiddleware,
    )
