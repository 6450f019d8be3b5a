"""Darwin Core checklists: a text file whose header names Darwin Core terms, or a Darwin
Core Archive (a zip of text files that its ``meta.xml`` describes).

Terms are read with or without their namespace (``http://rs.tdwg.org/dwc/terms/``). A row is
a taxon: ``scientificName`` and ``taxonRank``; ``taxonID``, kept as the source id, and also
the GBIF key when it is a number or a GBIF species page, or the LSID when it is one;
``parentNameUsageID``, another row's ``taxonID``; ``vernacularName``. Rows whose
``taxonomicStatus`` is not an accepted one, or whose ``acceptedNameUsageID`` is another
taxon, are synonyms: they are not imported, and their outcome says so (UNCHANGED). Other
terms are not read. An archive may add vernacular names in its VernacularName extension.
"""

from __future__ import annotations

import io
import re
import sys
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace

from trapline.domain import taxa_rows as cells
from trapline.domain.taxa import ParentRef, RowOutcome, RowStatus, TaxonEntry
from trapline.domain.taxa_rows import (
    MAX_COLUMNS,
    MAX_TAXA_BYTES,
    MAX_TAXA_ROWS,
    RowProblem,
    TaxaFileInvalid,
)
from trapline.domain.taxa_text import (
    TaxaText,
    character_set,
    check_dialect,
    decode_text,
    shown,
)

#: The row type of an archive's core file that holds taxa.
TAXON = "http://rs.tdwg.org/dwc/terms/Taxon"
#: The row type of GBIF's extension of vernacular names.
VERNACULAR_NAMES = "http://rs.gbif.org/terms/1.0/VernacularName"
#: The largest ``meta.xml`` read.
MAX_META_BYTES = 1024 * 1024
#: The terms read of a checklist's rows; other columns are not kept.
CORE_TERMS = frozenset(
    {
        "taxonID",
        "parentNameUsageID",
        "acceptedNameUsageID",
        "scientificName",
        "taxonRank",
        "taxonomicStatus",
        "vernacularName",
    }
)
#: The terms read of the vernacular names extension's rows.
NAME_TERMS = frozenset({"coreid", "vernacularName", "language"})

#: Values of ``taxonomicStatus`` whose rows are imported (any case, "_" read as a space).
_ACCEPTED = frozenset({"accepted", "valid", "doubtful", "provisionally accepted"})
_GBIF_PAGE = re.compile(r"https?://(?:www\.)?gbif\.org/species/(\d+)/?", re.IGNORECASE)
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

#: A data row: its number and its cells by term.
Row = tuple[int, dict[str, str]]
#: The vernacular names an archive's extension gives a taxon, as (language, name) in the
#: extension's order, or why one of its rows cannot be read.
Names = tuple[tuple[str, str], ...] | str


def term(name: str) -> str:
    """A term without its namespace: ``scientificName`` for
    ``http://rs.tdwg.org/dwc/terms/scientificName`` or ``dwc:scientificName``."""
    return name.strip().rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def read_dwc_rows(
    header: list[str], rows: Iterator[list[str]]
) -> tuple[list[TaxonEntry], list[RowOutcome]]:
    """The entries of a checklist as text, after its header row."""
    terms = [term(name) for name in header]
    _require_terms(terms, "the header")
    read = [(i, name) for i, name in enumerate(terms) if name in CORE_TERMS]
    split = (
        (n, {name: row[i] for i, name in read if i < len(row)}) for n, row in cells.numbered(rows)
    )
    return checklist(split)


def _require_terms(terms: Iterable[str], where: str) -> None:
    terms = set(terms)
    if "scientificName" not in terms:
        raise TaxaFileInvalid(
            f"{where} names neither scientific_name (trapline's taxa CSV) nor scientificName "
            "(a Darwin Core checklist): give one of them"
        )
    if "taxonRank" not in terms:
        raise TaxaFileInvalid(f"{where} names no taxonRank: every taxon needs a rank")


@dataclass(slots=True)
class _Read:
    """A checklist row as read: its entry (its parent not yet known) or why it is left out."""

    number: int
    name: str
    taxon_id: str
    parent_id: str
    entry: TaxonEntry | None = None
    problem: str | None = None
    synonym: str | None = None


