"""Reviews of what models found, the review queue, and per-project summaries for people."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, NamedTuple
from weakref import WeakKeyDictionary

from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.ecology.events import Activity, Nights, night_of
from trapline.domain.ecology.reviews import ImageCounts, QueuePage, QueuePosition, Review, Verdict
from trapline.domain.processing.results import AnnotationType, Box
from trapline.errors import InvalidInput
from trapline.services.core.access import project_for, require
from trapline.services.ecology.counting import counting_scope

if TYPE_CHECKING:
    from sqlalchemy import Engine

#: Labels a project summary shows at most.
TOP_LABELS = 20
#: Longest label a reviewer may give.
MAX_LABEL = 255
#: Seconds a project's label suggestions are remembered while no result arrives.
SUGGESTIONS_TTL = 300.0
#: Projects whose label suggestions a process remembers at most (then it starts again).
MAX_SUGGESTED = 1_000


def review_annotation(
    db: Database,
    caller: User,
    annotation_id: int,
    verdict: Verdict,
    label: str | None = None,
    *,
    image_id: int | None = None,
) -> Review:
    """Confirm, relabel or reject a machine detection (members); it stays as it was.

    ``image_id``: the image the caller saw the detection on, when it must be that one.
    """
    if verdict is Verdict.MISSING:
        raise InvalidInput("verdict: a missing box is drawn on the image, not on an annotation")
    label = _label(label, required=verdict is Verdict.RELABEL)
    with db.write() as repos:
        found = require(repos.review.reviews.annotation(annotation_id), "annotation", annotation_id)
        project_id, on_image, kind = found
        project_for(repos, caller, project_id, Role.MEMBER, asked=("annotation", annotation_id))
        if image_id is not None and on_image != image_id:
            raise InvalidInput(f"detection {annotation_id} is not on image {image_id}")
        if kind != AnnotationType.BOUNDING_BOX.value:
            raise InvalidInput(
                f"annotation {annotation_id} is a {kind}; review the detection (its box) instead"
            )
        return repos.review.reviews.add(
            project_id=project_id,
            image_id=on_image,
            annotation_id=annotation_id,
            verdict=verdict,
            label=label,
            box=None,
            created_by=caller.id,
        )


def add_missing_box(db: Database, caller: User, image_id: int, box: Box, label: str) -> Review:
    """A box the models missed, drawn by a member, with its label."""
    checked = _label(label, required=True)
    with db.write() as repos:
        image = require(repos.core.images.get(image_id), "image", image_id)
        project_for(repos, caller, image.project_id, Role.MEMBER, asked=("image", image_id))
        x1, y1, x2, y2 = box
        if not (0 <= x1 < x2 <= image.width and 0 <= y1 < y2 <= image.height):
            raise InvalidInput(
                f"box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) must lie inside the "
                f"{image.width}x{image.height} image with x1 < x2 and y1 < y2"
            )
        return repos.review.reviews.add(
            project_id=image.project_id,
            image_id=image_id,
            annotation_id=None,
            verdict=Verdict.MISSING,
            label=checked,
            box=box,
            created_by=caller.id,
        )


def image_reviews(db: Database, caller: User, image_id: int) -> list[Review]:
    """An image's reviews, oldest first."""
    with db.read() as repos:
        image = require(repos.core.images.get(image_id), "image", image_id)
        project_for(repos, caller, image.project_id, Role.VIEWER, asked=("image", image_id))
        return repos.review.reviews.for_image(image_id)


def review_queue(
    db: Database,
    caller: User,
    project_id: int,
    *,
    job_id: int | None,
    limit: int,
    start: QueuePosition | None = None,
) -> QueuePage:
    """A page of the detections of a project (from ``start``), or of one of its jobs, not yet
    reviewed: the surest first, those not under their run's threshold before those
    under it (viewers)."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        if job_id is not None:
            job = repos.processing.jobs.get(job_id)
            if job is None or job.project_id != project_id:
                raise InvalidInput(f"job {job_id} is not a job of project {project_id}")
        return repos.review.reviews.queue(project_id, job_id, limit, start)


def image_counts(
    db: Database, caller: User, project_id: int, image_ids: Sequence[int]
) -> dict[int, ImageCounts]:
    """Detections and reviewed detections of these images of a project, by image id, of the
    pipeline each photo's deployment counts by: on a photo whose event is tracked, the
    detections its occurrences hold (what every other count counts); on one not tracked
    (yet), the boxes of its current results the viewer shows. Images no analysis completed
    on are left out."""
    with db.read() as repos:
        scope = counting_scope(repos, caller, project_id)
        shown = repos.review.reviews.image_counts(project_id, image_ids, scope)
        if scope.counts_nothing:
            return shown
        tracked = repos.ecology.counts.tracked_per_image(list(shown), scope)
        made = {i: replace(c, made_by=shown[i].made_by) for i, c in tracked.items()}
        return shown | made


class _Suggested(NamedTuple):
    """A project's label suggestions, worked out when its newest annotation was ``newest``."""

    newest: int | None
    labels: list[str]
    until: float


