"""Human labels: the one place exports learn what a person decided about a machine result.

Every format takes a detection's human label from ``HumanLabel`` (the label a reviewer gave,
who, when) and reports it as a person's classification; ``reviewed_only`` keeps only reviewed
detections. The latest review of a detection counts: *confirm* keeps the model's label,
*relabel* gives the person's, *false_detection* drops the detection from every export. A
box a person drew where the models found nothing (*missing*) is exported as a detection of
its own, classified by that person.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from trapline.domain.ecology.reviews import Review, Verdict


class HumanLabel(NamedTuple):
    """What a person decided about a machine annotation."""

    #: The person's label; None when they confirmed the model's.
    label: str | None
    reviewer: str
    reviewed_at: datetime | None
    #: The person said nothing is there: the detection is left out.
    rejected: bool = False


class BatchReviews(NamedTuple):
    """What people decided about the images of one batch."""

    #: The human label of each reviewed machine annotation, by annotation id.
    labels: dict[int, HumanLabel]
    #: Boxes people drew where the models found nothing, by image id, oldest first.
    drawn: dict[int, list[Review]]


def batch_reviews(reviews: Iterable[Review]) -> BatchReviews:
    """What the reviews of a batch's images (oldest first) decided; the latest review of an
    annotation counts."""
    labels: dict[int, HumanLabel] = {}
    drawn: dict[int, list[Review]] = {}
    for review in reviews:
        if review.verdict is Verdict.MISSING:
            drawn.setdefault(review.image_id, []).append(review)
        elif review.annotation_id is not None:
            labels[review.annotation_id] = human_label(review)
    return BatchReviews(labels, drawn)


def human_label(review: Review) -> HumanLabel:
    """What a review says, as every format reports it."""
    return HumanLabel(
        None if review.verdict is Verdict.CONFIRM else review.label,
        review.reviewer or f"user {review.created_by}",
        review.created_at,
        rejected=review.verdict is Verdict.FALSE_DETECTION,
    )