def checklist(
    rows: Iterable[Row], names: Mapping[str, Names] | None = None
) -> tuple[list[TaxonEntry], list[RowOutcome]]:
    """The entries of a checklist's rows, each parent found by its ``taxonID``.

    Args:
        rows: The rows, numbered.
        names: Vernacular names (from an archive's extension) by the taxonID they belong to.
    """
    read = [_read_row(number, row, names or {}) for number, row in rows]
    by_id: dict[str, _Read] = {}
    for row in read:
        first = by_id.setdefault(row.taxon_id, row) if row.taxon_id else row
        if first is not row and row.entry is not None:
            row.problem = f"duplicate taxonID {row.taxon_id}: row {first.number} has it too"
    refs: dict[int, ParentRef] = {}  # one a parent, by its row: its children share it
    parents = {i: _parent(row, by_id, refs) for i, row in enumerate(read) if row.parent_id}
    del by_id, refs
    entries: list[TaxonEntry] = []
    outcomes: list[RowOutcome] = []
    # From the last row back, each let go once its entry is made: the rows read and the
    # entries are not held both at once.
    while read:
        row = read.pop()
        parent = parents.pop(len(read), None)
        if isinstance(parent, str) and row.problem is None:
            row.problem = parent
        if row.synonym is not None:
            outcomes.append(RowOutcome(row.number, row.name, RowStatus.UNCHANGED, row.synonym))
        elif row.problem is not None or row.entry is None:
            outcomes.append(RowOutcome(row.number, row.name, RowStatus.ERROR, row.problem))
        else:
            ref = parent if isinstance(parent, ParentRef) else None
            entries.append(replace(row.entry, parent=ref) if ref else row.entry)
    entries.reverse()
    outcomes.reverse()
    return entries, outcomes


def _read_row(number: int, row: dict[str, str], names: Mapping[str, Names]) -> _Read:
    taxon_id = row.get("taxonID", "").strip()
    name = cells.shown_name(row.get("scientificName", ""))
    read = _Read(number, name, taxon_id, row.get("parentNameUsageID", "").strip())
    status = " ".join(row.get("taxonomicStatus", "").lower().replace("_", " ").split())
    accepted_id = row.get("acceptedNameUsageID", "").strip()
    if status and status not in _ACCEPTED:
        read.synonym = (
            "a synonym: not imported"
            if "synonym" in status
            else f'not an accepted name (taxonomicStatus "{status}"): not imported'
        )
    elif not status and accepted_id and accepted_id != taxon_id:
        read.synonym = f"a synonym (of taxonID {accepted_id}): not imported"
    else:
        try:
            read.entry = _entry(number, row, names.get(taxon_id, ()))
        except RowProblem as problem:
            read.problem = str(problem)
    return read


def _entry(number: int, row: dict[str, str], names: Names) -> TaxonEntry:
    name = cells.scientific_name(row.get("scientificName", ""), "scientificName")
    rank = cells.rank(row.get("taxonRank", ""), "taxonRank")
    taxon_id = cells.optional_text(row.get("taxonID", ""), "taxonID")
    vernacular = {}
    own = cells.optional_text(row.get("vernacularName", ""), "vernacularName")
    if own is not None:
        vernacular[""] = own
    if isinstance(names, str):
        raise RowProblem(names)
    for language, text in names:
        vernacular.setdefault(language, text)
    gbif_key, lsid = _ids(taxon_id)
    return TaxonEntry(number, name, rank, None, gbif_key, lsid, taxon_id, vernacular)


def _ids(taxon_id: str | None) -> tuple[int | None, str | None]:
    """The GBIF key and the LSID a taxonID gives."""
    if not taxon_id:
        return None, None
    if taxon_id.lower().startswith("urn:lsid:"):
        return None, taxon_id
    page = _GBIF_PAGE.fullmatch(taxon_id)
    digits = page.group(1) if page else taxon_id
    if digits.isascii() and digits.isdigit() and 1 <= int(digits) <= cells.MAX_GBIF_KEY:
        return int(digits), None
    return None, None


def _parent(row: _Read, by_id: Mapping[str, _Read], refs: dict[int, ParentRef]) -> ParentRef | str:
    """The parent a row's parentNameUsageID names (from ``refs`` when another row named it),
    or why it cannot be its parent."""
    parent = by_id.get(row.parent_id)
    if parent is None:
        return f"parent missing: no row has taxonID {row.parent_id}"
    if parent.synonym is not None:
        return f"parent {parent.name} (row {parent.number}) is not an accepted name"
    if parent.problem is not None or parent.entry is None:
        return f"parent {parent.name} has an error (row {parent.number})"
    if parent.number not in refs:
        refs[parent.number] = ParentRef(parent.entry.scientific_name, parent.entry.rank)
    return refs[parent.number]


