"""A project's images: the grid with filters and cursor paging, uploads, thumbnails, files."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlencode

from fastapi import Depends, Query
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.responses import JSONResponse, RedirectResponse, Response

from trapline.domain.core.paging import ImageOrder
from trapline.domain.core.records import ImageFilter
from trapline.errors import InvalidInput
from trapline.http.filenames import clean_filename
from trapline.http.pagination import decode_cursor, encode_cursor
from trapline.http.params import MAX_ID, Id, QueryCursor, QueryId, QueryText
from trapline.http.urls import absolute_url
from trapline.protocol.base import ONE_LINE
from trapline.services.photos import capture_times, deployments, findings, images, projects
from trapline.services.photos.images import IncomingFile
from trapline.services.processing import job_offer, jobs
from trapline.services.review import reviews
from trapline.web.forms import MAX_NUMBER, form_id, optional_time
from trapline.web.pages import Page, PostedForm, SignedIn
from trapline.web.routes import page_router

router = page_router()

#: Thumbnails per page of the grid.
PER_PAGE = 60
#: Files one upload request of the page may carry (the page sends them in small batches).
MAX_FILES = 50
DateText = Annotated[str | None, Query(max_length=40, pattern=ONE_LINE)]
DeploymentId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
ThumbSize = Annotated[int, Query()]
#: Jobs the grid's job filter offers (the newest).
JOB_CHOICES = 100


@dataclass(frozen=True)
class GridQuery:
    """The image grid's filters, as its query string carries them (the viewer keeps them, so
    previous/next stay within the filter)."""

    deployment: DeploymentId = None
    after: DateText = None
    before: DateText = None
    filename: QueryText = None
    detections: Annotated[Literal["with", "without"] | None, Query()] = None
    label: QueryText = None
    min_confidence: Annotated[float | None, Query(ge=0, le=1, allow_inf_nan=False)] = None
    job: QueryId = None

    def image_filter(self) -> ImageFilter:
        """The filter these parameters describe."""
        after = optional_time(self.after or "", "from")
        before = optional_time(self.before or "", "to")
        if after is not None and before is not None and after > before:
            raise InvalidInput(
                f"to: on or after from ({self.after}); the range is the wrong way round",
                field="to",
            )
        return ImageFilter(
            deployment_id=self.deployment,
            captured_after=after,
            captured_before=before,
            filename_contains=self.filename or None,
            has_detections=None if self.detections is None else self.detections == "with",
            label=self.label or None,
            min_confidence=self.min_confidence,
            job_id=self.job,
        )

    @classmethod
    def from_form(cls, form: Mapping[str, object]) -> GridQuery:
        """The same parameters posted by a form (the grid's "run a pipeline" form)."""
        given = {
            f.name: str(form[f.name]).strip()
            for f in fields(cls)
            if str(form.get(f.name) or "").strip()
        }
        try:
            return _GRID_FORM.validate_python(given)
        except ValidationError as exc:
            first = exc.errors()[0]
            words = first["msg"]
            if first["type"] == "string_pattern_mismatch":
                words = "one line of printable text"
            raise InvalidInput(f"{first['loc'][0]}: {words}") from None

    @property
    def by_results(self) -> bool:
        """Whether a filter on what the results found is given (label, confidence,
        detections)."""
        return bool(self.label) or self.min_confidence is not None or self.detections is not None

    def query(self) -> dict[str, object]:
        """The parameters given, for links that keep them."""
        return {k: v for k, v in asdict(self).items() if v is not None and v != ""}


Grid = Annotated[GridQuery, Depends()]
_GRID_FORM = TypeAdapter(GridQuery)


@router.get("/projects/{project_id}/images")
def image_grid(page: SignedIn, project_id: Id, grid: Grid, cursor: QueryCursor = None) -> Response:
    """Thumbnails with their counts, newest first, filtered; paged by cursor (fast at any depth)."""
    project, role = projects.get_project(page.db, page.me, project_id)
    position = decode_cursor(cursor)
    found = images.list_images(
        page.db,
        page.me,
        project_id,
        grid.image_filter(),
        order=ImageOrder.CAPTURED_DESC,
        limit=PER_PAGE,
        cursor=position,
    )
    backwards = position is not None and position.backwards
    shown = found.images
    has_next = bool(shown) and (found.more if not backwards else True)
    has_previous = bool(shown) and (found.more if backwards else position is not None)
    _, found_deployments = deployments.list_deployments(
        page.db, page.me, project_id, limit=500, offset=0
    )
    _, recent_jobs, _ = jobs.list_jobs(
        page.db,
        page.me,
        project_id=project_id,
        limit=JOB_CHOICES,
        offset=0,
        with_counts=False,
    )
    return page.render(
        "images.html",
        project=project,
        role=role,
        max_number=MAX_NUMBER,
        images=shown,
        counts=reviews.image_counts(page.db, page.me, project_id, [i.id for i in shown]),
        count=found.count,
        query=grid.query(),
        catching_up=grid.by_results and findings.catching_up(page.db, page.me, project_id),
        next_cursor=encode_cursor(shown[-1], backwards=False) if has_next else None,
        previous_cursor=encode_cursor(shown[0], backwards=True) if has_previous else None,
        deployments=found_deployments,
        jobs=recent_jobs,
        labels=reviews.result_labels(page.db, page.me, project_id, page.platform.clock),
        can_upload=role.allows(role.MEMBER),
        max_request_bytes=page.platform.settings.http.max_request_bytes,
        form=job_offer.offered_pipelines(
            page.db, page.me, project_id, with_tests=page.platform.settings.http.show_test_pipelines
        )
        if role.allows(role.MEMBER)
        else job_offer.Offered([], None),
    )


@router.post("/projects/{project_id}/images/move")
def move(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """The grid's bulk action: the ticked images go into a deployment, their capture times
    read again in its zone."""
    ids = [form_id(v, "image") for v in form.getlist("image")]
    raw = str(form.get("deployment") or "").strip()
    capture_times.move_images(
        page.db, page.me, project_id, ids, form_id(raw, "deployment") if raw else None
    )
    back = urlencode(parse_qsl(str(form.get("back") or "")))
    return page.redirect(f"/projects/{project_id}/images" + (f"?{back}" if back else ""))


@router.post("/projects/{project_id}/upload")
async def upload(page: SignedIn, project_id: Id) -> Response:
    """Files dropped on the grid (a script's request: CSRF token in a header; JSON answer)."""
    page.check_csrf_header()
    # Starlette closes no form a route parsed itself: its spooled files go with the block.
    async with page.request.form(max_files=MAX_FILES, max_fields=10) as form:
        return await _store_dropped(page, project_id, form)


async def _store_dropped(page: Page, project_id: int, form: FormData) -> Response:
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
    if not files:
        raise InvalidInput("files: drop at least one image")
    raw_deployment = str(form.get("deployment") or "").strip()
    deployment_id = None
    if raw_deployment:
        deployment_id = form_id(raw_deployment, "deployment")
    settings = page.platform.settings
    incoming = [IncomingFile(_clean(f.filename), f.file) for f in files]
    results = await run_in_threadpool(
        images.upload_images,
        page.db,
        page.platform.store,
        page.me,
        project_id,
        incoming,
        deployment_id=deployment_id,
        max_file_bytes=settings.http.max_upload_bytes,
        limits=page.platform.decode,
    )
    body = {
        "results": [
            {
                "filename": r.filename,
                "id": r.image.id if r.image else None,
                "duplicate": r.duplicate,
                "deployment_id": r.image.deployment_id if r.image else None,
                "refused": r.refusal.detail if r.refusal else None,
            }
            for r in results
        ]
    }
    response = JSONResponse(body, status_code=201)
    page.finish(response)
    return response


@router.get("/images/{image_id}/thumb")
def thumbnail(page: SignedIn, image_id: Id, size: ThumbSize = 256) -> Response:
    """The image's thumbnail: a redirect to its signed, expiring link."""
    settings = page.platform.settings
    url = images.thumbnail_url(
        page.db,
        page.platform.store,
        page.me,
        image_id,
        size,
        expires_in=settings.storage.signed_url_ttl,
        limits=page.platform.decode,
    )
    return to_blob(page, url)


@router.get("/images/{image_id}/file")
def original(page: SignedIn, image_id: Id) -> Response:
    """The original file: a redirect to its signed, expiring link."""
    settings = page.platform.settings
    url = images.download_url(
        page.db, page.platform.store, page.me, image_id, expires_in=settings.storage.signed_url_ttl
    )
    return to_blob(page, url)


def to_blob(page: SignedIn, url: str) -> Response:
    """A redirect to a signed, expiring link of a stored file."""
    response = RedirectResponse(absolute_url(page.platform.settings, url), status_code=307)
    # Links expire: the browser may keep the redirect a while, never longer than the link.
    response.headers["Cache-Control"] = (
        f"private, max-age={min(600, page.platform.settings.storage.signed_url_ttl // 2)}"
    )
    return response


def _clean(name: str | None) -> str:
    # The API's own rule for stored file names: one rule for both ways in.
    return clean_filename(name)
