"""Occurrences: one individual seen in consecutive photos of an event, counted once.

Within an event, the detections of one pipeline's current results are tracked from photo to
photo (``tracking.py``); each chain of linked detections is an occurrence. Detections under
their run's threshold, labelled as no object (``NOT_AN_OBJECT``, or a label a person
mapped as no object) or called a false detection by a reviewer take no part.

An occurrence's *determination* (``determine``) is, first to last:

1. a person's identification: the latest one not withdrawn on any of its detections (an
   identification made on an occurrence is kept on its best detection, so it follows the
   individual through later trackings). It names a taxon, or rejects the occurrence (a
   ``Rejection``: "not an insect", "nothing there"): a rejected occurrence keeps its id and
   detections but counts nowhere.
2. a person's review: the latest review of any of its detections (a confirmation keeps the
   model's label, a relabel gives its own).
3. the models: a detection's own label is its most confident *terminal* classification's (a
   classifier's species beats the detector's category), else the box's label; the occurrence
   takes the label of the detection whose label is surest, preferring those a terminal
   classification names (ties: the earliest photo).

A label (2, 3) names a taxon through the project's label mappings (``taxa.LabelResolver``).
People *disagree* about an occurrence when the latest identifications of two people name
different taxa: the determination is still the latest, and the disagreement is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from trapline.domain.ecology.reviews import Verdict
from trapline.domain.taxa.rejections import Rejection
from trapline.domain.taxa.taxa import NOT_AN_OBJECT, IdentificationMark


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
    #: The pipeline's feature vector, when it posted one (and it was read: tracking reads
    #: those of the detections that take part).
    features: Sequence[float] | None
    #: The latest review of it: (review id, verdict, label), if any.
    review: tuple[int, Verdict, str | None] | None
    #: Under its run's threshold (its job's own, else its pipeline's default).
    below_threshold: bool
    #: People's identifications of it, not withdrawn, oldest first.
    identifications: tuple[IdentificationMark, ...] = ()
    #: How sure the label is: its classification's score when a classification names it,
    #: else the box's confidence.
    label_score: float | None = None
    #: Whether a terminal classification names the label (a classifier's answer).
    classified: bool = False
    #: Labels a person of the project mapped as no object.
    hidden_labels: frozenset[str] = frozenset()
    #: A classification of it says there is no object (a moth filter's ``nonmoth``, a label
    #: mapped as no object): it counts nowhere, whatever the detector scored.
    rejected: bool = False
    #: The classification that names it (where its features may be), if any.
    classification_id: int | None = None

    @property
    def label_confidence(self) -> float | None:
        """How sure the models are of its label."""
        return self.label_score if self.label_score is not None else self.confidence

    @property
    def takes_part(self) -> bool:
        """Whether it is tracked into an occurrence: a person's word first (a confirmed
        detection counts even under the threshold), else a stage's verdict that there is
        nothing (``rejected``), its threshold and its label."""
        if self.review is not None:
            _, verdict, label = self.review
            if verdict is Verdict.FALSE_DETECTION:
                return False
            chosen = label if verdict is Verdict.RELABEL else self.label
            return not no_object(chosen, self.hidden_labels)
        if self.rejected:
            return False
        return not self.below_threshold and not no_object(self.label, self.hidden_labels)


@lru_cache(maxsize=4096)  # an export asks it of every box and classification
def no_object(label: str | None, hidden: frozenset[str] = frozenset()) -> bool:
    """Whether a label says there is nothing of interest: one of the no-object words, or a
    label a person mapped as no object (``hidden``)."""
    text = (label or "").strip()
    return text.lower() in NOT_AN_OBJECT or text in hidden


@dataclass(frozen=True)
class Determination:
    """What an occurrence is taken for, how sure, and on whose word."""

    label: str | None
    score: float | None
    by: DeterminedBy
    #: The taxon named: the identification's, else the label's mapping (None: unmapped).
    taxon_id: int | None = None
    #: The person whose identification it is.
    identified_by: str | None = None
    #: Whether people's latest identifications name different taxa.
    disputed: bool = False
    #: The rejection that determines it (``Rejection``'s value): it counts nowhere.
    rejected: str | None = None


def no_taxon(label: str | None) -> int | None:
    """A resolver that maps no label (a project without a taxa list)."""
    return None


def determine(
    detections: Sequence[Detection], taxon_of: Callable[[str | None], int | None] = no_taxon
) -> Determination:
    """The determination of an occurrence's detections (in photo order); ``taxon_of`` names
    a label's taxon."""
    marks = sorted((m for d in detections for m in d.identifications), key=lambda m: m.id)
    if marks:
        latest = marks[-1]
        by_person = {m.user_id: m.rejected or m.taxon_id for m in marks}
        return Determination(
            Rejection(latest.rejected).words if latest.rejected else latest.taxon_name,
            None,
            DeterminedBy.PERSON,
            taxon_id=latest.taxon_id,
            identified_by=latest.user_name,
            disputed=len(set(by_person.values())) > 1,
            rejected=latest.rejected,
        )
    reviewed = [d for d in detections if d.review is not None]
    if reviewed:
        latest_review = max(reviewed, key=lambda d: d.review[0] if d.review else 0)
        assert latest_review.review is not None
        _, verdict, label = latest_review.review
        chosen = label if verdict is Verdict.RELABEL else latest_review.label
        return Determination(chosen, None, DeterminedBy.PERSON, taxon_id=taxon_of(chosen))
    named = surest_label(detections)
    return Determination(
        named.label, named.label_confidence, DeterminedBy.MODEL, taxon_id=taxon_of(named.label)
    )


