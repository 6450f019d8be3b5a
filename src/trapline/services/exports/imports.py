"""Importing results computed elsewhere: MegaDetector batch output.

Each ``file`` entry is matched to one of the project's images (``import_matches.py``). Each
matched image gets one completed analysis of an import pipeline named after the file's
detector and classifier (registered in the project like any pipeline). Importing the same
results again stores nothing: an image that has an analysis of that pipeline is skipped, also
when two imports of the file run at once (they take turns on a lock of the project's row).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.repositories.exports.export_reads import ExportScope
from trapline.db.types import utcnow
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.ecology.events import Event
from trapline.domain.exports.exports import ExportFilters
from trapline.domain.exports.facts import ImageFacts
from trapline.domain.pipelines.pipelines import IMPORT_SERVICE, Pipeline
from trapline.domain.processing.results import AnalysisDraft, AnnotationDraft, AnnotationType, Box
from trapline.errors import Conflict, InvalidInput
from trapline.exports.megadetector_import import (
    MAX_IMPORT_BYTES,
    MdBatch,
    MdImage,
    parse_batch,
    pixel_box,
)
from trapline.protocol.pipelines import AlgorithmConfig, CategoryMap, PipelineConfig
from trapline.services.core.access import project_for
from trapline.services.exports.import_matches import match

#: Analyses stored per transaction.
STORE_BATCH = 500
#: Unmatched files listed in the report (all are counted).
MAX_LISTED = 100
#: Events of the matched photos named in the report (all are counted).
MAX_LISTED_EVENTS = 20
#: The score MegaDetector's documentation counts a box from, for a file that names none
#: (``info.detector_metadata.typical_detection_threshold``): an imported model counts no box
#: under its threshold, so a real file's specks (scores down to 0.005) are no animals.
MEGADETECTOR_THRESHOLD = 0.2


@dataclass
class ImportReport:
    """What an import did."""

    pipeline: str = ""
    #: The version of it this import's results are, and what the file's detector was taken
    #: for: a release of MegaDetector (a version of one model) or a model of its own.
    pipeline_version: int = 1
    model: str = ""
    images_in_file: int = 0
    matched: int = 0
    analyses_stored: int = 0
    detections_stored: int = 0
    #: Matched images that had this import's results already (nothing stored again).
    already_imported: int = 0
    #: Entries the file marks as failed (nothing to store).
    failures: int = 0
    #: The threshold the imported model counts from (``import_threshold``), and where it came
    #: from: ``given`` (the caller's), ``file`` (the file's own) or ``default`` (MegaDetector's).
    threshold: float = 0.0
    threshold_from: str = "default"
    #: Detections stored under the threshold: drawn faint, counted nowhere.
    below_threshold: int = 0
    #: Detections whose box lies outside the image or has no area.
    empty_boxes: int = 0
    unmatched: int = 0
    unmatched_files: list[dict[str, str]] = field(default_factory=list)
    #: The events (nights or sequences) that hold the matched photos: their occurrences are
    #: tracked again in the background. The first ``MAX_LISTED_EVENTS`` by the photos' time.
    events: int = 0
    event_ids: list[int] = field(default_factory=list)

    def miss(self, path: str, reason: str) -> None:
        self.unmatched += 1
        if len(self.unmatched_files) < MAX_LISTED:
            self.unmatched_files.append({"file": path, "reason": reason})


def import_megadetector(
    db: Database,
    caller: User,
    project_id: int,
    source: BinaryIO,
    *,
    deployment_id: int | None = None,
    threshold: float | None = None,
) -> ImportReport:
    """Import a MegaDetector batch output file into the project (members); the file is read
    only once the caller's access is checked. Every detection is stored; the imported model
    counts those from ``threshold`` on (``import_threshold``: None takes the file's own)."""
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise InvalidInput(f"threshold must be from 0 to 1 (got {threshold})", field="threshold")
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.MEMBER)
        if deployment_id is not None:
            deployment = repos.core.deployments.get(deployment_id)
            if deployment is None or deployment.project_id != project_id:
                raise InvalidInput(
                    f"deployment {deployment_id} is not in project {project_id}",
                    field="deployment",
                )
    data = source.read(MAX_IMPORT_BYTES + 1)
    batch = parse_batch(data)
    report = ImportReport(images_in_file=len(batch.images))
    report.threshold, report.threshold_from = import_threshold(batch, threshold)
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.MEMBER)
        # Registration looks before it adds, too: the same lock as for storing (below).
        repos.core.projects.lock(project_id)
        pipeline = _import_pipeline(repos, project_id, batch, report.threshold)
    report.pipeline, report.pipeline_version = pipeline.slug, pipeline.version
    report.model = _model(batch, pipeline)
    matched = match(db, project_id, batch.images, deployment_id)
    for path, why in matched.missed:
        report.miss(path, why)
    matches = matched.found
    report.matched = len(matches)
    _events(matches, report)
    drafts: list[AnalysisDraft] = []
    for image, entry in matches:
        if entry.failure is not None or entry.detections is None:
            report.failures += 1
            continue
        drafts.append(_draft(image, entry, batch, pipeline, report))
        if len(drafts) >= STORE_BATCH:
            _store_new(db, project_id, pipeline, drafts, report)
            drafts = []
    _store_new(db, project_id, pipeline, drafts, report)
    return report


