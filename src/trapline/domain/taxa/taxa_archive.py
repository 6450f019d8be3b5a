"""Darwin Core Archives: a zip of text files that its ``meta.xml`` describes, whose core file
is a checklist (``taxa_dwc``) and which may add vernacular names in its VernacularName
extension.

An archive is read as often as an import needs (to check it, then to store it), each time from
its bytes; its members count once towards ``MAX_TAXA_BYTES`` however often they are read.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from trapline.domain.taxa import taxa_rows as cells
from trapline.domain.taxa.taxa import RowOutcome, TaxonEntry
from trapline.domain.taxa.taxa_dwc import CORE_TERMS, Names, Row, checklist, require_terms, term
from trapline.domain.taxa.taxa_rows import (
    MAX_COLUMNS,
    MAX_TAXA_BYTES,
    MAX_TAXA_ROWS,
    RowProblem,
    TaxaFileInvalid,
)
from trapline.domain.taxa.taxa_text import (
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
#: The terms read of the vernacular names extension's rows.
NAME_TERMS = frozenset({"coreid", "vernacularName", "language"})

_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


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
        #: The size of each member read so far.
        self.sizes: dict[str, int] = {}

    def require(self, location: str) -> zipfile.ZipInfo:
        """The member at ``location``; TaxaFileInvalid when the archive has none."""
        try:
            return self.archive.getinfo(self.folder + location)
        except KeyError:
            raise TaxaFileInvalid(f"the archive has no {location}, which meta.xml names") from None

    def read(self, location: str, limit: int = MAX_TAXA_BYTES) -> bytes:
        """A member's bytes; one read before does not count again towards the archive's
        ``MAX_TAXA_BYTES``."""
        info = self.require(location)
        again = self.sizes.get(location)
        with self.archive.open(info) as member:
            data = member.read(min(limit, self.left if again is None else again) + 1)
        if len(data) > limit:
            raise TaxaFileInvalid(f"{location} is larger than {limit / 2**20:g} MB")
        if again is not None:
            return data
        if len(data) > self.left:
            raise TaxaFileInvalid(
                f"the archive unpacks to more than {MAX_TAXA_BYTES // 1024 // 1024} MB; a taxa "
                "file may be at most that: split it"
            )
        self.left -= len(data)
        self.sizes[location] = len(data)
        return data


def read_archive(
    data: bytes, filename: str, *, parents: bool = True, names: bool = True
) -> Iterator[TaxonEntry | RowOutcome]:
    """The entries of a Darwin Core Archive whose core file holds taxa, and the outcomes of
    the rows not read as one (``checklist``). ``names``: whether entries have the vernacular
    names of the archive's extension (they are checked either way)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            yield from _read_archive(_Unpacker(archive), parents, names)
    # zipfile's own failures: NotImplementedError is its word for a compression method it does
    # not know, RuntimeError for an encrypted member.
    except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError, zlib.error) as exc:
        raise TaxaFileInvalid(
            f"{filename} cannot be unpacked ({exc}): upload a zip archive"
        ) from None


def _read_archive(
    archive: _Unpacker, parents: bool, keep_names: bool
) -> Iterator[TaxonEntry | RowOutcome]:
    meta = _meta(archive.read("meta.xml", MAX_META_BYTES))
    cores = [element for element in meta if _local(element.tag) == "core"]
    row_type = cores[0].get("rowType", "") if cores else ""
    if row_type != TAXON:
        raise TaxaFileInvalid(
            f"the archive's core holds {term(row_type) or 'no'} rows, not taxa: upload a "
            f"checklist (a core of rowType {TAXON})"
        )
    core = _text_file(cores[0], "id", "taxonID", CORE_TERMS)
    require_terms([*core.columns.values(), *core.defaults], "the archive's meta.xml")
    archive.require(core.location)  # a file the core lacks is told before the extension's
    names = VernacularNames(keep_names)
    for element in meta:
        if _local(element.tag) == "extension" and element.get("rowType") == VERNACULAR_NAMES:
            for number, row in _text_file(element, "coreid", "coreid", NAME_TERMS).rows(archive):
                names.add(number, row)
    yield from checklist(lambda: core.rows(archive), names, parents=parents)


class VernacularNames:
    """An archive's vernacular names by the taxonID they belong to, checked as they are read.
    Only a name and its language are kept, a taxon's all in one string (an archive may give
    250,000), and only while ``keep``; a taxon one of whose names cannot be read keeps why."""

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep
        #: A taxon's names as "language\tname" lines (neither may hold a tab or line break).
        self.kept: dict[str, str] = {}
        self.refused: dict[str, str] = {}

    def add(self, number: int, row: dict[str, str]) -> None:
        """Add a row of the vernacular names extension to the names of its taxon."""
        core_id = row.get("coreid", "").strip()
        if core_id in self.refused:
            return  # the taxon is refused for an earlier row of its names
        where = f"(vernacular names, row {number})"
        try:
            text = cells.optional_text(row.get("vernacularName", ""), f"vernacularName {where}")
            language = cells.language(row.get("language", ""), f"language {where}")
        except RowProblem as problem:
            self.refused[core_id] = str(problem)
            self.kept.pop(core_id, None)
            return
        if text is None or not self.keep:
            return
        found = self.kept.get(core_id, "")
        if all(language != known for known, _ in _pairs(found)):
            self.kept[core_id] = f"{found}\n{language}\t{text}" if found else f"{language}\t{text}"

    def __call__(self, taxon_id: str) -> Names:
        """A taxon's names as (language, name) in the extension's order, or why not."""
        refused = self.refused.get(taxon_id)
        return refused if refused is not None else _pairs(self.kept.get(taxon_id, ""))


def _pairs(kept: str) -> tuple[tuple[str, str], ...]:
    if not kept:
        return ()
    return tuple((line.partition("\t")[0], line.partition("\t")[2]) for line in kept.split("\n"))


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
