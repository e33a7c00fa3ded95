"""Serving stored uploads: inline or as a download, cached only when public."""

from __future__ import annotations

from pathlib import Path

from litestar import Request
from litestar.response import File

from portal import media
from portal.errors import not_found


def upload_directory(request: Request) -> Path:
    return media.upload_dir(request.app.state.settings.var_dir)


def serve(request: Request, name: str, filename: str | None = None, public: bool = False) -> File:
    """The stored file ``name``: shown inline, or downloaded as ``filename``."""
    try:
        path = media.stored_path(upload_directory(request), name)
    except FileNotFoundError:
        raise not_found("找不到该文件。") from None
    return File(
        path=path,
        filename=filename or path.name,
        media_type=media.media_type(name),
        content_disposition_type="inline" if filename is None else "attachment",
        headers={
            # Private files are never kept by shared caches; public photos may be.
            "Cache-Control": "public, max-age=86400" if public else "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
