"""Human labels: the one place exports learn what a person decided about a machine result.

Every format takes a detection's human label from ``HumanLabel`` (the label a reviewer gave,
who, when) and reports it as a person's classification; ``reviewed_only`` keeps only reviewed
detections. The latest review of a detection counts: *confirm* keeps the model's label,
*relabel* gives the person's, *false_detection* drops the detection from every export. A
box a person drew where the models found nothing (*missing*) is exported as a detection of
its own, classified by that person.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from trapline.db.repositories import Repos
from trapline.domain.reviews import Review, Verdict


class HumanLabel(NamedTuple):
    """What a person decided about a machine annotation."""

    #: The person's label; None when they confirmed the model's.
    label: str | None
    reviewer: str
    reviewed_at: datetime | None
    #: The person said nothing is there: the detection is left out.
    rejected: bool = False


def drawn_boxes(repos: Repos, image_ids: Sequence[int]) -> dict[int, list[Review]]:
    """Boxes people drew where the models found nothing, by image id."""
    found: dict[int, list[Review]] = {}
    for review in repos.reviews.drawn_on(image_ids):
        found.setdefault(review.image_id, []).append(review)
    return found


def human_labels(repos: Repos, annotation_ids: Sequence[int]) -> dict[int, HumanLabel]:
    """The human labels of these machine annotations, by annotation id (the latest review)."""
    return {
        review.annotation_id: human_label(review)
        for review in repos.reviews.latest_for(annotation_ids)
        if review.annotation_id is not None
    }


def human_label(review: Review) -> HumanLabel:
    """What a review says, as every format reports it."""
    return HumanLabel(
        None if review.verdict is Verdict.CONFIRM else review.label,
        review.reviewer or f"user {review.created_by}",
        review.created_at,
        rejected=review.verdict is Verdict.FALSE_DETECTION,
    )
