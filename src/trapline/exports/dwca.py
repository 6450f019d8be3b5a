"""Darwin Core Archive: an occurrence core with a Simple Multimedia extension, ``meta.xml``
and ``eml.xml`` in a zip, as GBIF's IPT takes it.

One core row per occurrence that names a taxon (the others are left out and counted: GBIF
needs a scientific name); per occurrence two media rows, its best photo and its best
detection's crop. Both tables stream to temporary files as the images go by; the zip is put
together at the end with the metadata, whose coverage is gathered on the way.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, BinaryIO, Self

from trapline.domain.core.records import Deployment
from trapline.domain.exports.exports import ExportFormat
from trapline.domain.exports.facts import OccurrenceFacts
from trapline.exports.base import Part, capture_iso, iso, part_file
from trapline.exports.camtrap_dp import COMPRESS_LEVEL
from trapline.exports.cells import Cells
from trapline.exports.context import published_id
from trapline.exports.eml import Coverage, eml_document, licence_url
from trapline.exports.occurrences import (
    OccurrenceWriter,
    crop_path,
    occurrence_page,
    photo_page,
    photo_path,
    seen_span,
)
from trapline.exports.reader import ExportContext, ImageResult
from trapline.exports.taxonomy import HIGHER_RANKS, TaxonTerms

DWC = "http://rs.tdwg.org/dwc/terms/"
DC = "http://purl.org/dc/terms/"
TEXT_NS = "http://rs.tdwg.org/dwc/text/"
OCCURRENCE_ROW = DWC + "Occurrence"
MULTIMEDIA_ROW = "http://rs.gbif.org/terms/1.0/Multimedia"
#: The core's columns, in order (the first is the row's id too).
CORE_TERMS = (*(DWC + t for t in (
    "occurrenceID", "basisOfRecord", "occurrenceStatus", "individualCount", "eventID",
    "eventDate", "scientificName", "taxonID", "taxonRank", "kingdom", "phylum", "class",
    "order", "family", "genus", "vernacularName", "verbatimIdentification", "identifiedBy",
    "dateIdentified", "identificationVerificationStatus", "identificationRemarks",
    "locationID", "locality", "decimalLatitude", "decimalLongitude", "geodeticDatum",
    "occurrenceRemarks",
)), DC + "license")  # fmt: skip
#: The extension's columns after ``coreid`` (the occurrenceID), in order.
MEDIA_TERMS = tuple(
    DC + t for t in ("type", "format", "identifier", "references", "title", "created", "license")
)
#: The core's columns of numbers, written as they are (``cells.py``).
CORE_NUMBERS = tuple(DWC + t for t in ("individualCount", "decimalLatitude", "decimalLongitude"))
#: identificationVerificationStatus, by how the occurrence was determined.
VERIFIED, DISPUTED, UNVERIFIED = "verified by a person", "disputed", "unverified (machine)"
#: What separates fields and rows; neither may be inside a value.
_UNSAFE = str.maketrans({"\t": " ", "\n": " ", "\r": " "})


@dataclass
class DwcaPart:
    """A segment's share of the archive (``ExportWriter.close_part``): its two table files
    (without their headers) and what ``eml.xml`` and the problems gather."""

    core: Path
    media: Path
    places: dict[int, Deployment]
    days: tuple[date, date] | None
    nameless: int
    nameless_labels: dict[str, None]
    terms: dict[int, TaxonTerms | None]
    ungrouped: int


class DwcaWriter(OccurrenceWriter):
    """``occurrence.txt`` and ``multimedia.txt`` (tab-separated, UTF-8, a header row),
    ``meta.xml`` and ``eml.xml``."""

    format = ExportFormat.DWCA
    #: A row per occurrence, half a photo's: at 100,000 photos two processes took 7.4-7.7 s
    #: against one's 6.4-6.6 s (their start costs more than they save).
    parts_from = 200_000

    def __init__(self, out: BinaryIO, context: ExportContext, *, stem: Path | None = None) -> None:
        super().__init__(out, context)
        #: Where a segment's part files go (None: this writer writes the archive).
        self._stem = stem
        self._core = TabTable(CORE_TERMS, CORE_NUMBERS, part=stem and part_file(stem, "core"))
        self._media = TabTable(
            ("coreid", *MEDIA_TERMS), part=stem and part_file(stem, "multimedia")
        )
        #: The segments' table files adopted, in the photos' order.
        self._parts: list[tuple[Path, Path]] = []
        self._licence = licence_url(context.project.licence)
        #: Deployments with occurrences written, with their columns (locationID, locality,
        #: decimalLatitude, decimalLongitude, geodeticDatum).
        self._places: dict[int, Deployment] = {}
        self._place_columns: dict[int, list[str]] = {}
        self._days: tuple[date, date] | None = None
        self._nameless = 0
        #: The first labels of occurrences left out for want of a name (a dict: in order).
        self._nameless_labels: dict[str, None] = {}

    def occurrence(self, o: OccurrenceFacts, result: ImageResult) -> bool:
        terms = self.terms(o.taxon_id)
        if terms is None:
            self._nameless += 1
            if len(self._nameless_labels) < 10:
                self._nameless_labels[o.label or "no label"] = None
            return False
        occurrence_id = published_id(
            self.context.installation, "occurrence", o.published_id or o.id
        )
        person = o.determined_by == "person"
        said = result.determinations.identified.get(o.id)
        if person:
            by, when = (said.person or "", iso(said.made_at)) if said else ("", "")
            status = DISPUTED if o.disputed else VERIFIED
            how = said.kind if said else "review"
            remarks = f"determined by a person's {how}"
        else:
            by, when, status = o.pipeline, "", UNVERIFIED
            remarks = f"model score {o.score:.4f}" if o.score is not None else ""
        place = self._place_columns.get(o.deployment_id) or self._place(o.deployment_id)
        first, last = seen_span(o)
        self._when(o)
        self._core.add([
            occurrence_id, "HumanObservation" if person else "MachineObservation", "present",
            "1", published_id(self.context.installation, "event", o.event_id),
            first if last in ("", first) else f"{first}/{last}",
            terms.scientific_name, terms.taxon_id, terms.rank.value,
            *(terms.higher.get(rank, "") for rank in HIGHER_RANKS), terms.english_name,
            o.label or "", by, when, status, remarks, *place,
            f"seen in {o.detection_count} photo{'' if o.detection_count == 1 else 's'}, "
            f"tracked in {o.pipeline}'s results",
            self._licence,
        ])  # fmt: skip
        self._photos(occurrence_id, o, result)
        return True

    def _photos(self, occurrence_id: str, o: OccurrenceFacts, result: ImageResult) -> None:
        """The occurrence's best photo and its crop, as media rows."""
        best = result.determinations.best.get(o.id)
        if best is None:
            return
        photo = result.image  # the best detection's
        created = capture_iso(photo)
        self._media.add([
            occurrence_id, "StillImage", photo.content_type,
            self.link(photo_path(best.image_id)), self.link(photo_page(best.image_id)),
            f"photo {best.image_id}, the occurrence's best", created, self._licence,
        ])  # fmt: skip
        self._media.add([
            occurrence_id, "StillImage", "image/jpeg",
            self.link(crop_path(best.annotation_id)), self.link(occurrence_page(o.id)),
            f"crop of detection {best.annotation_id} in photo {best.image_id}", created,
            self._licence,
        ])  # fmt: skip

    def _place(self, deployment_id: int) -> list[str]:
        """A deployment's columns, the first time (a deployment without coordinates is
        written without them, and noted)."""
        place = self.context.deployments.get(deployment_id)
        if place is None:
            return [str(deployment_id), "", "", "", ""]
        self._places[deployment_id] = place
        columns = [str(place.id), place.name, "", "", ""]
        if place.latitude is None or place.longitude is None:
            self.context.problem(
                f"deployment {place.id} ({place.name}) has no latitude and longitude: its "
                "occurrences are written without coordinates; set them and export again"
            )
        else:
            columns[2:] = [_degrees(place.latitude), _degrees(place.longitude), "WGS84"]
        self._place_columns[deployment_id] = columns
        return columns

    def _when(self, o: OccurrenceFacts) -> None:
        if o.first_seen_at is None or o.last_seen_at is None:
            return
        first, last = o.first_seen_at.date(), o.last_seen_at.date()
        days = self._days
        self._days = (min(days[0], first), max(days[1], last)) if days else (first, last)

    def flush(self) -> None:
        self._core.flush()
        self._media.flush()

    @classmethod
    def for_part(cls, stem: Path, context: ExportContext) -> Self:
        return cls(io.BytesIO(), context, stem=stem)

    def close_part(self) -> Part:
        self._core.close()
        self._media.close()
        stem = self._stem
        assert stem is not None  # a segment's writer (``for_part``)
        state = DwcaPart(
            part_file(stem, "core"), part_file(stem, "multimedia"), self._places, self._days,
            self._nameless, self._nameless_labels, self._terms, self._ungrouped,
        )  # fmt: skip
        return Part(self.tally, self.context.problems, self.context.problem_count, state)

    def adopt(self, part: Part) -> None:
        super().adopt(part)
        state: DwcaPart = part.state
        self._places.update(state.places)
        if state.days is not None:
            days, (first, last) = self._days, state.days
            self._days = (min(days[0], first), max(days[1], last)) if days else state.days
        self._nameless += state.nameless
        for label in state.nameless_labels:
            if len(self._nameless_labels) < 10:
                self._nameless_labels[label] = None
        self._terms.update(state.terms)
        self._ungrouped += state.ungrouped
        self._parts.append((state.core, state.media))

    def discard(self) -> None:
        self._core.close()
        self._media.close()

    def finish(self) -> None:
        if self._nameless:
            labels = ", ".join(sorted(self._nameless_labels))
            self.context.problem(
                f"{_occurrences(self._nameless)} left out: their labels ({labels}) name no "
                "taxon of the project's taxa list, and GBIF needs a scientific name; map the "
                "labels on the project's labels page and export again"
            )
        if not self.context.project.licence.strip():
            self.context.problem(
                "the project names no licence: set one (GBIF takes CC0-1.0, CC-BY-4.0 or "
                "CC-BY-NC-4.0) and export again"
            )
        roles = {c.role for c in self.context.project.contacts}
        if not roles & {"creator", "contact"}:
            self.context.problem(
                "the project names no creator or contact: eml.xml names the project instead; "
                "add people to the project and export again"
            )
        context = self.context
        metadata = eml_document(
            context.project, context.created_at, self._coverage(), context.counted
        )
        with zipfile.ZipFile(
            self.out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
        ) as archive:
            archive.writestr("meta.xml", meta_xml())
            archive.writestr("eml.xml", metadata)
            for n, (name, table) in enumerate(
                (("occurrence.txt", self._core), ("multimedia.txt", self._media))
            ):
                table.copy_to(archive, name, [part[n] for part in self._parts])

    def _coverage(self) -> Coverage:
        placed = [
            (d.latitude, d.longitude)
            for d in self._places.values()
            if d.latitude is not None and d.longitude is not None
        ]
        box = None
        if placed:
            lats, lons = [p[0] for p in placed], [p[1] for p in placed]
            box = (min(lons), max(lons), max(lats), min(lats))
        taxa = sorted(
            {(t.rank.value, t.scientific_name, t.english_name) for t in self._terms.values() if t}
        )
        first, last = self._days or (None, None)
        return Coverage(box, first, last, taxa)


