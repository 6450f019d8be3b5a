"""Camtrap DP 1.0.2: the TDWG Camera Trap Data Package, a zip GBIF and the R packages read.

``media.csv`` and ``observations.csv`` stream to temporary files while the images go by; the
zip is put together at the end with ``deployments.csv`` (only deployments that have media)
and ``datapackage.json``, whose coverage (space, time, taxa) is gathered on the way.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Self

from trapline.domain.core.records import Deployment
from trapline.domain.exports.exports import ExportFormat
from trapline.domain.exports.facts import ImageFacts
from trapline.domain.photos.local_times import unclear_in_zone
from trapline.exports.base import (
    MIN_SIDE,
    CsvFile,
    ExportWriter,
    Part,
    capture_iso,
    capture_time,
    fractions,
    iso,
    part_file,
)
from trapline.exports.camtrap_events import EventObservations, event_columns
from trapline.exports.camtrap_meaning import Meanings
from trapline.exports.camtrap_package import (
    BASE_URL,
    PROFILE_URL,
    SCHEMA_URLS,
    VERSION,
    descriptor,
    number,
    write_deployments,
)
from trapline.exports.reader import (
    Detection,
    Determinations,
    ExportContext,
    ImageResult,
    ImageState,
)

__all__ = ["BASE_URL", "PROFILE_URL", "SCHEMA_URLS", "VERSION", "CamtrapDpWriter"]

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
#: The observation columns of numbers, written as they are (``cells.py``).
OBSERVATION_NUMBERS = (
    "count", "individualPositionRadius", "individualPositionAngle", "individualSpeed", "bboxX",
    "bboxY", "bboxWidth", "bboxHeight", "classificationProbability",
)  # fmt: skip

#: Deflate level of the package: 3 takes a quarter of the default's (6) time for a file a
#: fifth larger (at 6, compressing took a seventh of an export).
COMPRESS_LEVEL = 3


@dataclass
class CamtrapPart:
    """A segment's share of the package (``ExportWriter.close_part``): its two table files
    (without their headers) and what the package's descriptor and deployments gather."""

    media: Path
    observations: Path
    spans: dict[int, tuple[datetime, datetime]]
    unclear: set[int]
    taxa: dict[str, dict[str, object]]