@dataclass(frozen=True)
class _TextFile:
    """A text file of an archive as meta.xml describes it."""

    location: str
    delimiter: str
    quotechar: str | None
    header_lines: int
    encoding: str
    #: Term by column index (the core's id column as ``taxonID``, an extension's ``coreid``).
    columns: dict[int, str]
    #: The value a term takes when its cell is empty or it has no column.
    defaults: dict[str, str] = field(default_factory=dict)

    def rows(self, archive: _Unpacker) -> Iterator[Row]:
        """The file's data rows, numbered, by term."""
        text = TaxaText(archive.read(self.location), self.location, self.encoding)
        rows = text.rows(self.delimiter, self.quotechar)
        for _ in range(self.header_lines):
            if next(rows, None) is None:
                break
        for number, row in cells.numbered(rows):
            values = dict(self.defaults)
            for index, name in self.columns.items():
                if index < len(row) and (row[index].strip() or name not in values):
                    values[name] = row[index]
            yield number, values


class _Unpacker:
    """Reads an archive's members, no more than ``MAX_TAXA_BYTES`` altogether whatever sizes
    they claim."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        sizes = sum(info.file_size for info in archive.infolist())
        cells.check_size(sizes, "the archive unpacks to")
        names = archive.namelist()
        if "[Content_Types].xml" in names:
            raise TaxaFileInvalid("the file is a spreadsheet: save it as CSV UTF-8 and upload that")
        metas = [name for name in names if name.rpartition("/")[2] == "meta.xml"]
        if not metas:
            raise TaxaFileInvalid(
                "the archive has no meta.xml: a Darwin Core Archive needs one to describe its files"
            )
        self.archive = archive
        self.folder = min(metas, key=lambda name: name.count("/"))[: -len("meta.xml")]
        self.left = MAX_TAXA_BYTES

    def require(self, location: str) -> zipfile.ZipInfo:
        """The member at ``location``; TaxaFileInvalid when the archive has none."""
        try:
            return self.archive.getinfo(self.folder + location)
        except KeyError:
            raise TaxaFileInvalid(f"the archive has no {location}, which meta.xml names") from None

    def read(self, location: str, limit: int = MAX_TAXA_BYTES) -> bytes:
        info = self.require(location)
        with self.archive.open(info) as member:
            data = member.read(min(limit, self.left) + 1)
        if len(data) > limit:
            raise TaxaFileInvalid(f"{location} is larger than {limit / 2**20:g} MB")
        if len(data) > self.left:
            raise TaxaFileInvalid(
                f"the archive unpacks to more than {MAX_TAXA_BYTES // 1024 // 1024} MB; a taxa "
                "file may be at most that: split it"
            )
        self.left -= len(data)
        return data


def read_archive(data: bytes, filename: str) -> tuple[list[TaxonEntry], list[RowOutcome]]:
    """The entries of a Darwin Core Archive whose core file holds taxa."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _read_archive(_Unpacker(archive))
    # zipfile's own failures: NotImplementedError is its word for a compression method it does
    # not know, RuntimeError for an encrypted member.
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, zlib.error) as exc:
        raise TaxaFileInvalid(
            f"{filename} cannot be unpacked ({exc}): upload a zip archive"
        ) from None


def _read_archive(archive: _Unpacker) -> tuple[list[TaxonEntry], list[RowOutcome]]:
    meta = _meta(archive.read("meta.xml", MAX_META_BYTES))
    cores = [element for element in meta if _local(element.tag) == "core"]
    row_type = cores[0].get("rowType", "") if cores else ""
    if row_type != TAXON:
        raise TaxaFileInvalid(
            f"the archive's core holds {term(row_type) or 'no'} rows, not taxa: upload a "
            f"checklist (a core of rowType {TAXON})"
        )
    core = _text_file(cores[0], "id", "taxonID", CORE_TERMS)
    _require_terms([*core.columns.values(), *core.defaults], "the archive's meta.xml")
    archive.require(core.location)  # a file the core lacks is told before the extension's
    names: dict[str, Names] = {}
    for element in meta:
        if _local(element.tag) == "extension" and element.get("rowType") == VERNACULAR_NAMES:
            for number, row in _text_file(element, "coreid", "coreid", NAME_TERMS).rows(archive):
                _add_name(names, number, row)
    return checklist(core.rows(archive), names)


