"""Occurrences: one individual seen in consecutive photos of an event, counted once.

Within an event, the detections of one pipeline's current results are tracked from photo to
photo (``tracking.py``); each chain of linked detections is an occurrence. Detections under
their pipeline's threshold, labelled as no object (``NOT_AN_OBJECT``) or called a false
detection by a reviewer take no part.

An occurrence's *determination* is a person's word when there is one: the latest review of
any of its detections (a confirmation keeps the model's label, a relabel gives its own).
Otherwise it is the models' most confident classification over its detections: the label of
the single most confident one, with that score (ties: the earliest photo).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from trapline.domain.reviews import Verdict

#: Labels that say a detection is no object of interest: they take no part in occurrences.
NOT_AN_OBJECT = frozenset({"not an insect", "not-insect", "not_insect", "nonmoth", "background"})


class DeterminedBy(StrEnum):
    """Whose word an occurrence's label is."""

    MODEL = "model"
    PERSON = "person"


@dataclass(frozen=True)
class Detection:
    """A detection of an event's current results, as tracking and determination see it."""

    annotation_id: int
    image_id: int
    #: The pipeline whose results it is in (slug, or the external source).
    pipeline: str
    box: tuple[float, float, float, float]
    label: str | None
    confidence: float | None
    #: The pipeline's feature vector, when it posted one.
    features: tuple[float, ...] | None
    #: The latest review of it: (review id, verdict, label), if any.
    review: tuple[int, Verdict, str | None] | None
    #: Under its pipeline's default threshold.
    below_threshold: bool

    @property
    def takes_part(self) -> bool:
        """Whether it is tracked into an occurrence: a person's word first (a confirmed
        detection counts even under the threshold), else its threshold and label."""
        if self.review is not None:
            _, verdict, label = self.review
            if verdict is Verdict.FALSE_DETECTION:
                return False
            return not no_object(label if verdict is Verdict.RELABEL else self.label)
        return not self.below_threshold and not no_object(self.label)


def no_object(label: str | None) -> bool:
    """Whether a label says there is nothing of interest."""
    return (label or "").strip().lower() in NOT_AN_OBJECT


@dataclass(frozen=True)
class Determination:
    """What an occurrence is taken for, how sure, and on whose word."""

    label: str | None
    score: float | None
    by: DeterminedBy


def determine(detections: Sequence[Detection]) -> Determination:
    """The determination of an occurrence's detections (in photo order)."""
    reviewed = [d for d in detections if d.review is not None]
    if reviewed:
        latest = max(reviewed, key=lambda d: d.review[0] if d.review else 0)
        assert latest.review is not None
        _, verdict, label = latest.review
        chosen = label if verdict is Verdict.RELABEL else latest.label
        return Determination(chosen, None, DeterminedBy.PERSON)
    best = best_detection(detections)
    return Determination(best.label, best.confidence, DeterminedBy.MODEL)


def best_detection(detections: Sequence[Detection]) -> Detection:
    """The most confident detection (its crop shows the occurrence); ties: the earliest."""
    return max(
        enumerate(detections),
        key=lambda pair: (pair[1].confidence if pair[1].confidence is not None else -1, -pair[0]),
    )[1]


@dataclass(frozen=True)
class Occurrence:
    """A stored occurrence."""

    id: int
    project_id: int
    deployment_id: int
    event_id: int
    pipeline: str
    first_seen_at: datetime
    first_offset_minutes: int
    last_seen_at: datetime
    last_offset_minutes: int
    detection_count: int
    best_annotation_id: int
    label: str | None
    score: float | None
    determined_by: DeterminedBy
    edited: bool


@dataclass(frozen=True)
class OccurrenceDetection:
    """One detection of an occurrence, with the photo it is in and what its link cost."""

    annotation_id: int
    image_id: int
    box: tuple[float, float, float, float]
    label: str | None
    confidence: float | None
    cost: float | None
    captured_at: datetime | None
    captured_offset_minutes: int | None
