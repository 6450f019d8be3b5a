"""Camtrap DP 1.0.2: the TDWG Camera Trap Data Package, a zip GBIF and the R packages read.

``media.csv`` and ``observations.csv`` stream to temporary files while the images go by; the
zip is put together at the end with ``deployments.csv`` (only deployments that have media)
and ``datapackage.json``, whose coverage (space, time, taxa) is gathered on the way.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import IO, Any, BinaryIO

from trapline import __version__
from trapline.domain.exports import (
    AlgorithmFacts,
    EventFacts,
    ExportFormat,
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
from trapline.exports.csv import cell
from trapline.exports.reader import Detection, ExportContext, ImageResult, ImageState

VERSION = "1.0.2"
BASE_URL = f"https://raw.githubusercontent.com/tdwg/camtrap-dp/{VERSION}/"
PROFILE_URL = BASE_URL + "camtrap-dp-profile.json"
SCHEMA_URLS = {
    name: f"{BASE_URL}{name}-table-schema.json" for name in ("deployments", "media", "observations")
}

DEPLOYMENT_FIELDS = (
    "deploymentID", "locationID", "locationName", "latitude", "longitude",
    "coordinateUncertainty", "deploymentStart", "deploymentEnd", "setupBy", "cameraID",
    "cameraModel", "cameraDelay", "cameraHeight", "cameraDepth", "cameraTilt", "cameraHeading",
    "detectionDistance", "timestampIssues", "baitUse", "featureType", "habitat",
    "deploymentGroups", "deploymentTags", "deploymentComments",
)  # fmt: skip
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
    event and label, counting the event's occurrences (``event_counts``)."""

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
                self._observations.add(self._observation(d, image, deployment_id, event))
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
                self._deployments(target, used)
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
            package.writestr("datapackage.json", json.dumps(self._descriptor(used), indent=2))

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
        one per label, counting the event's occurrences of it."""
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
        for label, method, probability, count in event_counts(result.occurrences):
            name, kind, tags = self._label_meaning(label)
            by = "person" if method == "human" else ""
            self._observations.add(
                [f"e{event.id}-{rows + 1}", deployment_id, "", *columns, "event", kind, "",
                 cell(name), str(count), "", "", "", "", "", "", "", "", "", "", "", method,
                 by, "", _num(probability), cell(tags), ""]
            )  # fmt: skip
            rows += 1
        return rows

    def _observation(
        self, d: Detection, image: ImageFacts, deployment_id: str, event: tuple[str, str, str]
    ) -> list[str]:
        name, kind, tags = self._meaning(d)
        box = fractions(d.box, image.width, image.height) if d.box else None
        bbox = (  # _num rounds to the 6 decimals written
            [_num(box[0]), _num(box[1]), _num(max(box[2], _MIN_SIDE)), _num(max(box[3], _MIN_SIDE))]
            if box
            else ["", "", "", ""]
        )
        if d.human is not None:
            method, by, when, probability = "human", d.human.reviewer, d.human.reviewed_at, ""
        else:
            method, by, when = "machine", _classified_by(d), d.completed_at
            probability = _num(d.label_confidence)
        return [
            f"{image.id}-{d.key}", deployment_id, str(image.id), *event,
            "media", kind, "", cell(name), "1" if kind == "animal" else "", "", "", "", "", "", "",
            "", *bbox, method, cell(by), _iso_repeated(when), probability, cell(tags), "",
        ]  # fmt: skip

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
            self._taxon(name, taxon or {})
        kind = _TYPES.get((label or category or "").lower()) or ("animal" if name else "")
        if not kind:
            kind = _TYPES.get((category or "").lower(), "unknown")
        tags = f"label:{label}" if label and not name else ""
        return name, kind, tags

    def _taxon(self, name: str, entry: dict[str, Any]) -> None:
        if name in self.taxa:
            return
        taxon: dict[str, Any] = {"scientificName": name}
        key = entry.get("gbif_key") or entry.get("gbif_id")
        if entry.get("taxonID"):
            taxon["taxonID"] = str(entry["taxonID"])
        elif key:
            taxon["taxonID"] = f"https://www.gbif.org/species/{key}"
        rank = entry.get("taxon_rank") or entry.get("rank") or entry.get("taxonRank")
        if rank:
            taxon["taxonRank"] = str(rank).lower()
        for field in ("kingdom", "phylum", "class", "order", "family", "genus"):
            if entry.get(field):
                taxon[field] = str(entry[field])
        self.taxa[name] = taxon

    def _deployments(self, target: IO[bytes], used: list[Deployment]) -> None:
        text = io.TextIOWrapper(target, encoding="utf-8", newline="")
        table = csv.writer(text)
        table.writerow(DEPLOYMENT_FIELDS)
        for d in used:
            first, last = self.spans[d.id]
            start = _wall(d.started_at, first) if d.started_at else first
            end = _wall(d.ended_at, last) if d.ended_at else last
            table.writerow(
                [str(d.id), str(d.id), cell(d.name), _num(d.latitude), _num(d.longitude), "",
                 iso(min(start, first)), iso(max(end, last))]
                + [""] * 15
                + [cell(d.description.replace("\n", " "))]
            )  # fmt: skip
        text.flush()
        text.detach()

    def _descriptor(self, used: list[Deployment]) -> dict[str, Any]:
        project = self.context.project
        resources = [
            {
                "name": name,
                "path": f"{name}.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": SCHEMA_URLS[name],
            }
            for name in ("deployments", "media", "observations")
        ]
        lats = [d.latitude for d in used if d.latitude is not None]
        lons = [d.longitude for d in used if d.longitude is not None]
        starts = [s for s, _ in self.spans.values()]
        ends = [e for _, e in self.spans.values()]
        when = self.context.created_at
        return {
            "resources": resources,
            "profile": PROFILE_URL,
            "name": f"trapline-project-{project.id}",
            "created": iso(when),
            "title": project.name,
            "description": project.description or f"Camera trap data of {project.name}",
            "contributors": [{"title": project.name, "role": "contributor"}],
            "sources": [{"title": "trapline", "version": __version__}],
            "project": {
                "id": str(project.id),
                "title": project.name,
                "description": project.description,
                "samplingDesign": "opportunistic",
                "captureMethod": ["activityDetection", "timeLapse"],
                "individualAnimals": False,
                "observationLevel": ["event" if self.by_event else "media"],
            },
            "spatial": _bbox_polygon(lats, lons),
            "temporal": {
                "start": (min(starts) if starts else when).date().isoformat(),
                "end": (max(ends) if ends else when).date().isoformat(),
            },
            "taxonomic": [self.taxa[k] for k in sorted(self.taxa)],
        }


