"""The image viewer: the photo with every annotation drawn over it, and reviews."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from trapline.domain.core.paging import ImageOrder
from trapline.domain.core.roles import Role
from trapline.domain.ecology.naming import Said, name_box
from trapline.domain.ecology.occurrences import Occurrence
from trapline.domain.ecology.reviews import Review, Verdict
from trapline.domain.processing.results import (
    Analysis,
    AnalysisStatus,
    Annotation,
    AnnotationType,
    Box,
)
from trapline.errors import InvalidInput
from trapline.http.params import MAX_ID, Id
from trapline.services.callbacks import analyses
from trapline.services.ecology import occurrences
from trapline.services.photos import browse, deployments, images, projects
from trapline.services.review import reviews
from trapline.services.taxa import taxa
from trapline.web.forms import one_line, optional_number
from trapline.web.layers import kinds_of, layers_of, ramps_of
from trapline.web.pages import PostedForm, SignedIn
from trapline.web.routes import page_router
from trapline.web.routes.images import Grid, to_blob

router = page_router()


@dataclass(frozen=True)
class Detection:
    """A box with what the models and people said about it."""

    annotation: Annotation
    analysis: Analysis
    #: What names the box, as every count names it (``domain/ecology/naming.py``), and
    #: the model's confidence in the box (its own, else its best classification's).
    label: str | None
    confidence: float | None
    #: Top labels with scores, from the classifications of the box.
    top: list[tuple[str, float]]
    #: The last review of the box, if any.
    review: Review | None
    #: The threshold of the run that found it, if it has one (``db/run_threshold.py``).
    threshold: float | None = None
    #: How sure the model is of the label (a classifier's score, when one named the box).
    label_score: float | None = None
    #: A stage said there is nothing there (a moth filter's ``nonmoth``): counted nowhere.
    rejected: bool = False
    #: The occurrence holding it, when a person identified or rejected that: its name then.
    settled: Occurrence | None = None

    @property
    def below(self) -> bool:
        """Whether the model scored it under its run's threshold (hidden until asked)."""
        return (
            self.threshold is not None
            and self.confidence is not None
            and self.confidence < self.threshold
        )

    @property
    def rect(self) -> tuple[str, str, str, str]:
        """x, y, width, height of the box in image pixels, as SVG attributes."""
        x1, y1, x2, y2 = self.annotation.box or Box(0, 0, 0, 0)
        return f"{x1:.1f}", f"{y1:.1f}", f"{x2 - x1:.1f}", f"{y2 - y1:.1f}"

    @property
    def confidence_text(self) -> str:
        """The model's confidence with two decimals ('' when it gave none)."""
        return "" if self.confidence is None else f"{self.confidence:.2f}"

    @property
    def caption(self) -> str:
        """What is written on the box: what names it and how sure (a person's word without a
        score)."""
        score = self.label_score if self.label_score is not None else self.confidence
        if score is None or self.review is not None or self.rejected or self.settled:
            return self.shown_label
        return f"{self.shown_label} {score:.2f}"

    @property
    def top_text(self) -> str:
        """The top labels with their scores, on one line."""
        return " · ".join(f"{label} {score:.2f}" for label, score in self.top)

    @property
    def shown_label(self) -> str:
        """What the viewer writes on the box: as counting names it, a person's identification
        of its occurrence first, then a person's review of the box, then the models' word."""
        if self.settled is not None:
            said = "rejected" if self.settled.rejected else "identified"
            return f"{self.settled.label} ({said} by {self.settled.identified_by or 'a person'})"
        if self.review is not None:
            if self.review.verdict is Verdict.FALSE_DETECTION:
                return "not an object"
            if self.review.verdict is Verdict.RELABEL and self.review.label:
                return self.review.label
        elif self.rejected:
            return "no object (counted nowhere)"
        return self.label or "object"


def image_level(found: list[Analysis]) -> list[tuple[Analysis, Annotation]]:
    """Results about the whole photo: classifications with no box, and custom items."""
    return [
        (analysis, a)
        for analysis in found
        for a in analysis.annotations
        if a.parent_id is None
        and (
            a.type is AnnotationType.CUSTOM
            or (a.type is AnnotationType.CLASSIFICATION and a.box is None)
        )
    ]


def detections_of(
    found: list[Analysis],
    reviewed: list[Review],
    thresholds: dict[int, float] | None = None,
    hidden: frozenset[str] = frozenset(),
) -> list[Detection]:
    """Every box of an image, named as every count names it, with its classifications, its
    latest review and its run's threshold (``thresholds`` by analysis id;
    ``hidden``: the labels a person mapped as no object)."""
    thresholds = thresholds or {}
    last = {r.annotation_id: r for r in reviewed if r.annotation_id is not None}
    result = []
    for analysis in found:
        children: dict[int, list[Annotation]] = {}
        for a in analysis.annotations:
            if a.parent_id is not None:
                children.setdefault(a.parent_id, []).append(a)
        for a in analysis.annotations:
            if a.type is not AnnotationType.BOUNDING_BOX or a.box is None:
                continue
            kids = [c for c in children.get(a.id, []) if c.type is AnnotationType.CLASSIFICATION]
            best = max(kids, key=lambda c: c.confidence or 0.0, default=None)
            said = [
                Said(c.label, c.confidence, (c.data or {}).get("terminal") is True) for c in kids
            ]
            named = name_box(Said(a.label, a.confidence), said, hidden)
            top: list[tuple[str, float]] = []
            for c in kids:
                data = c.data or {}
                top += list(zip(data.get("labels", []), data.get("scores", []), strict=False))
            top.sort(key=lambda pair: pair[1], reverse=True)
            result.append(
                Detection(
                    annotation=a,
                    analysis=analysis,
                    label=named.label,
                    confidence=a.confidence
                    if a.confidence is not None
                    else (best.confidence if best else None),
                    top=top[:5],
                    review=last.get(a.id),
                    threshold=thresholds.get(analysis.id),
                    label_score=named.score,
                    rejected=named.rejected,
                )
            )
    return result


