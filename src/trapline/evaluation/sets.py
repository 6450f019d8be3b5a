"""Scoring a model version against an evaluation set: the boxes people identified, confirmed,
rejected or drew on some photos, frozen; and the version's boxes on the photos it ran on.

Photo by photo (``SetScore.add``): the version's boxes are matched to the identified boxes
(``metrics.match``, IoU 0.5, most confident first); an identified box's prediction is the taxon
of the box matched to it (none when no box is). Precision, recall and accuracy count the
identified boxes of the photos the version ran on ("seen"); the others are left out, as the
version never had them to see. For the boxes themselves, the identified, confirmed and drawn
boxes are the true ones: a version's box matched to one is found, one of them unmatched is
missed, and an unmatched box of the version is a false one when it overlaps (IoU 0.5) a box a
person rejected or a true box another box matched first; anywhere else nobody judged it, and it
counts in neither.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from trapline.evaluation.metrics import Counts, Prediction, Rect, iou, match

#: The overlap at which a version's box stands for a person's.
IOU = 0.5
#: How many ranked labels top-k accuracy looks at.
TOP_K = 5


class ItemKind(StrEnum):
    """What a person said of a box of an evaluation set."""

    IDENTIFIED = "identified"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    DRAWN = "drawn"


@dataclass(frozen=True)
class EvaluationSet:
    """A stored evaluation set: what was frozen (the deployment, dates and taxa asked for;
    none: all) and how many boxes it holds."""

    id: int
    project_id: int
    name: str
    deployment_id: int | None
    since: date | None
    until: date | None
    taxa: tuple[str, ...]
    #: Identified boxes (the set's members).
    size: int
    #: Boxes people confirmed, rejected or drew on the same photos.
    reviewed: int
    created_by: str | None
    created_at: datetime


@dataclass(frozen=True)
class SetItem:
    """A box of an evaluation set on one photo, and (identified boxes) the taxon named."""

    id: int
    image_id: int
    kind: ItemKind
    rect: Rect
    taxon_id: int | None = None
    scientific_name: str | None = None
    #: The box identified and the identification naming it, as frozen (ids).
    annotation_id: int | None = None
    identification_id: int | None = None


@dataclass(frozen=True)
class Found:
    """A box a version found (at its threshold, no stage calling it no object): how sure,
    the taxon its name stands for, and the taxa of its ranked labels, surest first."""

    rect: Rect
    score: float
    taxon_id: int | None
    #: The label naming it, for a name that stands for no taxon.
    label: str | None = None
    ranked: tuple[int | None, ...] = ()


#: A prediction as the confusion table names it: a taxon id, a label no taxon stands for
#: (as text), or None for no box.
Predicted = int | str | None


@dataclass
class SetScore:
    """The tallies of one version against one set, added photo by photo."""

    size: int = 0
    seen: int = 0
    correct: int = 0
    in_top_k: int = 0
    #: Whether any prediction ranked several labels (so top-k says more than top-1).
    ranked_several: bool = False
    #: (truth taxon id or None, prediction) -> identified boxes.
    confusion: Counter[tuple[int | None, Predicted]] = field(default_factory=Counter)
    #: Identified boxes per taxon in the whole set, seen or not.
    members: Counter[int | None] = field(default_factory=Counter)
    #: The frozen name of each truth taxon.
    names: dict[int | None, str] = field(default_factory=dict)
    boxes: Counts = field(default_factory=Counts)
    unjudged: int = 0
    by_kind: Counter[ItemKind] = field(default_factory=Counter)

    def add(
        self,
        items: Sequence[SetItem],
        found: Sequence[Found] | None,
        only: Collection[int] | None = None,
    ) -> None:
        """One photo: the set's items on it, and the version's boxes (None: it did not run
        on the photo). With ``only`` (item ids), only those identified boxes are tallied;
        the others still take part in matching boxes, so each tallied box gets the same
        prediction as in a tally of all."""
        identified = [i for i in items if i.kind is ItemKind.IDENTIFIED]
        counted = [i for i in identified if only is None or i.id in only]
        self.size += len(counted)
        for item in counted:
            self.members[item.taxon_id] += 1
            self.names.setdefault(item.taxon_id, item.scientific_name or "")
        if found is None:
            return
        self.by_kind.update(i.kind for i in items)
        self.seen += len(counted)
        predictions = [Prediction(f.rect, f.score) for f in found]
        matching = match(predictions, [i.rect for i in identified], IOU)
        taken: dict[int, Found] = {
            truth: found[n] for n, truth in enumerate(matching.matches) if truth is not None
        }
        for number, item in enumerate(identified):
            if only is None or item.id in only:
                self._classified(item, taken.get(number))
        self._boxes(items, found)

    def _classified(self, item: SetItem, found: Found | None) -> None:
        predicted: Predicted = None
        if found is not None:
            predicted = found.taxon_id if found.taxon_id is not None else (found.label or "")
        self.confusion[(item.taxon_id, predicted)] += 1
        hit = item.taxon_id is not None and found is not None and found.taxon_id == item.taxon_id
        self.correct += hit
        if found is not None and len(found.ranked) > 1:
            self.ranked_several = True
        ranked = found.ranked[:TOP_K] if found is not None and found.ranked else ()
        self.in_top_k += hit or (item.taxon_id is not None and item.taxon_id in ranked)

    def _boxes(self, items: Sequence[SetItem], found: Sequence[Found]) -> None:
        true = [i.rect for i in items if i.kind is not ItemKind.REJECTED]
        rejected = [i.rect for i in items if i.kind is ItemKind.REJECTED]
        matching = match([Prediction(f.rect, f.score) for f in found], true, IOU)
        false = unjudged = 0
        for f, matched in zip(found, matching.matches, strict=True):
            if matched is not None:
                continue
            if any(iou(f.rect, r) >= IOU for r in (*rejected, *true)):
                false += 1
            else:
                unjudged += 1
        hits = len(found) - false - unjudged
        self.boxes += Counts(hits, false, matching.found.count(False))
        self.unjudged += unjudged

    @property
    def accuracy(self) -> float | None:
        """Identified boxes seen whose taxon the version named, of those seen."""
        return self.correct / self.seen if self.seen else None

    @property
    def top_k_accuracy(self) -> float | None:
        """Identified boxes seen whose taxon is among the version's first ``TOP_K`` labels;
        None where no prediction ranked several."""
        return self.in_top_k / self.seen if self.seen and self.ranked_several else None

    def taxa(self) -> list[TaxonScore]:
        """Per taxon named by people or predicted by the version: its figures, most
        identified boxes first, then by name."""
        support: Counter[int | None] = Counter()
        predicted: Counter[Predicted] = Counter()
        correct: Counter[int | None] = Counter()
        for (truth, said), n in self.confusion.items():
            support[truth] += n
            predicted[said] += n
            if truth is not None and truth == said:
                correct[truth] += n
        keys: list[int | None] = list(self.members)
        keys += [k for k in predicted if isinstance(k, int) and k not in self.members]
        rows = [
            TaxonScore(
                taxon_id=key,
                scientific_name=self.names.get(key, ""),
                members=self.members[key],
                support=support[key],
                predicted=predicted[key],
                correct=correct[key],
            )
            for key in keys
        ]
        return sorted(rows, key=lambda r: (-r.members, -r.predicted, r.scientific_name))


@dataclass(frozen=True)
class TaxonScore:
    """One taxon's figures: identified boxes in the set (``members``) and on photos the
    version saw (``support``), boxes the version named it, and those rightly."""

    taxon_id: int | None
    scientific_name: str
    members: int
    support: int
    predicted: int
    correct: int

    @property
    def precision(self) -> float | None:
        """Of the boxes the version named this taxon, the share people named so (None: it
        named none)."""
        return self.correct / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        """Of the boxes people named this taxon (seen), the share the version named so (None:
        it saw none)."""
        return self.correct / self.support if self.support else None