def event_counts(
    occurrences: Iterable[OccurrenceFacts],
) -> list[tuple[str | None, str, float | None, int]]:
    """An event's occurrences counted by label: (label, classificationMethod, the highest
    model score, count), by label. A label is ``human`` when a person determined every one of
    its occurrences."""
    by_label: dict[str | None, list[OccurrenceFacts]] = {}
    for occurrence in occurrences:
        by_label.setdefault(occurrence.label, []).append(occurrence)
    counted = []
    for label in sorted(by_label, key=lambda name: name or ""):
        found = by_label[label]
        human = all(o.determined_by == "person" for o in found)
        scores = [o.score for o in found if o.score is not None]
        counted.append(
            (label, "human" if human else "machine", max(scores, default=None), len(found))
        )
    return counted


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


def _wall(value: datetime, like: datetime) -> datetime:
    """A deployment's wall-clock time in the zone of its media."""
    return value.replace(tzinfo=like.tzinfo)


#: ``iso`` of classification times, which repeat: an analysis's detections share one, and
#: results stored together share theirs.
_iso_repeated = lru_cache(maxsize=64)(iso)


def _num(value: float | None) -> str:
    """A number with 6 decimals at most, without trailing zeros ("" for None); formatting
    rounds correctly, as ``round`` does."""
    if value is None:
        return ""
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def _bbox_polygon(lats: list[float], lons: list[float]) -> dict[str, Any]:
    if not lats:
        return {"type": "Polygon", "coordinates": []}
    s, n, w, e = min(lats), max(lats), min(lons), max(lons)
    if s == n and w == e:
        return {"type": "Point", "coordinates": [w, s]}
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
