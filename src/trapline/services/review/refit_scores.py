"""A fitted refit scored against an evaluation set, beside the model whose features it reads
(docs/evaluation.md).

The set is walked photo by photo as a version's scoring walks it (``evaluation.score``): the
boxes are those the features' version counts on each photo, each matched to the identified
boxes the same way; only the taxon of each box is the refit's, the most probable taxon of the
box's vector (ranked by probability for top-5). A box without a vector of the refit's length
gets no taxon, so an identified box it stands for counts as named wrong. The figures therefore
mean exactly what a version's do, and the version's own scoring is returned beside them.

Leakage: a set frozen from the same identifications as the refit holds boxes the refit learnt
from. An identified box counts as *in the fit* when its identification is one the refit may
have taken (an id up to the refit's newest) or when such an identification named the box or
another detection of its individual; the figures on the others (``held_out``) are the ones
that say how the refit does on animals it never saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.repositories.review.evaluation_boxes import VersionBox
from trapline.domain.core.records import User
from trapline.errors import InvalidInput
from trapline.evaluation.classifiers import Classifier
from trapline.evaluation.fits import FitStatus
from trapline.evaluation.heads import Head
from trapline.evaluation.sets import TOP_K, EvaluationSet, Found, ItemKind, SetItem, SetScore
from trapline.services.core.access import require
from trapline.services.review import evaluation
from trapline.services.review.classifiers import FIELD, get_classifier
from trapline.services.review.crop_features import Photos, described
from trapline.services.review.evaluation import PHOTOS_READ, Scored, Version, find_version

#: What the refit names a box without a vector of its length (a label no taxon stands for).
NO_VECTOR = "no feature vector"


@dataclass(frozen=True)
class RefitScored:
    """A refit's scores against a set: over all its identified boxes, and over those it was
    not fitted on (``held_out``); how many were in the fit; how many of the version's boxes had
    no vector to read; and the features' version scored on the same set (``model``)."""

    classifier: Classifier
    set: EvaluationSet
    version: Version
    score: SetScore
    held_out: SetScore
    in_fit: int
    no_vector: int
    model: Scored


def score_refit(
    db: Database, caller: User, classifier_id: int, set_id: int, photos: Photos
) -> RefitScored:
    """Score a fitted refit against an evaluation set of its project, beside the version whose
    features it reads (viewers); a set of another project is answered as a missing one. A
    refit on crops describes the version's boxes from their photos (``photos``)."""
    found = get_classifier(db, caller, classifier_id)
    if found.status is not FitStatus.FITTED or found.features_version is None:
        raise InvalidInput(
            f"classifier: refit {classifier_id} is {found.status.value}, not fitted yet; "
            "score it once it is fitted",
            field="classifier",
        )
    slug, _ = evaluation.parse_side(found.boxes_of, FIELD)
    with db.read() as repos:
        chosen = repos.review.evaluation_sets.get(set_id)
        chosen = require(
            chosen if chosen is not None and chosen.project_id == found.project_id else None,
            "evaluation set",
            set_id,
        )
        stored = repos.review.classifiers.parameters(classifier_id)
        if stored is None:
            raise InvalidInput(
                f"classifier: refit {classifier_id} has no stored head; refit again",
                field="classifier",
            )
        head = Head.from_bytes(stored)
        version = find_version(repos, found.project_id, slug, found.features_version)
        walked = _walk(repos, found, chosen, version, head, photos if found.on_crops else None)
    model = evaluation.score(db, caller, set_id, slug, version.version)
    return RefitScored(found, chosen, version, *walked, model)


def _walk(
    repos: Repos,
    found: Classifier,
    chosen: EvaluationSet,
    version: Version,
    head: Head,
    crops: Photos | None,
) -> tuple[SetScore, SetScore, int, int]:
    """The set walked ``PHOTOS_READ`` photos at a time: the refit's tallies over all and held
    out, the identified boxes in the fit, and the version's boxes without a vector."""
    hidden = frozenset(repos.taxa.taxa.hidden_labels(found.project_id))
    latest = found.latest_identification_id or 0
    tally, held_out = SetScore(), SetScore()
    in_fit = no_vector = 0
    after = 0
    while photos := repos.review.evaluation_sets.photos(chosen.id, after, PHOTOS_READ):
        after = photos[-1]
        items = repos.review.evaluation_sets.items(chosen.id, photos)
        seen, boxes = repos.review.evaluation_boxes.found(version.id, photos, hidden)
        named = _named(repos, head, version, boxes, crops)
        no_vector += sum(f.label == NO_VECTOR for f in named)
        fitted = _fitted(repos, found.project_id, latest, items)
        in_fit += len(fitted)
        others = {i.id for i in items if i.kind is ItemKind.IDENTIFIED} - fitted
        by_photo: dict[int, list[Found]] = {}
        for box, said in zip(boxes, named, strict=True):
            by_photo.setdefault(box.image_id, []).append(said)
        on_photo: dict[int, list[SetItem]] = {}
        for item in items:
            on_photo.setdefault(item.image_id, []).append(item)
        for image_id in photos:
            held = on_photo.get(image_id, [])
            boxes_there = by_photo.get(image_id, []) if image_id in seen else None
            tally.add(held, boxes_there)
            held_out.add(held, boxes_there, only=others)
    for scored in (tally, held_out):
        predicted = {k for _, k in scored.confusion if isinstance(k, int)} - set(scored.names)
        for taxon in repos.taxa.taxa.by_ids(predicted).values():
            scored.names[taxon.id] = taxon.scientific_name
    return tally, held_out, in_fit, no_vector


def _named(
    repos: Repos,
    head: Head,
    version: Version,
    boxes: Sequence[VersionBox],
    crops: Photos | None,
) -> list[Found]:
    """Each box as the refit names it: the taxa of its vector (with ``crops``, of its crop's
    descriptor), most probable first (the first ``TOP_K``); a box without a vector of the
    head's length (or whose photo cannot be read) is named nothing."""
    wanted = [b.annotation_id for b in boxes]
    if crops is None:
        ids, matrix = repos.review.refit_examples.box_vectors(
            wanted, version.slug, version.version, head.length
        )
    else:  # decision 074
        ids, matrix = described(crops, repos.review.crop_boxes.places(wanted), wanted)
    ranked: dict[int, tuple[int, ...]] = {}
    if ids and matrix.shape[1] == head.length:  # a head of another descriptor names nothing
        order = np.argsort(-head.probabilities(matrix), axis=1, kind="stable")[:, :TOP_K]
        for box_id, row in zip(ids, head.labels[order].tolist(), strict=True):
            ranked[box_id] = tuple(int(t) for t in row)
    named = []
    for box in boxes:
        taxa = ranked.get(box.annotation_id)
        if taxa is None:
            named.append(Found(box.rect, box.score, None, NO_VECTOR))
        else:
            named.append(Found(box.rect, box.score, taxa[0], None, taxa))
    return named


def _fitted(repos: Repos, project_id: int, latest: int, items: Sequence[SetItem]) -> set[int]:
    """The identified items (ids) the refit may have learnt from: named by an identification
    up to ``latest``, or whose box (or another detection of its individual) such an
    identification named."""
    identified = [i for i in items if i.kind is ItemKind.IDENTIFIED]
    boxes = [i.annotation_id for i in identified if i.annotation_id is not None]
    named = repos.review.refit_examples.fitted_boxes(project_id, boxes, latest) if latest else set()
    return {
        i.id
        for i in identified
        if (i.identification_id is not None and i.identification_id <= latest)
        or i.annotation_id in named
    }