def _events(matches: list[tuple[ImageFacts, MdImage]], report: ImportReport) -> None:
    """Count the matched photos' events, and name the first ones by the photos' time."""
    dated = sorted(
        (image for image, _ in matches if image.event_id is not None),
        key=lambda i: (i.captured_at or datetime.max, i.id),
    )
    report.events = len({image.event_id for image in dated})
    report.event_ids = list(dict.fromkeys(i.event_id for i in dated if i.event_id))[
        :MAX_LISTED_EVENTS
    ]


def imported_events(
    db: Database, caller: User, project_id: int, event_ids: list[int]
) -> list[Event]:
    """The events a report names (``event_ids``), those of the project the caller sees."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        found = [repos.ecology.events.get(i) for i in event_ids[:MAX_LISTED_EVENTS]]
    return [e for e in found if e is not None and e.project_id == project_id]


def import_threshold(batch: MdBatch, given: float | None) -> tuple[float, str]:
    """The score an imported model counts a box from, and where it came from: the one given,
    else the file's ``typical_detection_threshold``, else MegaDetector's documented 0.2."""
    if given is not None:
        return given, "given"
    if batch.info.typical_threshold is not None:
        return batch.info.typical_threshold, "file"
    return MEGADETECTOR_THRESHOLD, "default"


def _import_pipeline(repos: Repos, project_id: int, batch: MdBatch, threshold: float) -> Pipeline:
    """The project's pipeline for these models and categories, registered on first use, with
    ``threshold`` as the score its boxes count from (a later import may move it). A release
    of MegaDetector is a version of one pipeline, MegaDetector's (with these categories and
    classifier): its first import is the next version, in the order they were imported; any
    other detector is a pipeline of its own."""
    known = list(repos.pipelines.pipelines.facts(project_id).values())
    slug = f"megadetector-import-{batch.digest()[:12]}"
    if not any(p.slug == slug for p in known):  # imported before releases were versions
        slug = f"megadetector-import-{batch.digest(by_model=True)[:12]}"
    detector = batch.info.detector or "unknown detector"
    name = detector + (f" + {batch.info.classifier}" if batch.info.classifier else "")
    versions = {p.version: p.name for p in known if p.slug == slug}
    version = next(
        (v for v, named in versions.items() if named == f"Imported: {name}"[:255]),
        max(versions, default=0) + 1,
    )
    detections = [
        batch.detection_categories[k] for k in sorted(batch.detection_categories, key=int)
    ]
    algorithms = [
        AlgorithmConfig(
            name=detector,
            key=f"{slug}-detector",
            version=version,
            task_type="detection",
            category_map=CategoryMap(labels=detections),
        )
    ]
    if batch.classification_categories or batch.info.classifier:
        classes = batch.classification_categories
        algorithms.append(
            AlgorithmConfig(
                name=batch.info.classifier or "unknown classifier",
                key=f"{slug}-classifier",
                version=version,
                task_type="classification",
                category_map=CategoryMap(labels=[classes[k] for k in sorted(classes, key=int)]),
            )
        )
    config = PipelineConfig(
        name=f"Imported: {name}"[:255],
        slug=slug,
        version=version,
        description=f"Results imported from MegaDetector batch output (format "
        f"{batch.info.format_version})",
        algorithms=algorithms,
        default_threshold=threshold,
    )
    made = repos.pipelines.pipelines.register(project_id, IMPORT_SERVICE, [config], utcnow())
    if made.refused_whole:
        raise Conflict("; ".join(why for _, _, why in made.pipelines_refused))
    found = next(
        p.id
        for p in repos.pipelines.pipelines.facts(project_id).values()
        if p.slug == slug and p.version == version
    )
    pipeline = repos.pipelines.pipelines.get(found)
    assert pipeline is not None
    return pipeline


def _model(batch: MdBatch, pipeline: Pipeline) -> str:
    """What the import report says the file's detector was taken for."""
    detector = batch.info.detector or "no detector named"
    if batch.info.megadetector:
        return (
            f"{detector} is a release of MegaDetector: version {pipeline.version} of "
            f"{pipeline.slug} (the newest version on a photo is its current result)"
        )
    return f"{detector} is not a MegaDetector release: kept as a model of its own"