def meta_xml() -> bytes:
    """The archive's descriptor: which file holds which terms."""
    ET.register_namespace("", TEXT_NS)
    root = ET.Element(f"{{{TEXT_NS}}}archive", {"metadata": "eml.xml"})
    for tag, row_type, location, key, terms in (
        ("core", OCCURRENCE_ROW, "occurrence.txt", "id", CORE_TERMS),
        ("extension", MULTIMEDIA_ROW, "multimedia.txt", "coreid", ("", *MEDIA_TERMS)),
    ):
        section = ET.SubElement(
            root,
            f"{{{TEXT_NS}}}{tag}",
            {
                "encoding": "UTF-8", "fieldsTerminatedBy": "\\t", "linesTerminatedBy": "\\n",
                "fieldsEnclosedBy": "", "ignoreHeaderLines": "1", "rowType": row_type,
            },
        )  # fmt: skip
        files = ET.SubElement(section, f"{{{TEXT_NS}}}files")
        ET.SubElement(files, f"{{{TEXT_NS}}}location").text = location
        ET.SubElement(section, f"{{{TEXT_NS}}}{key}", {"index": "0"})
        for index, term in enumerate(terms):
            if term:
                ET.SubElement(section, f"{{{TEXT_NS}}}field", {"index": str(index), "term": term})
    ET.indent(root)
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return text


