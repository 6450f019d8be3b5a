"""Camtrap DP 1.0.2: the TDWG Camera Trap Data Package, a zip GBIF and the R packages read.

``media.csv`` and ``observations.csv`` stream to temporary files while the images go by; the
zip is put together at the end with ``deployments.csv`` (only deployments that have media)
and ``datapackage.json``, whose coverage (space, time, taxa) is gathered on the way.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any, BinaryIO, NamedTuple

from trapline.domain.exports import (
    AlgorithmFacts,
    EventFacts,
    ExportFormat,
    IdentificationFacts,
    ImageFacts,
    OccurrenceFacts,
)
from trapline.domain.records import Deployment
from trapline.exports.base import (
    CsvFile,
    ExportWriter,
    capture_iso,
    capture_time,
    fractions,
    iso,
    wall_iso,
)
from trapline.exports.camtrap_package import (
    BASE_URL,
    PROFILE_URL,
    SCHEMA_URLS,
    VERSION,
    category_entry,
    descriptor,
    number,
    taxon_entry,
    write_deployments,
)
from trapline.exports.csv import cell
from trapline.exports.reader import (
    Detection,
    Determinations,
    ExportContext,
    ImageResult,
    ImageState,
)
from trapline.exports.taxonomy import TaxonTerms, taxon_terms

__all__ = ["BASE_URL", "PROFILE_URL", "SCHEMA_URLS", "VERSION", "CamtrapDpWriter", "event_counts"]

MEDIA_FIELDS = (
    "mediaID", "deploymentID", "captureMethod", "timestamp", "filePath", "filePublic",
    "fileName", "fileMediatype", "exifData", "favorite", "mediaComments",
)  # fmt: skip
OBSERVATION_FIELDS = (
    "observationID", "deploymentID", "mediaID", "eventID", "eventStart", "eventEnd",
    "observationLevel", "observationType", "cameraSetupType", "scientificName", "count",
    "lifeStage", "sex", "behavior", "individualID", "individualPositionRadius",
    "individualPositionAngle", "individualSpeed", "bboxX", "bboxY", "bboxWidth", "bboxHeight",
    "classificationMethod", "classifiedBy", "classificationTimestamp",
    "classificationProbability", "observationTags", "observationComments",
)  # fmt: skip

#: Labels that say what kind of thing was seen, whatever the model (lower case).
_TYPES = {
    "person": "human", "human": "human", "people": "human", "vehicle": "vehicle",
    "car": "vehicle", "blank": "blank", "empty": "blank", "animal": "animal",
}  # fmt: skip
#: Deflate level of the package: 3 takes a quarter of the default's (6) time for a file a
#: fifth larger (at 6, compressing took a seventh of an export).
COMPRESS_LEVEL = 3
#: Smallest box side written (the schema needs more than 0; 6 decimals are written).
_MIN_SIDE = 1e-6


class CamtrapDpWriter(ExportWriter):
    """One media row per image. At media level (the default): one observation per detection,
    or one per image where nothing was found (``blank``) or nothing was run
    (``unclassified``), each naming the image's event. At event level: one observation per
    event and taxon (or label, for occurrences that name no taxon), counting the event's
    occurrences (``event_counts``).

    A detection in an occurrence whose determination names a taxon of the project's list
    is that taxon; one in an occurrence a person determined is that person's classification.
    """

    format = ExportFormat.CAMTRAP_DP

    def __init__(self, out: BinaryIO, context: ExportContext) -> None:
        super().__init__(out, context)
        self._media = _table(MEDIA_FIELDS)
        self._observations = _table(OBSERVATION_FIELDS)
        #: Per deployment written: first and last media time.
        self.spans: dict[int, tuple[datetime, datetime]] = {}
        #: scientificName -> the taxon entry of the taxonomic coverage.
        self.taxa: dict[str, dict[str, Any]] = {}
        self._unusable: set[int] = set()
        #: ``_meaning`` by algorithm id, label and category.
        self._meanings: dict[tuple[int | None, str | None, str | None], tuple[str, str, str]] = {}
        #: The scientific name of each taxon of the list written, by id.
        self._names: dict[int, str] = {}
        self.by_event = context.filters.observation_level == "event"
        #: Events whose observations are written (event level).
        self._events_done: set[int] = set()

    def write(self, batch: Iterable[ImageResult]) -> None:
        for result in batch:
            self.tally.seen(result)
            image = result.image
            deployment = self._deployment(image)
            moment = capture_time(image)
            if deployment is None or moment is None:
                self.tally.skipped += 1
                if moment is None:
                    self.context.problem(
                        f"image {image.id} ({image.filename}) left out: its capture time is "
                        "unknown, and Camtrap DP needs one"
                    )
                continue
            self._span(deployment.id, moment)
            media_id, deployment_id, stamp = str(image.id), str(deployment.id), capture_iso(image)
            self._media.add(
                [media_id, deployment_id, "", stamp, self.relative_path(image), "false",
                 cell(image.filename), image.content_type, "", "", ""]
            )  # fmt: skip
            self.tally.detections += len(result.detections)
            if self.by_event:
                self.tally.rows += self._event_rows(result, deployment_id)
                continue
            event = _event_columns(result.event, stamp)
            rows = 0
            for d in result.detections:
                self._observations.add(
                    self._observation(d, image, deployment_id, event, result.determinations)
                )
                rows += 1
            if rows == 0:
                kind = "blank" if result.state is ImageState.PROCESSED else "unclassified"
                note = f"analysis failed: {result.failure}" if result.failure else ""
                self._observations.add(
                    [f"{media_id}-0", deployment_id, media_id, *event, "media", kind]
                    + [""] * (len(OBSERVATION_FIELDS) - 9)
                    + [cell(note)]
                )
                rows = 1
            self.tally.rows += rows
        self._media.flush()
        self._observations.flush()

    def close(self) -> None:
        used = [self.context.deployments[i] for i in sorted(self.spans)]
        with zipfile.ZipFile(
            self.out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
        ) as package:
            with package.open("deployments.csv", "w") as target:
                write_deployments(target, used, self.spans)
            for name, table in (
                ("media.csv", self._media),
                ("observations.csv", self._observations),
            ):
                table.flush()  # the headers of an export without images
                file = table.out
                file.seek(0)
                with package.open(name, "w", force_zip64=True) as target:
                    shutil.copyfileobj(file, target, 1024 * 1024)
                file.close()
            found = descriptor(self.context, used, self.spans, self.taxa, by_event=self.by_event)
            package.writestr("datapackage.json", json.dumps(found, indent=2))

    def _deployment(self, image: ImageFacts) -> Deployment | None:
        deployment = self.context.deployments.get(image.deployment_id or 0)
        if deployment is None:
            self.context.problem(
                f"image {image.id} ({image.filename}) left out: it belongs to no deployment, "
                "and Camtrap DP places every image in one"
            )
            return None
        if deployment.latitude is None or deployment.longitude is None:
            if deployment.id not in self._unusable:
                self._unusable.add(deployment.id)
                self.context.problem(
                    f"deployment {deployment.id} ({deployment.name}) left out with its images: "
                    "it has no latitude and longitude; set them and export again"
                )
            return None
        return deployment

    def _span(self, deployment_id: int, moment: datetime) -> None:
        span = self.spans.get(deployment_id)
        if span is None:
            self.spans[deployment_id] = (moment, moment)
        elif moment < span[0] or moment > span[1]:
            self.spans[deployment_id] = (min(span[0], moment), max(span[1], moment))

    def _event_rows(self, result: ImageResult, deployment_id: str) -> int:
        """The observations of the image's event, the first time one of its images goes by:
        one per taxon (or label), counting the event's occurrences of it."""
        event = result.event
        if event is None:
            self.context.problem(
                f"image {result.image.id} ({result.image.filename}) has no event yet (its "
                "deployment is being grouped): no event-level observation names it"
            )
            return 0
        if event.id in self._events_done:
            return 0
        self._events_done.add(event.id)
        rows = 0
        columns = _event_columns(event, "")
        said = result.determinations.identified
        for counted in event_counts(result.occurrences, said):
            name = self._taxon_name(counted.taxon_id)
            if name:
                kind, tags = "animal", ""
            else:
                name, kind, tags = self._label_meaning(counted.label)
            self._observations.add(
                [f"e{event.id}-{rows + 1}", deployment_id, "", *columns, "event", kind, "",
                 cell(name), str(counted.occurrences), "", "", "", "", "", "", "", "", "", "", "",
                 counted.method, cell(counted.people), "", number(counted.probability),
                 cell(tags), ""]
            )  # fmt: skip
            rows += 1
        return rows

    def _observation(
        self,
        d: Detection,
        image: ImageFacts,
        deployment_id: str,
        event: tuple[str, str, str],
        known: Determinations,
    ) -> list[str]:
        occurrence = known.linked.get(d.occurrence_id) if d.occurrence_id else None
        name = self._taxon_name(occurrence.taxon_id) if occurrence else ""
        if name:
            kind, tags = "animal", ""
        else:
            name, kind, tags = self._meaning(d)
        box = fractions(d.box, image.width, image.height) if d.box else None
        bbox = (  # number rounds to the 6 decimals written
            [number(box[0]), number(box[1]), number(max(box[2], _MIN_SIDE)),
             number(max(box[3], _MIN_SIDE))]
            if box
            else ["", "", "", ""]
        )  # fmt: skip
        said = known.identified.get(occurrence.id) if occurrence else None
        when: datetime | None
        if said is not None:
            method, by, when, probability = "human", said.person or "person", said.made_at, ""
        elif d.human is not None:
            method, by, when, probability = "human", d.human.reviewer, d.human.reviewed_at, ""
        else:
            method, by, when = "machine", _classified_by(d), d.completed_at
            probability = number(d.label_confidence)
        return [
            f"{image.id}-{d.key}", deployment_id, str(image.id), *event,
            "media", kind, "", cell(name), "1" if kind == "animal" else "", "", "", "", "", "", "",
            "", *bbox, method, cell(by), _iso_repeated(when), probability, cell(tags), "",
        ]  # fmt: skip

    def _taxon_name(self, taxon_id: int | None) -> str:
        """The scientific name of a taxon of the project's list ("" for none); the first time,
        the taxon joins the taxonomic coverage."""
        if taxon_id is None:
            return ""
        name = self._names.get(taxon_id)
        if name is None:
            terms = _terms(self.context, taxon_id)
            name = self._names[taxon_id] = terms.scientific_name if terms else ""
            if terms is not None:
                self.taxa.setdefault(name, taxon_entry(terms))
        return name

    def _meaning(self, d: Detection) -> tuple[str, str, str]:
        """What a detection's label says: its scientificName, observationType and
        observationTags, worked out once per algorithm, label and category."""
        algorithm = d.classifier or d.detector
        key = (algorithm.id if algorithm else None, d.label, d.category)
        found = self._meanings.get(key)
        if found is None:
            found = self._meanings[key] = self._work_out(algorithm, d.label, d.category)
        return found

    def _label_meaning(self, label: str | None) -> tuple[str, str, str]:
        """``_meaning`` of a label no one algorithm gave (an occurrence's determination)."""
        key = (None, label, None)
        found = self._meanings.get(key)
        if found is None:
            found = self._meanings[key] = self._work_out(None, label, None)
        return found

    def _work_out(
        self, algorithm: AlgorithmFacts | None, label: str | None, category: str | None
    ) -> tuple[str, str, str]:
        """``_meaning``, the first time; a taxon it names joins the taxonomic coverage."""
        taxon = self.context.taxon(algorithm, label) if label else None
        name = _scientific_name(taxon, label) if taxon else ""
        if name:
            self.taxa.setdefault(name, category_entry(name, taxon or {}))
        kind = _TYPES.get((label or category or "").lower()) or ("animal" if name else "")
        if not kind:
            kind = _TYPES.get((category or "").lower(), "unknown")
        tags = f"label:{label}" if label and not name else ""
        return name, kind, tags


