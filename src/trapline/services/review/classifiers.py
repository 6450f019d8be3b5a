"""Classifier heads refitted from people's identifications (decision 069; docs/evaluation.md).

A member asks for a refit on the feature vectors one pipeline posted with the project's
identified detections. The request checks what can be checked at once (the pipeline, vectors
of one length, enough identified individuals of enough taxa) and queues the refit; a
background run (``background/classifiers.py``) reads the vectors into one matrix of 4-byte
floats, cross-validates by event, fits, and stores the head and its figures.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np

from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.repositories.review.classifiers import FittedOn
from trapline.db.repositories.review.refit_examples import IdentifiedFeatures
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.errors import Conflict, InvalidInput
from trapline.evaluation.classifiers import CROPS, Classifier, on_crops
from trapline.evaluation.heads import Floats
from trapline.evaluation.reduction import fit_projection, projected
from trapline.evaluation.refit import (
    Examples,
    Refit,
    TaxonCount,
    census,
    enough,
    fit,
    shortfall,
)
from trapline.imaging.descriptors import CROP_LENGTH
from trapline.services.core.access import project_for, require, require_person
from trapline.services.review.crop_features import Photos, describe
from trapline.services.review.evaluation import parse_side

SYSTEM_CLOCK = SystemClock()
FIELD = "features_from"
#: Refits a project's listing shows (the newest).
LISTED = 200


class Submits(Protocol):
    """Whatever runs a queued refit soon (``background/classifiers.RefitRunner``)."""

    def submit(self, run_id: int) -> None: ...


@dataclass(frozen=True, eq=False)
class Usable:
    """The identified detections a refit takes (the taxa with enough of them), the length of
    their vectors, their version, and every taxon's count (those with too few included)."""

    rows: IdentifiedFeatures
    length: int
    version: int
    counts: list[TaxonCount]
    names: dict[int, str]


def create_classifier(
    db: Database,
    runner: Submits,
    caller: User,
    project_id: int,
    name: str,
    features_from: str,
    *,
    clock: Clock = SYSTEM_CLOCK,
) -> Classifier:
    """Queue a refit of the project's identifications on the vectors of ``features_from``
    (a pipeline's slug, or ``slug@N``) named ``name`` (members); InvalidInput saying what is
    missing when the identifications are too few, or naming the lengths when the vectors
    differ."""
    name, features_from = name.strip(), features_from.strip()
    if not name:
        raise InvalidInput("name: required", field="name")
    slug, version = parse_side(features_from.removeprefix(CROPS), FIELD)
    with db.read() as repos:
        project_for(repos, require_person(caller), project_id, Role.MEMBER)
        check_features_from(repos, project_id, slug, version)
        _check_name(repos, project_id, name)
        usable(repos, project_id, features_from)
    with db.write() as repos:
        project_for(repos, require_person(caller), project_id, Role.MEMBER)
        _check_name(repos, project_id, name)
        made = repos.review.classifiers.create(
            project_id, name, features_from, caller.id, clock.now()
        )
        found = repos.review.classifiers.get(made)
        assert found is not None
    runner.submit(made)
    return found


def get_classifier(db: Database, caller: User, classifier_id: int) -> Classifier:
    """One refit (viewers of its project; others are told it is not there)."""
    with db.read() as repos:
        found = require(repos.review.classifiers.get(classifier_id), "classifier", classifier_id)
        asked = ("classifier", classifier_id)
        project_for(repos, caller, found.project_id, Role.VIEWER, asked=asked)
        return found