def _add_name(names: dict[str, Names], number: int, row: dict[str, str]) -> None:
    """Add a row of the vernacular names extension to the names of its taxon, checked as it
    is read: only the name and its language are kept, not the row (an archive may give
    250,000)."""
    core_id = row.get("coreid", "").strip()
    found = names.get(core_id, ())
    if isinstance(found, str):
        return  # the taxon is refused for an earlier row of its names
    where = f"(vernacular names, row {number})"
    try:
        text = cells.optional_text(row.get("vernacularName", ""), f"vernacularName {where}")
        language = sys.intern(cells.language(row.get("language", ""), f"language {where}"))
    except RowProblem as problem:
        names[core_id] = str(problem)
        return
    if text is not None and all(language != known for known, _ in found):
        names[core_id] = (*found, (language, text))


def _meta(data: bytes) -> ET.Element:
    """meta.xml parsed, refused when it declares a DOCTYPE or entities (an XML bomb)."""
    text = decode_text(data, "meta.xml")
    if _DECLARATION.search(text):
        raise TaxaFileInvalid("meta.xml has a DOCTYPE or ENTITY declaration: remove it")
    try:
        # No DOCTYPE, so no entity can expand: ElementTree is safe here.
        return ET.fromstring(text)  # noqa: S314
    except ET.ParseError as exc:
        raise TaxaFileInvalid(f"meta.xml is not well-formed XML ({exc})") from None


def _local(tag: str) -> str:
    """An element's name without its namespace."""
    return tag.rpartition("}")[2]


def _text_file(element: ET.Element, id_tag: str, id_term: str, terms: frozenset[str]) -> _TextFile:
    """What meta.xml says of a core or extension file, its columns of ``terms`` only; its
    ``id_tag`` column is ``id_term``."""
    locations = [(e.text or "").strip() for e in element.iter() if _local(e.tag) == "location"]
    if len(locations) != 1:
        raise TaxaFileInvalid(f"meta.xml names {len(locations)} files for one table; give one")
    columns: dict[int, str] = {}
    defaults: dict[str, str] = {}
    for child in element:
        if _local(child.tag) == id_tag:
            index = _number(child.get("index"), f"the index of <{id_tag}>", MAX_COLUMNS - 1)
            columns.setdefault(index, id_term)
        elif _local(child.tag) == "field":
            name = term(child.get("term", ""))
            where = f"the index of the field {shown(name)}"
            if child.get("index") is not None:
                index = _number(child.get("index"), where, MAX_COLUMNS - 1)
                if name in terms:
                    columns[index] = name
            if child.get("default") is not None and name in terms:
                defaults[name] = child.get("default", "")
    delimiter = element.get("fieldsTerminatedBy", ",").replace("\\t", "\t")
    quotechar = element.get("fieldsEnclosedBy", '"')
    if len(delimiter) != 1 or len(quotechar) > 1:
        raise TaxaFileInvalid(
            "meta.xml: fieldsTerminatedBy and fieldsEnclosedBy must be one character"
        )
    check_dialect(delimiter, quotechar, ("fieldsTerminatedBy", "fieldsEnclosedBy"), "meta.xml: ")
    header_lines = _number(
        element.get("ignoreHeaderLines", "0"), "ignoreHeaderLines", MAX_TAXA_ROWS
    )
    encoding = element.get("encoding", "utf-8")
    if character_set(encoding) is None:
        raise TaxaFileInvalid(
            f"meta.xml: the encoding of {locations[0]} is {shown(encoding)}, which is no "
            "character set: give one such as UTF-8 or ISO-8859-1"
        )
    return _TextFile(
        locations[0], delimiter, quotechar or None, header_lines, encoding, columns, defaults
    )


def _number(value: str | None, attribute: str, most: int) -> int:
    """A whole number meta.xml gives, from 0 to ``most``."""
    text = (value or "").strip()
    digits = text.lstrip("0") or "0"  # int() of 5,000 digits is itself refused: none reach it
    if not (text.isascii() and text.isdigit() and len(digits) <= len(str(most))) or (
        int(digits) > most
    ):
        raise TaxaFileInvalid(
            f"meta.xml: {attribute} must be a whole number from 0 to {most:,} (got "
            f"{'nothing' if value is None else shown(value)})"
        )
    return int(digits)