#: The label suggestions of each project, by database engine (``result_labels``; a request's
#: ``Database`` is a wrapper of its own, the engine the process's).
_suggested: WeakKeyDictionary[Engine, dict[int, _Suggested]] = WeakKeyDictionary()


def result_labels(
    db: Database, caller: User, project_id: int, clock: Clock | None = None
) -> list[str]:
    """The labels the models gave most often in a project's latest results: what the grid's
    label filter offers, on every page of the grid. Worked out again once the project has a
    newer annotation (results stored), else remembered for ``SUGGESTIONS_TTL`` seconds (a
    deletion of older results shows by then): reading them is a sample of 50,000
    classifications, some 40-55 ms, where the newest annotation's id is one index step."""
    now = (clock or SystemClock()).monotonic()
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        newest = repos.review.reviews.newest_annotation(project_id)
        memory = _suggested.setdefault(db.engine, {})
        kept = memory.get(project_id)
        if kept is not None and kept.newest == newest and kept.until > now:
            return kept.labels
        labels = repos.review.reviews.result_labels(project_id, TOP_LABELS)
    if len(memory) >= MAX_SUGGESTED:
        memory.clear()
    memory[project_id] = _Suggested(newest, labels, now + SUGGESTIONS_TTL)
    return labels


def project_labels(
    db: Database, caller: User, project_id: int
) -> tuple[list[tuple[str, int]], list[tuple[str | None, int]]]:
    """A project's labels of the most tracked detections, and the determinations of its
    occurrences with how many have each, most first (both of its counting pipeline)."""
    with db.read() as repos:
        sums = repos.ecology.counts.label_sums(counting_scope(repos, caller, project_id))
    by_detections = sorted(sums, key=lambda s: (-s[2], s[0] or ""))
    by_occurrences = sorted(sums, key=lambda s: (-s[1], s[0] is None, s[0] or ""))
    return (
        [(label, d) for label, _, d in by_detections if label is not None][:TOP_LABELS],
        [(label, n) for label, n, _ in by_occurrences[:TOP_LABELS]],
    )


def occurrence_labels(
    db: Database, caller: User, project_id: int, deployment_id: int | None = None
) -> list[tuple[str | None, int]]:
    """The determinations of a project's (or one of its deployments') occurrences, most
    first, with how many occurrences have each (of the project's counting pipeline)."""
    with db.read() as repos:
        scope = counting_scope(repos, caller, project_id, deployment_id=deployment_id)
        return repos.ecology.counts.per_label(scope, TOP_LABELS)


def deployment_activity(
    db: Database, caller: User, deployment_id: int, until: date | None, count: int
) -> Activity:
    """A run of ``count`` nights of a deployment up to ``until`` (None: its latest night with
    a dated photo): each night's photos, and the detections and occurrences of its project's
    counting pipeline by the night the occurrences were first seen."""
    with db.read() as repos:
        deployment = require(repos.core.deployments.get(deployment_id), "deployment", deployment_id)
        project_for(
            repos, caller, deployment.project_id, Role.VIEWER, asked=("deployment", deployment_id)
        )
        latest = repos.ecology.counts.dated(deployment.project_id, deployment_id)
        if latest is None:
            return Activity([], None, None, None)
        last = night_of(latest)
        shown = Nights.ending(min(until or last, last), count)
        span = shown.wall_clock()
        nights = repos.ecology.counts.images_per_night(deployment.project_id, deployment_id, span)
        scope = counting_scope(
            repos,
            caller,
            deployment.project_id,
            deployment_id=deployment_id,
            since=shown.first,
            until=shown.last,
        )
        seen = repos.ecology.counts.per_night(scope)
        counted = []
        for night, n in nights:
            occurrences, detections = seen.get(night, (0, 0))
            counted.append((night, n, detections, occurrences))
        # The runs before and after end at the nearest photo's night, or start at it.
        before = repos.ecology.counts.dated(deployment.project_id, deployment_id, before=span[0])
        after = repos.ecology.counts.dated(deployment.project_id, deployment_id, after=span[1])
        return Activity(
            counted,
            shown,
            earlier=night_of(before) if before is not None else None,
            later=(
                min(Nights.starting(night_of(after), count).last, last)
                if after is not None
                else None
            ),
        )


def _label(label: str | None, *, required: bool) -> str | None:
    label = (label or "").strip() or None
    if required and label is None:
        raise InvalidInput("label: give the right label")
    if label is not None and (len(label) > MAX_LABEL or any(ord(c) < 32 for c in label)):
        raise InvalidInput(f"label: one line of at most {MAX_LABEL} characters")
    return label