def list_classifiers(db: Database, caller: User, project_id: int) -> list[Classifier]:
    """The project's refits, newest first, the latest ``LISTED`` (viewers)."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.review.classifiers.of_project(project_id, LISTED)


def fit_classifier(
    db: Database, classifier_id: int, holder: str, clock: Clock, photos: Photos
) -> bool | None:
    """Fit a refit ``holder`` has claimed and store it: True when stored, None when the refit
    is gone or no longer ``holder``'s; InvalidInput when its identifications will not do.
    A refit on crops describes its boxes from their photos (``photos``) first."""

    def progress(stage: str, share: float) -> None:
        with db.write() as repos:
            repos.review.classifiers.progressed(classifier_id, holder, stage, round(share, 4))

    progress("reading the identified detections' features", 0.0)
    with db.read() as repos:
        found = repos.review.classifiers.get(classifier_id)
        if found is None:
            return None
        chosen = usable(repos, found.project_id, found.features_from)
        if not found.on_crops:
            rows, blocks = chosen.rows, repos.review.refit_examples.vector_blocks
            # Read twice, block by block: once for the vectors' main directions, once for
            # each vector's coordinates along them (decision 075).
            projection = fit_projection(
                (block for _, block in blocks(rows.sources, chosen.length)), chosen.length
            )
            matrix = projected(blocks(rows.sources, chosen.length), len(rows.sources), projection)
    if found.on_crops:  # decision 074: trapline's descriptors of the boxes' crops
        chosen, described = _on_crops(db, photos, chosen, progress)
        rows, projection = chosen.rows, fit_projection([described], described.shape[1])
        matrix = projection.apply(described)  # short: only standardized
        del described
    refit = fit(Examples(matrix, rows.taxa, rows.events, rows.individuals), progress=progress)
    del matrix
    on = FittedOn(
        features_version=chosen.version,
        features_length=chosen.length,
        identifications=len(np.unique(rows.identifications)),
        latest_identification_id=int(rows.identifications.max()),
        individuals=refit.individuals,
        detections=refit.detections,
    )
    results = refit_results(refit, chosen.counts, chosen.names)
    with db.write() as repos:
        stored = repos.review.classifiers.fitted(
            classifier_id, holder, clock.now(), on, results, projection.lift(refit.head).to_bytes()
        )
    return True if stored else None


def usable(repos: Repos, project_id: int, features_from: str) -> Usable:
    """The identified detections a refit on ``features_from`` takes; InvalidInput when the
    vectors are of several lengths or the identifications too few."""
    crops = CROP_LENGTH if on_crops(features_from) else None
    slug, version = parse_side(features_from.removeprefix(CROPS), FIELD)
    found = repos.review.refit_examples.identified(project_id, slug, version, crop_length=crops)
    pairs = Counter(zip(found.versions.tolist(), found.lengths.tolist(), strict=True))
    if len({length for _, length in pairs}) > 1:
        shown = ", ".join(
            f"version {v}: {length:,} numbers ({n} detections)"
            for (v, length), n in sorted(pairs.items())
        )
        newest = max(v for v, _ in pairs)
        raise InvalidInput(
            f"features_from: the vectors {slug!r} posted with identified detections are not "
            f"all of one length ({shown}); name one version, as {slug}@{newest}",
            field=FIELD,
        )
    counts = census(found.taxa, found.events, found.individuals)
    names = {
        t.id: t.scientific_name for t in repos.taxa.taxa.by_ids(c.taxon_id for c in counts).values()
    }
    missing = shortfall(counts, names, repr(features_from))
    if missing is not None:
        raise InvalidInput(f"features_from: {missing}", field=FIELD)
    kept = np.isin(found.taxa, [c.taxon_id for c in counts if enough(c)])
    rows = found.where(kept)
    return Usable(rows, int(rows.lengths[0]), int(rows.versions.max()), counts, names)


def _on_crops(
    db: Database, photos: Photos, chosen: Usable, progress: Callable[[str, float], None]
) -> tuple[Usable, Floats]:
    """The crop descriptors of the boxes a refit on crops takes, read photo by photo (the
    boxes of a photo that cannot be read are left out), and what it takes without them."""

    def read(done: int, photos_in_all: int) -> None:
        progress(f"describing the boxes' crops (photo {done:,} of {photos_in_all:,})", 0.0)

    kept, matrix = describe(db, photos, chosen.rows.sources.tolist(), read)
    if len(kept) == len(chosen.rows.sources):
        return chosen, matrix
    rows = chosen.rows.where(np.isin(chosen.rows.sources, kept))
    missing = shortfall(
        census(rows.taxa, rows.events, rows.individuals),
        chosen.names,
        "the crops that could be read",
    )
    if missing is not None:
        lost = len(chosen.rows.sources) - len(kept)
        raise InvalidInput(
            f"features_from: the photos of {lost} identified boxes could not be read, and "
            f"without them {missing}",
            field=FIELD,
        )
    return replace(chosen, rows=rows), matrix


def refit_results(refit: Refit, counts: list[TaxonCount], names: dict[int, str]) -> dict[str, Any]:
    """A refit's figures as stored (and answered): overall, per taxon, and the taxa left out
    for too few identifications, each with its scientific name as it was then."""
    return {
        "accuracy": refit.accuracy,
        "folds": refit.folds,
        "converged": refit.converged,
        "taxa": [
            {
                "taxon_id": t.taxon_id, "scientific_name": names.get(t.taxon_id, ""),
                "individuals": t.individuals, "support": t.support, "predicted": t.predicted,
                "correct": t.correct, "precision": t.precision, "recall": t.recall,
            }
            for t in refit.taxa
        ],
        "too_few": [
            {
                "taxon_id": c.taxon_id, "scientific_name": names.get(c.taxon_id, ""),
                "individuals": c.individuals, "events": c.events, "detections": c.detections,
            }
            for c in counts
            if not enough(c)
        ],
    }  # fmt: skip


def _check_name(repos: Repos, project_id: int, name: str) -> None:
    if repos.review.classifiers.named(project_id, name):
        raise Conflict(f"name: project {project_id} has a classifier named {name!r}")


def check_features_from(repos: Repos, project_id: int, slug: str, version: int | None) -> None:
    """InvalidInput naming the project's pipelines (or the slug's versions) when the project
    has no such pipeline (or version)."""
    known = repos.pipelines.pipelines.facts(project_id).values()
    versions = sorted(p.version for p in known if p.slug == slug)
    if not versions:
        offered = ", ".join(sorted({p.slug for p in known})[:20]) or "none yet"
        raise InvalidInput(
            f"features_from: {slug[:100]!r} is not a pipeline of project {project_id} "
            f"(its pipelines: {offered})",
            field=FIELD,
        )
    if version is not None and version not in versions:
        raise InvalidInput(
            f"features_from: {slug[:100]!r} has no version {version} in project {project_id} "
            f"(its versions: {', '.join(str(v) for v in versions)})",
            field=FIELD,
        )