class CamtrapDpWriter(ExportWriter):
    """One media row per image. At media level (the default): one observation per detection,
    or one per image where nothing was found (``blank``) or nothing was run
    (``unclassified``), each naming the image's event; and beside them, one observation per
    event and taxon (or label, for occurrences that name no taxon), counting the event's
    occurrences (``camtrap_events.py``): those are what GBIF publishes. At event level only
    the latter.

    A detection in an occurrence whose determination names a taxon of the project's list
    is that taxon; one in an occurrence a person determined is that person's classification.
    """

    format = ExportFormat.CAMTRAP_DP
    #: About 10 observations a photo: at 100,000 photos two processes took 17.4-17.6 s
    #: against one's 23.4-25.3 s.
    parts_from = 50_000

    def __init__(self, out: BinaryIO, context: ExportContext, *, stem: Path | None = None) -> None:
        super().__init__(out, context)
        #: Where a segment's part files go (None: this writer writes the package).
        self._stem = stem
        self._media = _table(MEDIA_FIELDS, (), stem and part_file(stem, "media"))
        self._observations = _table(
            OBSERVATION_FIELDS, OBSERVATION_NUMBERS, stem and part_file(stem, "observations")
        )
        #: The segments' table files adopted, in the photos' order.
        self._parts: list[tuple[Path, Path]] = []
        #: Per deployment written: first and last media time.
        self.spans: dict[int, tuple[datetime, datetime]] = {}
        self._unusable: set[int] = set()
        #: Deployments with a photo whose local time a clock change skips or repeats.
        self.unclear: set[int] = set()
        self.meanings = Meanings(context)
        self.by_event = context.filters.observation_level == "event"
        self._events = EventObservations(
            context, self.meanings, self._observations, only=self.by_event
        )
        #: The event columns of each event seen, by id (its photos come one after another).
        self._events_written: dict[int, tuple[str, str, str]] = {}

    @property
    def taxa(self) -> dict[str, dict[str, object]]:
        """The taxonomic coverage so far: scientificName -> its entry."""
        return self.meanings.taxa

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
            self._span(deployment, image, moment)
            media_id, deployment_id, stamp = str(image.id), str(deployment.id), capture_iso(image)
            self._media.add(
                [media_id, deployment_id, "", stamp, self.relative_path(image), "false",
                 image.filename, image.content_type, "", "", ""]
            )  # fmt: skip
            self.tally.detections += len(result.detections)
            if not self.by_event:
                self.tally.rows += self._media_rows(result, deployment_id, stamp)
            self.tally.rows += self._events.add(result, deployment_id)
        self._media.flush()
        self._observations.flush()

    def _media_rows(self, result: ImageResult, deployment_id: str, stamp: str) -> int:
        """The media-level observations of an image: one per detection, else one saying
        nothing was found or run."""
        image, media_id = result.image, str(result.image.id)
        event = self._event_columns(result, stamp)
        for d in result.detections:
            self._observations.add(
                self._observation(d, image, deployment_id, event, result.determinations)
            )
        if result.detections:
            return len(result.detections)
        kind = "blank" if result.state is ImageState.PROCESSED else "unclassified"
        note = f"analysis failed: {result.failure}" if result.failure else ""
        self._observations.add(
            [f"{media_id}-0", deployment_id, media_id, *event, "media", kind]
            + [""] * (len(OBSERVATION_FIELDS) - 9)
            + [note]
        )
        return 1

    def _event_columns(self, result: ImageResult, stamp: str) -> tuple[str, str, str]:
        """``event_columns`` of the image's event, worked out once per event."""
        event = result.event
        if event is None:
            return event_columns(None, stamp)
        found = self._events_written.get(event.id)
        if found is None:
            found = self._events_written[event.id] = event_columns(event, stamp)
        return found

    def discard(self) -> None:
        self._media.out.close()
        self._observations.out.close()

    @classmethod
    def for_part(cls, stem: Path, context: ExportContext) -> Self:
        return cls(io.BytesIO(), context, stem=stem)

    def close_part(self) -> Part:
        for table in (self._media, self._observations):
            table.flush()
            table.out.close()
        stem = self._stem
        assert stem is not None  # a segment's writer (``for_part``)
        state = CamtrapPart(
            part_file(stem, "media"), part_file(stem, "observations"), self.spans,
            self.unclear, self.taxa,
        )  # fmt: skip
        return Part(self.tally, self.context.problems, self.context.problem_count, state)

    def adopt(self, part: Part) -> None:
        super().adopt(part)
        state: CamtrapPart = part.state
        for deployment, (first, last) in state.spans.items():
            span = self.spans.get(deployment)
            self.spans[deployment] = (
                (first, last) if span is None else (min(span[0], first), max(span[1], last))
            )
        self.unclear |= state.unclear
        for name, entry in state.taxa.items():
            self.taxa.setdefault(name, entry)
        self._parts.append((state.media, state.observations))

    def close(self) -> None:
        used = [self.context.deployments[i] for i in sorted(self.spans)]
        with zipfile.ZipFile(
            self.out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
        ) as package:
            with package.open("deployments.csv", "w") as target:
                zone = self.context.project.time_zone
                write_deployments(target, used, self.spans, self.unclear, zone)
            for n, (name, table) in enumerate(
                (("media.csv", self._media), ("observations.csv", self._observations))
            ):
                table.flush()  # the headers of an export without images
                file = table.out
                file.seek(0)
                with package.open(name, "w", force_zip64=True) as target:
                    shutil.copyfileobj(file, target, 1024 * 1024)
                    for part in self._parts:
                        with part[n].open("rb") as piece:
                            shutil.copyfileobj(piece, target, 1024 * 1024)
                        part[n].unlink()
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

    def _span(self, deployment: Deployment, image: ImageFacts, moment: datetime) -> None:
        """Widen the deployment's span of media times to the image's; note a local time that
        names no one instant (read in the zone, not given an offset by the file)."""
        span = self.spans.get(deployment.id)
        if span is None:
            self.spans[deployment.id] = (moment, moment)
        elif moment < span[0] or moment > span[1]:
            self.spans[deployment.id] = (min(span[0], moment), max(span[1], moment))
        if (
            image.file_offset_minutes is None
            and image.captured_at is not None
            and deployment.id not in self.unclear
        ):
            zone = deployment.time_zone or self.context.project.time_zone
            if unclear_in_zone(image.captured_at, zone, standard_time=deployment.standard_time):
                self.unclear.add(deployment.id)
                self.context.problem(
                    f"deployment {deployment.id} ({deployment.name}): photo {image.id} "
                    f"({image.filename}) was taken at {image.captured_at:%Y-%m-%d %H:%M:%S}, a "
                    f"time the clock change of {zone} skips or repeats; deployments.csv says "
                    "timestampIssues"
                )

    def _observation(
        self,
        d: Detection,
        image: ImageFacts,
        deployment_id: str,
        event: tuple[str, str, str],
        known: Determinations,
    ) -> list[str]:
        occurrence = known.linked.get(d.occurrence_id) if d.occurrence_id else None
        name = self.meanings.taxon_name(occurrence.taxon_id) if occurrence else ""
        if name:
            kind, tags = "animal", ""
        else:
            name, kind, tags = self.meanings.of_detection(d)
        box = fractions(d.box, image.width, image.height) if d.box else None
        bbox = (  # number rounds to the 6 decimals written
            [number(box[0]), number(box[1]), number(max(box[2], MIN_SIDE)),
             number(max(box[3], MIN_SIDE))]
            if box
            else ["", "", "", ""]
        )  # fmt: skip
        said = d.determined
        when: datetime | None
        if said is not None:
            method, by, when, probability = "human", said.person, said.made_at, ""
        elif d.human is not None:
            method, by, when, probability = "human", d.human.reviewer, d.human.reviewed_at, ""
        else:
            method, by, when = "machine", _classified_by(d), d.completed_at
            probability = number(d.label_confidence)
        return [
            f"{image.id}-{d.key}", deployment_id, str(image.id), *event,
            "media", kind, "", name, "1" if kind == "animal" else "", "", "", "", "", "", "",
            "", *bbox, method, by, _iso_repeated(when), probability, tags, "",
        ]  # fmt: skip


def _table(fields: tuple[str, ...], numbers: tuple[str, ...], part: Path | None) -> CsvFile:
    """A CSV table in a temporary file (closed in ``close``), its header written; or a
    segment's part of one, without its header, in the file ``part``."""
    if part is not None:
        return CsvFile(part.open("wb"), fields, numbers=numbers, header=False)
    out = tempfile.TemporaryFile(prefix="trapline-camtrap-")  # noqa: SIM115
    return CsvFile(out, fields, numbers=numbers)


def _classified_by(d: Detection) -> str:
    if d.pipeline is not None:
        return f"{d.pipeline.slug} v{d.pipeline.version}"
    parts = [a.name for a in (d.detector, d.classifier) if a is not None]
    return " + ".join(parts)


#: ``iso`` of classification times, which repeat: an analysis's detections share one, and
#: results stored together share theirs.
_iso_repeated = lru_cache(maxsize=64)(iso)
