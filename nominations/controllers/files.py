"""Serving stored files: staff see a nomination's files as its readers; the public only
the photos of shortlisted candidates."""

from __future__ import annotations

import anyio.to_thread
from litestar import Controller, Request, get
from litestar.params import FromPath
from litestar.response import File

from nominations import services
from nominations.candidates import public_candidate
from nominations.controllers.common import context_or_404
from portal import audit, media
from portal.auth import actor_of, requires
from portal.errors import not_found
from portal.tables import Role
from portal.web.files import serve, upload_directory

# Reviewers read the files of the candidates assigned to them (checked in services.load).
READERS = requires(Role.city_admin, Role.county_clerk, Role.auditor, Role.reviewer)


class NominationFiles(Controller):
    path = "/staff/nominations/{nomination_id:int}"
    include_in_schema = False
    guards = [READERS]

    @get("/photo", name="nomination_photo")
    async def photo(self, request: Request, nomination_id: FromPath[int]) -> File:
        ctx = await context_or_404(request.user, nomination_id)
        return serve(request, ctx.nomination.photo)

    @get("/thumbnail", name="nomination_thumbnail")
    async def thumbnail(self, request: Request, nomination_id: FromPath[int]) -> File:
        ctx = await context_or_404(request.user, nomination_id)
        return serve(request, ctx.nomination.thumbnail)

    @get("/documents/{document_id:int}", name="nomination_document")
    async def document(
        self, request: Request, nomination_id: FromPath[int], document_id: FromPath[int]
    ) -> File:
        ctx = await context_or_404(request.user, nomination_id)
        found = await services.documents_of(ctx.nomination.id, document_id)
        if not found:
            raise not_found("找不到该材料。")
        await audit.record(
            actor_of(request),
            "nomination.download",
            ctx.nomination,
            after={"file": found[0].filename},
        )
        return serve(request, found[0].stored_name, filename=found[0].filename)


class PublicMedia(Controller):
    """Photos of shortlisted candidates, for the public pages and the API."""

    path = "/media/candidates/{candidate_id:int}"
    include_in_schema = False

    @get("/photo.jpg", name="candidate_photo")
    async def photo(self, request: Request, candidate_id: FromPath[int]) -> File:
        nomination = await public_candidate(candidate_id)
        return serve(request, nomination.photo, public=True)

    @get("/thumbnail.jpg", name="candidate_thumbnail")
    async def thumbnail(self, request: Request, candidate_id: FromPath[int]) -> File:
        nomination = await public_candidate(candidate_id)
        return serve(request, nomination.thumbnail, public=True)

    @get("/thumbnail-small.jpg", name="candidate_thumbnail_small")
    async def small_thumbnail(self, request: Request, candidate_id: FromPath[int]) -> File:
        """The thumbnail at the size lists show it (``media.SMALL_THUMBNAIL_BOX``)."""
        nomination = await public_candidate(candidate_id)
        try:
            name = await anyio.to_thread.run_sync(
                media.small_thumbnail, upload_directory(request), nomination.thumbnail or ""
            )
        except FileNotFoundError:
            raise not_found("找不到该文件。") from None
        return serve(request, name, public=True)