class EventCount(NamedTuple):
    """An event's occurrences of one taxon (or, naming none, of one label)."""

    taxon_id: int | None
    label: str | None
    #: ``human`` when a person determined every one of them, else ``machine``.
    method: str
    #: Who determined them, when people did all (``person`` for one unnamed).
    people: str
    #: The highest model score among them.
    probability: float | None
    occurrences: int


def event_counts(
    occurrences: Iterable[OccurrenceFacts],
    identified: dict[int, IdentificationFacts] | None = None,
) -> list[EventCount]:
    """An event's occurrences counted by the taxon their determination names, or by label
    for those that name none; taxa first (by id), then labels."""
    groups: dict[tuple[int, str], list[OccurrenceFacts]] = {}
    for o in occurrences:
        key = (0, str(o.taxon_id)) if o.taxon_id is not None else (1, o.label or "")
        groups.setdefault(key, []).append(o)
    counted = []
    for key in sorted(groups, key=lambda k: (k[0], int(k[1]) if k[0] == 0 else 0, k[1])):
        found = groups[key]
        human = all(o.determined_by == "person" for o in found)
        scores = [o.score for o in found if o.score is not None]
        people = sorted({_person(o, identified or {}) for o in found}) if human else []
        method = "human" if human else "machine"
        best = max(scores, default=None)
        first = found[0]
        counted.append(
            EventCount(first.taxon_id, first.label, method, "; ".join(people), best, len(found))
        )
    return counted


