"""A person's review of what a model found: kept beside the machine annotation, never over it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from trapline.domain.processing.results import Box


class Verdict(StrEnum):
    """What the reviewer said about a detection."""

    #: The model's label is right.
    CONFIRM = "confirm"
    #: The thing is there, but it is something else (``label``).
    RELABEL = "relabel"
    #: There is nothing there.
    FALSE_DETECTION = "false_detection"
    #: A box the models missed, drawn by the reviewer (no machine annotation).
    MISSING = "missing"


@dataclass(frozen=True)
class Review:
    """A stored review: a human annotation linked to the machine one (None for a missed box)."""

    id: int
    project_id: int
    image_id: int
    annotation_id: int | None
    verdict: Verdict
    label: str | None
    box: Box | None
    created_by: int | None
    reviewer: str | None
    created_at: datetime


@dataclass(frozen=True)
class QueueItem:
    """A detection waiting for review: its box annotation and the model's best guess."""

    annotation_id: int
    image_id: int
    label: str | None
    confidence: float | None
    #: Under its run's threshold: a speck that counts nowhere unless confirmed.
    under_threshold: bool = False


@dataclass(frozen=True)
class QueuePosition:
    """A place in the review queue's walk: just after the annotation of this confidence
    (None: among the detections without any score, which come after every scored one) and
    id."""

    confidence: float | None
    annotation_id: int


@dataclass(frozen=True)
class QueuePage:
    """A page of the review queue: its detections, those that count first, and where the
    next page starts (None: the queue ends with this page)."""

    items: list[QueueItem]
    following: QueuePosition | None = None


@dataclass(frozen=True)
class ImageCounts:
    """What a photo's tile in the grid says: the detections of its current results that the
    viewer shows, how many of those people reviewed, and how many of its individuals people
    identified."""

    detections: int
    reviewed: int
    #: The pipeline and version of the counted result ("megadetector v5"); None when its
    #: deployment counts by nothing yet.
    made_by: str | None = None
    #: The individuals on it a person identified (of a tracked photo; 0 otherwise).
    identified: int = 0