def _draft(
    image: ImageFacts,
    entry: MdImage,
    batch: MdBatch,
    pipeline: Pipeline,
    report: ImportReport,
) -> AnalysisDraft:
    detector = pipeline.algorithm(f"{pipeline.slug}-detector")
    classifier = pipeline.algorithm(f"{pipeline.slug}-classifier")
    annotations = []
    for d in entry.detections or ():
        box = pixel_box(d.bbox, image.width, image.height)
        if box is None:
            report.empty_boxes += 1
            continue
        if d.conf < report.threshold:
            report.below_threshold += 1  # stored, and counted nowhere (the model's threshold)
        children: tuple[AnnotationDraft, ...] = ()
        if d.classifications:
            ranked = sorted(d.classifications, key=lambda c: c[1], reverse=True)
            names = [batch.classification_categories[c] for c, _ in ranked]
            children = (
                AnnotationDraft(
                    type=AnnotationType.CLASSIFICATION,
                    label=names[0],
                    confidence=ranked[0][1],
                    box=None,
                    algorithm_id=classifier.id if classifier else None,
                    data={
                        "labels": names,
                        "scores": [score for _, score in ranked],
                        "terminal": True,
                    },
                ),
            )
        annotations.append(
            AnnotationDraft(
                type=AnnotationType.BOUNDING_BOX,
                label=batch.detection_categories[d.category],
                confidence=d.conf,
                box=Box(*box),
                algorithm_id=detector.id if detector else None,
                children=children,
            )
        )
    return AnalysisDraft(None, image.id, None, IMPORT_SERVICE, tuple(annotations))


def _store_new(
    db: Database,
    project_id: int,
    pipeline: Pipeline,
    drafts: list[AnalysisDraft],
    report: ImportReport,
) -> None:
    """Store the drafts of images that have no analysis of this pipeline yet."""
    if not drafts:
        return
    scope = ExportScope(
        project_id,
        ExportFilters(pipeline=pipeline.slug),
        pipeline_ids=[pipeline.id],
        collection_id=None,
        collection_filter=None,
        max_image_id=0,
    )
    with db.write() as repos:
        # Two imports of one file at once (two requests, two replicas) would each find no
        # analysis here and both store. The project's row is locked first, so a second import
        # waits for the first to commit and then finds its analyses: under READ COMMITTED each
        # statement sees what was committed before it began. A lock, not a unique key:
        # analyses of one pipeline may repeat on an image (a job run twice), so a key would be
        # a partial index plus conflict handling in the store path every result shares, and
        # registering the import's pipeline, just before, races the same way.
        repos.core.projects.lock(project_id)
        have = {a.image_id for a in repos.exports.export_reads.analyses_of(scope, _ids(drafts))}
        new = [d for d in drafts if d.image_id not in have]
        store_imported(repos, project_id, pipeline.id, new)
    report.already_imported += len(drafts) - len(new)
    report.analyses_stored += len(new)
    report.detections_stored += sum(len(d.annotations) for d in new)


def store_imported(
    repos: Repos, project_id: int, pipeline_id: int, drafts: list[AnalysisDraft]
) -> None:
    """The one place imported results are stored: completed analyses with their annotations,
    through the same repository as a worker's results."""
    repos.processing.analyses.store(
        drafts, project_id=project_id, job_id=None, pipeline_id=pipeline_id, source="import",
        now=utcnow(),
    )  # fmt: skip


def _ids(drafts: Iterable[AnalysisDraft]) -> list[int]:
    return [d.image_id for d in drafts]