def _person(o: OccurrenceFacts, identified: dict[int, IdentificationFacts]) -> str:
    said = identified.get(o.id)
    return (said.person if said else None) or o.identified_by or "person"


def _terms(context: ExportContext, taxon_id: int) -> TaxonTerms | None:
    taxon = context.taxa.get(taxon_id)
    return taxon_terms(taxon, context.taxa) if taxon else None


def _event_columns(event: EventFacts | None, stamp: str) -> tuple[str, str, str]:
    """eventID, eventStart and eventEnd of an observation: its image's event's, else the
    image's own time for both ends."""
    if event is None:
        return ("", stamp, stamp)
    return (
        str(event.id),
        wall_iso(event.starts_at, event.start_offset_minutes),
        wall_iso(event.ends_at, event.end_offset_minutes),
    )


def _table(fields: tuple[str, ...]) -> CsvFile:
    """A CSV table in a temporary file (closed in ``close``), its header added."""
    table = CsvFile(tempfile.TemporaryFile(prefix="trapline-camtrap-"))  # noqa: SIM115
    table.add(fields)
    return table


def _scientific_name(taxon: dict[str, Any] | None, label: str | None) -> str:
    if taxon is None:
        return ""
    for key in ("scientific_name", "scientificName", "name"):
        if taxon.get(key):
            return str(taxon[key])
    return label or ""


def _classified_by(d: Detection) -> str:
    if d.pipeline is not None:
        return f"{d.pipeline.slug} v{d.pipeline.version}"
    parts = [a.name for a in (d.detector, d.classifier) if a is not None]
    return " + ".join(parts)


#: ``iso`` of classification times, which repeat: an analysis's detections share one, and
#: results stored together share theirs.
_iso_repeated = lru_cache(maxsize=64)(iso)
