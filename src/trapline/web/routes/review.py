"""The review queue: a project's (or job's) detections, those that count first (not under their
run's threshold), the surest first, shown as the crops of their boxes; a project's a page
at a time (``?cursor=`` where the previous page stopped)."""

from __future__ import annotations

import math
import re
from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from trapline.domain.core.roles import Role
from trapline.domain.ecology.reviews import QueuePosition
from trapline.errors import InvalidInput
from trapline.http.params import MAX_ID, Id
from trapline.protocol.base import ONE_LINE
from trapline.services.photos import crops, projects
from trapline.services.review import reviews
from trapline.web.pages import SignedIn
from trapline.web.routes import page_router
from trapline.web.routes.images import to_blob

router = page_router()

#: Detections the queue page lists at a time.
QUEUE_LENGTH = 100
#: Where a page of the queue starts, as its link gives it: the confidence (``none``: the
#: detections without a score) and the annotation id it follows.
QueueCursor = Annotated[str, Query(max_length=60, pattern=ONE_LINE)]
_CURSOR = re.compile(r"^(none|[0-9.e+-]{1,40}):([0-9]{1,19})$")


def cursor_text(position: QueuePosition) -> str:
    """A queue position as a page link carries it."""
    score = "none" if position.confidence is None else repr(position.confidence)
    return f"{score}:{position.annotation_id}"


def read_cursor(text: str) -> QueuePosition | None:
    """The position a page link carried (None: the top); InvalidInput naming ``cursor``."""
    if not text:
        return None
    found = _CURSOR.match(text)
    try:
        if found is None:
            raise ValueError(text)
        score = None if found.group(1) == "none" else float(found.group(1))
        annotation_id = int(found.group(2))
        if (score is not None and not math.isfinite(score)) or not 1 <= annotation_id <= MAX_ID:
            raise ValueError(text)
    except ValueError:
        raise InvalidInput(f"cursor: use the queue's own links (got {text[:30]!r})") from None
    return QueuePosition(score, annotation_id)


@router.get("/projects/{project_id}/review/next")
def next_in_queue(
    page: SignedIn,
    project_id: Id,
    job: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    after: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The viewer at the next detection nobody reviewed (``after``: skip up to this one)."""
    items = reviews.review_queue(page.db, page.me, project_id, job_id=job, limit=QUEUE_LENGTH).items
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
    cursor: QueueCursor = "",
) -> Response:
    """Detections nobody reviewed yet, those that count first; each opens in the viewer."""
    project, role = projects.get_project(page.db, page.me, project_id)
    start = read_cursor(cursor.strip())
    if start is not None and job is not None:
        raise InvalidInput("cursor: a job's queue is one page; leave the cursor out")
    found = reviews.review_queue(
        page.db, page.me, project_id, job_id=job, limit=QUEUE_LENGTH, start=start
    )
    return page.render(
        "review.html",
        project=project,
        role=role,
        items=found.items,
        following=cursor_text(found.following) if found.following else None,
        paged=start is not None,
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
