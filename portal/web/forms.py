"""Reading submitted forms: their plain fields, their files, a photo checked and stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio.to_thread
from litestar.datastructures import UploadFile

from portal import media


def form_values(form: Any) -> dict[str, Any]:
    """Every field of the form that is not a file."""
    return {key: form.get(key) for key in form if not isinstance(form.get(key), UploadFile)}


def ints(values: list[Any]) -> list[int]:
    """The values that are whole numbers, as ints, in order (the rest left out)."""
    out = []
    for value in values:
        try:
            out.append(int(value))
        except (TypeError, ValueError):
            continue
    return out


def files_of(form: Any, name: str) -> list[UploadFile]:
    """The files chosen in the form's field ``name`` (empty file inputs left out)."""
    return [f for f in form.getall(name, []) if isinstance(f, UploadFile) and f.filename]


async def read_limited(upload: UploadFile, limit: int) -> bytes:
    """The file's bytes, reading at most one byte past ``limit`` (the checker refuses it)."""
    return await upload.read(limit + 1)


async def stage_photo(form: Any, name: str, directory: Path) -> tuple[tuple[str, str] | None, str]:
    """Check by content and store the photo sent in field ``name``: ``(stored names, "")``,
    ``(None, "")`` when none was sent, or ``(None, why it was refused)``."""
    photos = files_of(form, name)
    if not photos:
        return None, ""
    data = await read_limited(photos[0], media.MAX_PHOTO_BYTES)
    try:
        return await anyio.to_thread.run_sync(media.save_photo, data, directory), ""
    except media.UploadRejected as exc:
        return None, exc.message
