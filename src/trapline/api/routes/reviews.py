"""People's reviews of detections: kept beside the machine annotations, never over them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.domain.ecology.reviews import Review, Verdict
from trapline.http.params import Id
from trapline.schemas.common import Input
from trapline.services.review import reviews

router = APIRouter(tags=["reviews"])


#: Characters a label may not hold (as in one-line names).
_NOT_IN_LABEL = (
    r"\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
)
#: A one-line label that neither starts nor ends with a space.
LABEL = rf"^[^\s{_NOT_IN_LABEL}](?:[^{_NOT_IN_LABEL}]*[^\s{_NOT_IN_LABEL}])?$"
ReviewLabel = Annotated[str, StringConstraints(max_length=255, pattern=LABEL)]


class VerdictIn(Input):
    #: confirm: the model's label is right; false_detection: there is nothing there.
    verdict: Literal["confirm", "false_detection"]
    label: ReviewLabel | None = None


class RelabelIn(Input):
    #: relabel: the thing is there, and it is ``label``.
    verdict: Literal["relabel"]
    label: ReviewLabel


ReviewIn = Annotated[VerdictIn | RelabelIn, Field(discriminator="verdict")]


class ReviewOut(BaseModel):
    id: int
    image_id: int
    #: The machine annotation reviewed; None for a box people drew where models found nothing.
    annotation_id: int | None
    verdict: str
    label: str | None
    #: [x1, y1, x2, y2] in pixels of the stored image, for a drawn box.
    box: list[float] | None
    created_by: int | None
    reviewer: str | None
    created_at: AwareDatetime

    @classmethod
    def of(cls, review: Review) -> ReviewOut:
        created: datetime = review.created_at
        return cls(
            id=review.id,
            image_id=review.image_id,
            annotation_id=review.annotation_id,
            verdict=review.verdict.value,
            label=review.label,
            box=list(review.box) if review.box else None,
            created_by=review.created_by,
            reviewer=review.reviewer,
            created_at=created,
        )


@router.post("/annotations/{annotation_id}/reviews", status_code=201)
def review_annotation(
    annotation_id: Id, body: ReviewIn, caller: CurrentUser, db: DatabaseDep
) -> ReviewOut:
    """Confirm, relabel or reject a detection (members); the detection itself is unchanged."""
    made = reviews.review_annotation(db, caller, annotation_id, Verdict(body.verdict), body.label)
    return ReviewOut.of(made)


@router.get("/images/{image_id}/reviews")
def image_reviews(image_id: Id, caller: CurrentUser, db: DatabaseDep) -> dict[str, object]:
    """An image's reviews, oldest first (the last one about a detection is the one shown)."""
    found = [ReviewOut.of(r) for r in reviews.image_reviews(db, caller, image_id)]
    return {"count": len(found), "next": None, "previous": None, "results": found}
