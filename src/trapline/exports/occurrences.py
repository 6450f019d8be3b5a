"""What the formats with a row per occurrence share: each occurrence of the exported images
written once, the filters that keep it, and the links to its photo and crop.

An occurrence is written with the photo of its best detection (it arrives with that photo,
``OccurrenceReads.shown``): an export takes the occurrences whose best photo it takes, and
reads no more of them at a time than its batch of photos holds detections.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from datetime import datetime
from typing import BinaryIO

from trapline.domain.exports.exports import ExportFilters
from trapline.domain.exports.facts import OccurrenceFacts
from trapline.domain.taxa.taxa import Taxon
from trapline.exports.base import ExportWriter, wall_iso, wall_span
from trapline.exports.reader import ExportContext, ImageResult
from trapline.exports.taxonomy import TaxonTerms, taxon_terms


class OccurrenceWriter(ExportWriter):
    """Calls ``occurrence`` for each occurrence the export keeps, once; counts images and
    detections as every format does, and occurrences as rows."""

    def __init__(self, out: BinaryIO, context: ExportContext) -> None:
        super().__init__(out, context)
        #: Images with detections in no event yet.
        self._ungrouped = 0
        self._terms: dict[int, TaxonTerms | None] = {}
        self._warned_links = False

    @abstractmethod
    def occurrence(self, o: OccurrenceFacts, result: ImageResult) -> bool:
        """Write one occurrence (``result`` is its best photo); False when the format leaves
        it out."""

    @abstractmethod
    def flush(self) -> None:
        """Write the rows of a batch."""

    @abstractmethod
    def finish(self) -> None:
        """Finish the file, once every occurrence is written."""

    def write(self, batch: Iterable[ImageResult]) -> None:
        tally, filters = self.tally, self.context.filters
        for result in batch:
            tally.seen(result)
            if detections := result.detection_count:
                tally.detections += detections
                if result.event is None:
                    self._ungrouped += 1
            for o in result.shown:
                if kept(o, filters) and self.occurrence(o, result):
                    tally.rows += 1
        self.flush()

    def close(self) -> None:
        self.flush()
        if self._ungrouped:
            self.context.problem(
                f"{self._ungrouped:,} images with detections are in no event yet (their "
                "deployment is being grouped): their occurrences are not in the file; export "
                "again once grouping is done"
            )
        if self.tally.detections and not self.tally.rows:
            self.context.problem(
                f"no occurrence in the file: none of the {self.tally.detections:,} detections "
                "of the exported images is in an occurrence the export keeps (their events are "
                "not tracked yet, they are under their run's threshold, or the filters leave "
                "their occurrences out)"
            )
        self.finish()

    def terms(self, taxon_id: int | None) -> TaxonTerms | None:
        """A taxon as the formats write it, worked out once (None for no taxon)."""
        if taxon_id is None:
            return None
        if taxon_id not in self._terms:
            taxon: Taxon | None = self.context.taxa.get(taxon_id)
            self._terms[taxon_id] = taxon_terms(taxon, self.context.taxa) if taxon else None
        return self._terms[taxon_id]

    def link(self, path: str) -> str:
        """An absolute link to a page or file of this server: the public URL it is reached at
        (``TRAPLINE_PUBLIC_URL``), else the bare path, noted once as a problem."""
        base = self.context.base_url
        if base:
            return base.rstrip("/") + path
        if not self._warned_links:
            self._warned_links = True
            self.context.problem(
                "links to photos and crops are paths (/images/…), not URLs: the server has no "
                "public URL; set TRAPLINE_PUBLIC_URL and export again"
            )
        return path


def kept(o: OccurrenceFacts, filters: ExportFilters) -> bool:
    """Whether the export's filters keep an occurrence: ``pipeline`` its pipeline's only,
    ``reviewed_only`` those a person determined, ``min_confidence`` those whose model score
    reaches it (and those a person determined)."""
    if filters.pipeline is not None and o.pipeline != filters.pipeline:
        return False
    person = o.determined_by == "person"
    if filters.reviewed_only and not person:
        return False
    if filters.min_confidence is not None and not person:
        return o.score is not None and o.score >= filters.min_confidence
    return True


def seen_at(moment: datetime | None, offset_minutes: int) -> str:
    """A first or last seen time with its offset ("" when unknown)."""
    return wall_iso(moment, offset_minutes) if moment is not None else ""


def seen_span(o: OccurrenceFacts) -> tuple[str, str]:
    """When an occurrence was first and last seen, with their offsets, in the order of the
    instants they name (``wall_span``; "" for an end unknown)."""
    if o.first_seen_at is None or o.last_seen_at is None:
        return seen_at(o.first_seen_at, o.first_offset_minutes), seen_at(
            o.last_seen_at, o.last_offset_minutes
        )
    return wall_span(o.first_seen_at, o.first_offset_minutes, o.last_seen_at, o.last_offset_minutes)


def photo_path(image_id: int) -> str:
    """The original photo's file (a signed-in person's browser follows it)."""
    return f"/images/{image_id}/file"


def photo_page(image_id: int) -> str:
    """The page that shows a photo with its boxes."""
    return f"/images/{image_id}"


def crop_path(annotation_id: int) -> str:
    """A detection's crop (a JPEG, its long side 256 pixels at most)."""
    return f"/annotations/{annotation_id}/crop"


def occurrence_page(occurrence_id: int) -> str:
    """The page of an occurrence."""
    return f"/occurrences/{occurrence_id}"
