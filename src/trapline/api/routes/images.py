"""Images: upload, list, get, delete, download and thumbnails."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import RedirectResponse

from trapline.api.deps import CurrentUser, DatabaseDep, DecodeDep, SettingsDep, StoreDep
from trapline.domain.core.paging import ImageOrder
from trapline.domain.core.records import ImageFilter
from trapline.http.filenames import clean_filename
from trapline.http.pagination import cursor_page, decode_cursor, offset_page
from trapline.http.params import (
    DEFAULT_LIMIT,
    MAX_ID,
    Id,
    Limit,
    ListingOffset,
    QueryCursor,
    QueryId,
    QueryText,
    QueryTime,
    ThumbnailSize,
)
from trapline.http.urls import absolute_url
from trapline.schemas.images import ImageOut, UploadedOut, UploadOut, captured_at_of
from trapline.schemas.results import AnalysisOut, ImageDetailOut
from trapline.services.callbacks import analyses
from trapline.services.photos import crops, images
from trapline.services.photos.images import ImagePage, IncomingFile

router = APIRouter(tags=["images"])


@router.post("/projects/{project_id}/images", status_code=201)
def upload_images(
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    store: StoreDep,
    settings: SettingsDep,
    decode: DecodeDep,
    files: Annotated[list[UploadFile], File(min_length=1, description="one or more images")],
    deployment_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
) -> UploadOut:
    """Upload images (multipart field ``files``, repeatable); re-uploads are deduplicated.

    Each file gets its outcome: created, duplicate, or refused with the reason (not an image,
    too large); the good files are stored whatever the others are. When every file is
    refused, the answer is the first refusal's error.
    """
    incoming = [IncomingFile(clean_filename(f.filename), f.file) for f in files]
    results = images.upload_images(
        db,
        store,
        caller,
        project_id,
        incoming,
        deployment_id=deployment_id,
        max_file_bytes=settings.http.max_upload_bytes,
        limits=decode,
    )
    out = [_uploaded(r) for r in results]
    return UploadOut(
        results=out,
        created=sum(r.status == "created" for r in out),
        duplicates=sum(r.status == "duplicate" for r in out),
        refused=sum(r.status == "refused" for r in out),
    )


def _uploaded(result: images.UploadResult) -> UploadedOut:
    image = result.image
    if image is None:
        refusal = result.refusal
        return UploadedOut(
            status="refused",
            filename=result.filename,
            id=None,
            sha256=None,
            duplicate=False,
            width=None,
            height=None,
            captured_at=None,
            reason=refusal.detail if refusal else "not stored",
            code=refusal.code if refusal else "refused",
        )
    return UploadedOut(
        status="duplicate" if result.duplicate else "created",
        id=image.id,
        sha256=image.sha256,
        duplicate=result.duplicate,
        width=image.width,
        height=image.height,
        captured_at=captured_at_of(image),
        filename=image.filename,
        deployment_id=image.deployment_id,
    )


@router.get("/projects/{project_id}/images")
def list_images(
    request: Request,
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    deployment: QueryId = None,
    captured_after: QueryTime = None,
    captured_before: QueryTime = None,
    filename: QueryText = None,
    has_detections: Annotated[
        bool | None, Query(description="true: images with a detection; false: with none")
    ] = None,
    label: QueryText = None,
    min_confidence: Annotated[
        float | None,
        Query(ge=0, le=1, allow_inf_nan=False, description="images with an annotation this sure"),
    ] = None,
    job: QueryId = None,
    ordering: ImageOrder = ImageOrder.CAPTURED,
    limit: Limit = DEFAULT_LIMIT,
    offset: ListingOffset = 0,
    cursor: QueryCursor = None,
) -> dict[str, Any]:
    """A project's images, filtered; follow ``next``/``previous`` to page at any depth."""
    flt = ImageFilter(
        deployment_id=deployment,
        captured_after=captured_after.replace(tzinfo=None) if captured_after else None,
        captured_before=captured_before.replace(tzinfo=None) if captured_before else None,
        filename_contains=filename or None,
        has_detections=has_detections,
        label=label or None,
        min_confidence=min_confidence,
        job_id=job,
    )
    position = decode_cursor(cursor)
    page = images.list_images(
        db, caller, project_id, flt, order=ordering, limit=limit, offset=offset, cursor=position,
        capped=True,
    )  # fmt: skip
    return image_page(request, page, limit=limit, offset=offset, cursor=position)


def image_page(
    request: Request, page: ImagePage, *, limit: int, offset: int, cursor: Any
) -> dict[str, Any]:
    """The envelope of an image listing: offset links when asked by offset, else cursors."""
    results = [ImageOut.of(i) for i in page.images]
    if "offset" in request.query_params:
        return offset_page(request, page.count, results, limit, offset)
    return cursor_page(
        request, page.count, page.images, results, more=page.more, cursor=cursor, offset=offset
    )


@router.get("/images/{image_id}")
def get_image(image_id: Id, caller: CurrentUser, db: DatabaseDep) -> ImageDetailOut:
    """One image, with the analyses run on it and their annotations."""
    image, found = analyses.image_with_analyses(db, caller, image_id)
    return ImageDetailOut(
        **ImageOut.of(image).model_dump(), analyses=[AnalysisOut.of(a) for a in found]
    )


@router.delete("/images/{image_id}", status_code=204)
def delete_image(image_id: Id, caller: CurrentUser, db: DatabaseDep, store: StoreDep) -> Response:
    """Delete an image and its files (managers)."""
    images.delete_image(db, store, caller, image_id)
    return Response(status_code=204)


@router.get("/images/{image_id}/download", status_code=307)
def download_image(
    image_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    store: StoreDep,
    settings: SettingsDep,
) -> RedirectResponse:
    """Redirect to a signed, expiring URL of the original file."""
    url = images.download_url(
        db, store, caller, image_id, expires_in=settings.storage.signed_url_ttl
    )
    return RedirectResponse(absolute_url(settings, url), status_code=307)


@router.get("/images/{image_id}/thumbnail", status_code=307)
def thumbnail(
    image_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    store: StoreDep,
    settings: SettingsDep,
    decode: DecodeDep,
    size: ThumbnailSize = 256,
) -> RedirectResponse:
    """Redirect to a signed URL of a JPEG thumbnail (``size`` 256 or 1024, long side)."""
    url = images.thumbnail_url(
        db,
        store,
        caller,
        image_id,
        size,
        expires_in=settings.storage.signed_url_ttl,
        limits=decode,
    )
    return RedirectResponse(absolute_url(settings, url), status_code=307)


@router.get("/annotations/{annotation_id}/crop", status_code=307)
def crop(
    annotation_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    store: StoreDep,
    settings: SettingsDep,
    decode: DecodeDep,
) -> RedirectResponse:
    """Redirect to a signed URL of a detection's crop (JPEG): what an occurrence's or a
    taxon's best detection shows."""
    url = crops.crop_url(
        db,
        store,
        caller,
        annotation_id,
        expires_in=settings.storage.signed_url_ttl,
        limits=decode,
    )
    return RedirectResponse(absolute_url(settings, url), status_code=307)
