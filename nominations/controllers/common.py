"""What the nomination handlers share: loading with ownership, uploads from forms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio.to_thread
from litestar import Request

from nominations import services
from nominations.services import Context
from portal import media
from portal.accounts import StaffUser
from portal.errors import Hidden, not_found
from portal.web.files import upload_directory
from portal.web.forms import files_of, read_limited, stage_photo

# A nomination form carries a photo (5 MB) and a few PDFs (10 MB each).
FORM_MAX_BODY = 40 * 1024 * 1024
MAX_DOCUMENTS_PER_FORM = 3


async def context_or_404(user: StaffUser, nomination_id: int) -> Context:
    try:
        return await services.load(user, nomination_id)
    except Hidden:
        raise not_found("找不到该推荐对象。") from None


async def stage_files(request: Request, form: Any) -> tuple[services.Files, dict[str, str]]:
    """Check and store the photo and documents sent with a form.

    Every file is checked by content first; if any is refused, the ones already
    stored are removed again and the errors (by field) say why — nothing is kept.
    """
    directory = upload_directory(request)
    staged = services.Files()
    errors: dict[str, str] = {}
    staged.photo, refused = await stage_photo(form, "photo", directory)
    if refused:
        errors["photo"] = refused
    documents = files_of(form, "documents")
    if len(documents) > MAX_DOCUMENTS_PER_FORM:
        errors["documents"] = f"每次最多上传 {MAX_DOCUMENTS_PER_FORM} 份材料。"
        documents = []
    for document in documents:
        data = await read_limited(document, media.MAX_PDF_BYTES)
        try:
            name = await anyio.to_thread.run_sync(media.save_pdf, data, directory)
        except media.UploadRejected as exc:
            errors["documents"] = f"{document.filename}：{exc.message}"
            continue
        filename = Path(document.filename or "材料.pdf").name
        staged.documents.append((name, filename, len(data)))
    if errors:
        discard(request, staged)
        return services.Files(), errors
    return staged, errors


def discard(request: Request, staged: services.Files) -> None:
    """Remove stored files that will not be attached after all."""
    media.remove(upload_directory(request), *staged.names())