@router.get("/images/{image_id}")
def viewer(
    page: SignedIn,
    image_id: Id,
    grid: Grid,
    queue: Annotated[str | None, Query(pattern=r"^(project|\d{1,19})$")] = None,
) -> Response:
    """One image at full size with its boxes, labels, confidences and reviews."""
    image, every = analyses.image_with_analyses(page.db, page.me, image_id)
    # The current run of each pipeline is shown and reviewed; older runs on request.
    current = analyses.current_of(page.db, page.me, image)
    found = [a for a in every if a.id in current or a.status is not AnalysisStatus.COMPLETED]
    earlier = [a for a in every if a.id not in current and a.status is AnalysisStatus.COMPLETED]
    project, role = projects.get_project(page.db, page.me, image.project_id)
    reviewed = reviews.image_reviews(page.db, page.me, image_id)
    hidden = taxa.no_object_labels(page.db, page.me, image.project_id)
    thresholds = analyses.thresholds(page.db, every)
    settled = occurrences.settled_on_photo(page.db, page.me, image)
    detections = [
        replace(d, settled=settled.get(d.annotation.id))
        for d in detections_of(found, reviewed, thresholds, hidden)
    ]
    past = detections_of(earlier, reviewed, thresholds, hidden)
    layers = layers_of(found, image.width, image.height)
    newer, older = browse.neighbours(
        page.db, page.me, image, grid.image_filter(), ImageOrder.CAPTURED_DESC
    )
    deployment_name = None
    if image.deployment_id is not None:
        deployment_name = deployments.get_deployment(page.db, page.me, image.deployment_id).name
    return page.render(
        "viewer.html",
        project=project,
        role=role,
        image=image,
        analyses=found,
        detections=detections,
        older_runs=[(a, [d for d in past if d.analysis.id == a.id]) for a in reversed(earlier)],
        past=past,
        reviews=[r for r in reviewed if r.verdict is Verdict.MISSING],
        layers=layers,
        layer_kinds=kinds_of(layers),
        ramps=ramps_of(layers),
        whole_image=image_level(found),
        below=sum(d.below for d in detections),
        models=sorted(
            {d.analysis.pipeline_slug or d.analysis.source for d in detections}
            | {layer.model for layer in layers}
            | ({"people"} if any(r.verdict is Verdict.MISSING for r in reviewed) else set())
        ),
        query=grid.query(),
        newer=newer,
        older=older,
        deployment_name=deployment_name,
        can_review=role.allows(Role.MEMBER),
        queue=queue,
        labels=sorted({label for d in detections for label, _ in d.top}),
    )


@router.get("/images/{image_id}/exif")
def exif(page: SignedIn, image_id: Id) -> Response:
    """The EXIF tags of the image's file, as a table."""
    image = images.get_image(page.db, page.me, image_id)
    project, role = projects.get_project(page.db, page.me, image.project_id)
    tags = images.image_exif(page.db, page.platform.store, page.me, image_id)
    return page.render("exif.html", project=project, role=role, image=image, tags=tags)


@router.post("/images/{image_id}/review")
def review(page: SignedIn, image_id: Id, form: PostedForm) -> Response:
    """Confirm, relabel or reject the detection the review panel holds (the button says
    which)."""
    try:
        verdict = Verdict(str(form.get("verdict") or ""))
        annotation_id = int(str(form.get("annotation") or ""))
        if not 1 <= annotation_id <= MAX_ID:
            raise ValueError
    except ValueError:
        raise InvalidInput(
            "review: pick a detection, then press one of the panel's buttons"
        ) from None
    label = str(form.get("label") or "")
    reviews.review_annotation(
        page.db, page.me, annotation_id, verdict, label or None, image_id=image_id
    )
    queue = str(form.get("queue") or "")
    if queue == "project" or queue.isdigit():
        # Walking the review queue: on to the next detection nobody has reviewed.
        project_id = str(form.get("project") or "")
        job = "" if queue == "project" else f"?job={queue}"
        return page.redirect(f"/projects/{project_id}/review/next{job}")
    query = str(form.get("back") or "")
    back = f"/images/{image_id}" + (f"?{query}" if query and "#" not in query else "")
    return page.redirect(f"{back}#a{annotation_id}")


@router.post("/images/{image_id}/missing")
def missing_box(page: SignedIn, image_id: Id, form: PostedForm) -> Response:
    """A box the models missed, drawn by a person."""
    numbers = []
    for name in ("x1", "y1", "x2", "y2"):
        value = optional_number(str(form.get(name) or ""), name, 0, 10**6)
        if value is None:
            raise InvalidInput(f"{name}: required (draw the box on the image)")
        numbers.append(value)
    label = one_line(str(form.get("label") or ""), "label")
    reviews.add_missing_box(page.db, page.me, image_id, Box(*numbers), label)
    return page.redirect(f"/images/{image_id}")


@router.get("/annotations/{annotation_id}/layer")
def layer(page: SignedIn, annotation_id: Id) -> Response:
    """The PNG a mask or heatmap annotation points at: a redirect to its signed link."""
    url = analyses.layer_url(
        page.db,
        page.platform.store,
        page.me,
        annotation_id,
        expires_in=page.platform.settings.storage.signed_url_ttl,
    )
    return to_blob(page, url)