def surest_label(detections: Sequence[Detection]) -> Detection:
    """The detection whose label the models are surest of: among those a terminal
    classification names, if any (a species beats a category), the highest label score;
    ties: the earliest."""
    candidates = [d for d in detections if d.classified] or list(detections)
    return max(
        enumerate(candidates),
        key=lambda pair: (
            pair[1].label_confidence if pair[1].label_confidence is not None else -1,
            -pair[0],
        ),
    )[1]


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
    taxon_id: int | None = None
    identified_by: str | None = None
    disputed: bool = False
    #: A person rejected it (``Rejection``'s value): it counts nowhere.
    rejected: str | None = None


@dataclass(frozen=True)
class LabelGroup:
    """Occurrences the models determine with one label (and its taxon, if it names one)."""

    label: str | None
    taxon_id: int | None
    #: How many occurrences the group has.
    count: int
    #: The ids of its first occurrences in the queue's order (what one confirmation takes).
    member_ids: list[int]
    #: The first of those, whole (what the page shows of the group).
    occurrences: list[Occurrence]


@dataclass(frozen=True)
class OccurrenceDetection:
    """One detection of an occurrence, with the photo it is in and what its link cost."""

    annotation_id: int
    image_id: int
    box: tuple[float, float, float, float]
    #: What names it (a terminal classification, else its own label, else its surest
    #: classification's: as tracking reads it).
    label: str | None
    #: The box's own confidence.
    confidence: float | None
    cost: float | None
    captured_at: datetime | None
    captured_offset_minutes: int | None
    #: How sure its label is.
    label_score: float | None = None


def within_cap(
    detections: Sequence[Detection], first: str | None, max_boxes: int
) -> tuple[list[Detection], int]:
    """The detections that take part in tracking, at most ``max_boxes`` of a photo whatever
    the pipelines that posted them (twenty models of a thousand boxes each are one photo's
    thousand): those of ``first`` (what the deployment counts by) first, then each pipeline's
    by name, each in its own order; and how many were left out."""
    ranked = sorted(
        enumerate(detections), key=lambda n_d: (n_d[1].pipeline != first, n_d[1].pipeline, n_d[0])
    )
    taken: dict[int, int] = {}
    kept: list[Detection] = []
    for _, d in ranked:
        if taken.get(d.image_id, 0) < max_boxes:
            taken[d.image_id] = taken.get(d.image_id, 0) + 1
            kept.append(d)
    return kept, len(detections) - len(kept)
