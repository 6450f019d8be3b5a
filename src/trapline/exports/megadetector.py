"""MegaDetector batch output (format 1.4): what Timelapse, AddaxAI and SpeciesNet read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from operator import itemgetter
from typing import Any, BinaryIO

from trapline import __version__
from trapline.domain.exports.exports import ExportFormat
from trapline.domain.exports.facts import ImageFacts
from trapline.exports.base import ExportWriter, capture_iso, json_bytes, normalised
from trapline.exports.determination import as_json
from trapline.exports.reader import Detection, ExportContext, ImageResult, ImageState, Ranked
from trapline.exports.reader import ranked as ranked_of

#: The version of the format written.
FORMAT_VERSION = "1.4"
#: MegaDetector's own categories keep their usual ids; other detector categories follow.
STANDARD_CATEGORIES = {"animal": "1", "person": "2", "vehicle": "3"}
#: The category of a detection whose detector named none.
UNNAMED_CATEGORY = "object"
#: How MegaDetector writes completion times.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class MegaDetectorWriter(ExportWriter):
    """``images`` streams out first; the category tables and ``info``, which grow while the
    images are written, follow them (JSON objects have no order)."""

    format = ExportFormat.MEGADETECTOR

    def __init__(self, out: BinaryIO, context: ExportContext) -> None:
        super().__init__(out, context)
        self.detection_categories: dict[str, str] = dict(STANDARD_CATEGORIES)
        self.classification_categories: dict[str, str] = {}
        self.detectors: set[str] = set()
        self.classifiers: set[str] = set()
        #: The thresholds of the pipelines whose detections were written, by "slug vN".
        self.thresholds: dict[str, float | None] = {}
        self.detected_at: datetime | None = None
        self.classified_at: datetime | None = None
        self._first = True
        out.write(b'{"images": [')

    def write(self, batch: Iterable[ImageResult]) -> None:
        entries = []
        for result in batch:
            self.tally.seen(result)
            if result.state is ImageState.UNPROCESSED:
                self.tally.skipped += 1
                continue
            image = result.image
            # The size lets MegaDetector's tools (``md_to_coco``) turn boxes into pixels
            # without the photos.
            entry: dict[str, Any] = {
                "file": self.relative_path(image),
                "width": image.width,
                "height": image.height,
            }
            if image.captured_at is not None:
                # Local capture time with its UTC offset (the format's sequence tools read it).
                entry["datetime"] = capture_iso(image)
            if result.event is not None:  # trapline's own keys; readers skip what they lack
                entry["event_id"] = result.event.id
            if result.state is ImageState.FAILED:
                entry["failure"] = result.failure or "failed"
                entry["detections"] = None
            else:
                detections = [self._detection(d, image) for d in result.detections if d.box]
                entry["detections"] = detections
                self.tally.detections += len(detections)
            entries.append(json_bytes(entry))
        if entries:
            self.out.write((b"\n" if self._first else b",\n") + b",\n".join(entries))
            self._first = False
            self.tally.rows += len(entries)

    def close(self) -> None:
        tail: dict[str, Any] = {
            "detection_categories": {v: k for k, v in self.detection_categories.items()},
            "classification_categories": {v: k for k, v in self.classification_categories.items()},
            "info": self._info(),
        }
        self.out.write(b"\n],\n" + json_bytes(tail)[1:])

    def _detection(self, d: Detection, image: ImageFacts) -> dict[str, Any]:
        assert d.box is not None
        category = d.category or UNNAMED_CATEGORY
        if category not in self.detection_categories:
            self.detection_categories[category] = str(len(self.detection_categories) + 1)
        out: dict[str, Any] = {
            "category": self.detection_categories[category],
            "conf": round(d.confidence, 6) if d.confidence is not None else 1.0,
            "bbox": normalised(d.box, image.width, image.height),
        }
        if d.occurrence_id is not None:
            out["occurrence_id"] = d.occurrence_id
        if d.determination is not None:
            out["determination"] = as_json(d.determination)
        self._note_run(d)
        # A detector's verdict on its own box is its category, not a classification.
        own_verdict = d.classifier is not None and d.classifier == d.detector
        ranked = () if own_verdict else ranked_of(d)  # best first
        # A person's word comes first, for sure: their determination of the detection's
        # occurrence, else their label of the detection itself.
        said = d.determined
        human = said.taxon if said else d.human.label if d.human is not None else None
        if human:
            ranked = (Ranked(human, 1.0), *(r for r in ranked if r.label != human))
        if ranked:
            pairs = self._classifications(ranked)
            out["classifications"] = _best_first(pairs) if human else pairs
            if d.classifier:
                self.classifiers.add(d.classifier.name)
            self.classified_at = _later(self.classified_at, d.completed_at)
        return out

    def _note_run(self, d: Detection) -> None:
        """What the file's info says of the runs: their detectors, the lowest threshold of
        each version's runs, the latest detection."""
        if d.detector:
            self.detectors.add(d.detector.name)
        if d.pipeline is not None:  # of runs of one version, the lowest threshold
            key, own = f"{d.pipeline.slug} v{d.pipeline.version}", d.pipeline.threshold
            seen = self.thresholds.get(key, own)
            self.thresholds[key] = None if own is None or seen is None else min(own, seen)
        self.detected_at = _later(self.detected_at, d.completed_at)

    def _classifications(self, ranked: tuple[Ranked, ...]) -> list[list[Any]]:
        """[category id, score] pairs, in the order of ``ranked``."""
        pairs = []
        for r in ranked:
            if r.label not in self.classification_categories:
                self.classification_categories[r.label] = str(
                    len(self.classification_categories) + 1
                )
            score = round(r.score, 6) if r.score is not None else 1.0
            pairs.append([self.classification_categories[r.label], score])
        return pairs

    def _info(self) -> dict[str, Any]:
        info: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "detector": "; ".join(sorted(self.detectors)) or "unknown",
            "detection_completion_time": _time(self.detected_at or self.context.created_at),
            "detector_metadata": _detector_metadata_of(self.thresholds.values()),
            "trapline": {
                "version": __version__,
                "project_id": self.context.project.id,
                "project": self.context.project.name,
                "filters": self.context.filters.as_json(),
                "thresholds": {
                    name: threshold or 0.0 for name, threshold in sorted(self.thresholds.items())
                },
            },
        }
        if self.classifiers or self.classification_categories:
            info["classifier"] = "; ".join(sorted(self.classifiers)) or "unknown"
            info["classification_completion_time"] = _time(
                self.classified_at or self.context.created_at
            )
        return info


def _detector_metadata_of(thresholds: Iterable[float | None]) -> dict[str, float]:
    """``info.detector_metadata``: the score from which the results' boxes count, as
    MegaDetector's tools read it; of several pipelines, the lowest of their thresholds (a
    reader that drops the boxes under it keeps every box one of them counts); 0 where a
    pipeline has none (every box counts)."""
    found = min((t or 0.0 for t in thresholds), default=0.0)
    return {"typical_detection_threshold": found, "conservative_detection_threshold": found}


def _best_first(pairs: list[list[Any]]) -> list[list[Any]]:
    """[category id, score] pairs sorted by score, best first."""
    return sorted(pairs, key=itemgetter(1), reverse=True)


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    return a if b is None or a >= b else b


def _time(moment: datetime) -> str:
    return moment.strftime(TIME_FORMAT)
