"""The review queue: a project's (or job's) detections, those that count first (not under their
pipeline's threshold), the surest first, shown as the crops of their boxes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from trapline.domain.roles import Role
from trapline.http.params import MAX_ID, Id
from trapline.services import crops, projects, reviews
from trapline.web.pages import SignedIn
from trapline.web.routes import page_router
from trapline.web.routes.images import to_blob

router = page_router()

#: Detections the queue page lists at a time.
QUEUE_LENGTH = 100


@router.get("/projects/{project_id}/review/next")
def next_in_queue(
    page: SignedIn,
    project_id: Id,
    job: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    after: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The viewer at the next detection nobody reviewed (``after``: skip up to this one)."""
    items = reviews.review_queue(page.db, page.me, project_id, job_id=job, limit=QUEUE_LENGTH)
    if after is not None:
        ids = [i.annotation_id for i in items]
        items = items[ids.index(after) + 1 :] if after in ids else items
    if not items:
        back = f"/projects/{project_id}/review" + (f"?job={job}" if job else "")
        return page.redirect(back)
    item = items[0]
    return page.redirect(f"/images/{item.image_id}?queue={job or 'project'}#a{item.annotation_id}")


@router.get("/projects/{project_id}/review")
def review_queue(
    page: SignedIn,
    project_id: Id,
    job: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """Detections nobody reviewed yet, those that count first; each opens in the viewer."""
    project, role = projects.get_project(page.db, page.me, project_id)
    items = reviews.review_queue(page.db, page.me, project_id, job_id=job, limit=QUEUE_LENGTH)
    return page.render(
        "review.html",
        project=project,
        role=role,
        items=items,
        job=job,
        can_review=role.allows(Role.MEMBER),
    )


@router.get("/annotations/{annotation_id}/crop")
def crop(page: SignedIn, annotation_id: Id) -> Response:
    """A detection's crop, as the queue shows it: a redirect to its signed, expiring link."""
    settings = page.platform.settings
    url = crops.crop_url(
        page.db,
        page.platform.store,
        page.me,
        annotation_id,
        expires_in=settings.storage.signed_url_ttl,
        limits=page.platform.decode,
    )
    return to_blob(page, url)