class TabTable:
    """A tab-separated table in a temporary file, its header written (or a segment's part of
    one, without it, in the file ``part``): tabs and line breaks inside values become spaces
    (the archive's text format has no quoting), and every text cell is escaped by the one
    rule of ``cells.py`` (``numbers``: the terms written as they are)."""

    def __init__(
        self, terms: tuple[str, ...], numbers: tuple[str, ...] = (), *, part: Path | None = None
    ) -> None:
        self.file: IO[bytes]
        if part is None:
            self.file = tempfile.TemporaryFile(prefix="trapline-dwca-")  # noqa: SIM115
        else:
            self.file = part.open("wb")
        self._cells = Cells(terms, numbers=numbers, separator="\t")
        self._lines = [] if part else ["\t".join(t.rsplit("/", 1)[-1] for t in terms)]

    def add(self, values: list[str]) -> None:
        line = "\t".join(values)
        if line.count("\t") != len(values) - 1 or "\n" in line or "\r" in line:
            values = [v.translate(_UNSAFE) for v in values]  # the rare unsafe value
            line = "\t".join(values)
        safe = self._cells.safe(values, line)
        if safe is not None:
            line = "\t".join(safe)
        self._lines.append(line)

    def flush(self) -> None:
        if self._lines:
            self._lines.append("")
            self.file.write("\n".join(self._lines).encode())
            self._lines.clear()

    def close(self) -> None:
        """Write what is left and close the file."""
        self.flush()
        self.file.close()

    def copy_to(self, archive: zipfile.ZipFile, name: str, parts: list[Path]) -> None:
        """Put the table in the archive as ``name``, followed by the rows of ``parts`` (the
        segments' files, removed once copied)."""
        self.flush()
        self.file.seek(0)
        with archive.open(name, "w", force_zip64=True) as target:
            shutil.copyfileobj(self.file, target, 1024 * 1024)
            for part in parts:
                with part.open("rb") as piece:
                    shutil.copyfileobj(piece, target, 1024 * 1024)
                part.unlink()
        self.file.close()


def _occurrences(count: int) -> str:
    return f"{count:,} occurrence" + ("" if count == 1 else "s")


def _degrees(value: float | None) -> str:
    """Decimal degrees with 6 decimals at most (about 0.1 m)."""
    if value is None:
        return ""
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"
