"""Taxa files: reading the taxa lists users upload, and writing a list back out.

Three kinds of file are read, told apart by their content: trapline's own CSV (its header
has ``scientific_name``), a Darwin Core checklist as text (``scientificName``) and a Darwin
Core Archive (a zip file; ``taxa_dwc``). trapline's CSV has the columns

- ``scientific_name`` and ``rank`` (both required);
- ``parent``: the parent's scientific name, and ``parent_rank`` when that name is used at two
  ranks;
- ``gbif_key``, ``lsid`` and ``taxon_id`` (the id the list's source gives the taxon);
- ``vernacular_name`` (no language given) and ``vernacular_name:xx`` (language tag xx).

A file that cannot be read at all raises ``TaxaFileInvalid``; a row that cannot be read
becomes an ERROR outcome that names the column. A blank cell gives nothing: checking rows
against the list (``taxa_checks``) takes it to leave the list's value as it is.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TextIO

from trapline.domain.core.formulas import as_text
from trapline.domain.taxa import taxa_rows as cells
from trapline.domain.taxa.taxa import (
    MAX_LANGUAGE,
    ParentRef,
    Rank,
    RowOutcome,
    RowStatus,
    Taxon,
    TaxonEntry,
)
from trapline.domain.taxa.taxa_archive import read_archive
from trapline.domain.taxa.taxa_dwc import read_dwc_rows
from trapline.domain.taxa.taxa_rows import (
    MAX_COLUMNS,
    MAX_TAXA_BYTES,
    MAX_TAXA_ROWS,
    MAX_VERNACULAR_NAMES,
    RowProblem,
    TaxaFileInvalid,
    check_size,
)
from trapline.domain.taxa.taxa_text import TaxaText, sniff_delimiter

__all__ = [
    "MAX_COLUMNS",
    "MAX_TAXA_BYTES",
    "MAX_TAXA_ROWS",
    "TaxaFile",
    "TaxaFileInvalid",
    "open_taxa",
    "read_taxa",
    "write_taxa_csv",
]

#: trapline's columns besides vernacular names, in the order they are written.
COLUMNS = ("scientific_name", "rank", "parent", "parent_rank", "gbif_key", "lsid", "taxon_id")
#: The column of vernacular names; ``vernacular_name:xx`` holds those in language xx.
VERNACULAR = "vernacular_name"

_ZIP_MAGIC = b"PK\x03\x04"


#: Reads a file's rows from the top: (parents, names) say whether a checklist's parents are
#: found and whether an archive's entries have the vernacular names of its extension.
Reader = Callable[[bool, bool], Iterator[TaxonEntry | RowOutcome]]


@dataclass(frozen=True)
class TaxaFile:
    """A taxa file, read from its bytes as often as an import needs: to check its rows, then
    again to store them. Reading raises ``TaxaFileInvalid`` when the file is too large, has too
    many rows, a row too long or of too many columns, or too many vernacular names, is no kind
    read here, or its header or archive is wrong."""

    read: Reader

    def rows(self) -> Iterator[TaxonEntry | RowOutcome]:
        """Every row in the file's order: its entry, or its outcome when it is not imported
        (ERROR, or UNCHANGED for a checklist's synonyms). An archive's extension's vernacular
        names are checked but left out of the entries."""
        return self.read(True, False)

    def entries(self) -> Iterator[TaxonEntry]:
        """The entries again, in the file's order, with every vernacular name but without
        their parents; rows ``rows`` refused only for their parent or taxonID may be among
        them."""
        for found in self.read(False, True):
            if isinstance(found, TaxonEntry):
                yield found


def open_taxa(data: bytes, filename: str) -> TaxaFile:
    """A taxa file of one of the kinds read here, told apart by its content.

    Raises:
        TaxaFileInvalid: the file is too large, or a zip file by its name but not its bytes.
    """
    check_size(len(data))
    if data.startswith(_ZIP_MAGIC):
        return TaxaFile(
            lambda parents, names: read_archive(data, filename, parents=parents, names=names)
        )
    if filename.lower().endswith((".zip", ".xlsx")):
        raise TaxaFileInvalid(f"{filename} is not a zip archive: upload a CSV or a DwC archive")

    def rows() -> Iterator[list[str]]:
        text = TaxaText(data)
        return text.rows(sniff_delimiter(text.first_line(), filename))

    def read(parents: bool, names: bool) -> Iterator[TaxonEntry | RowOutcome]:
        found = rows()
        header = _header(found)
        if "scientific_name" in (column.strip().lower() for column in header):
            return _read_trapline(header, found)

        def after_header() -> Iterator[list[str]]:
            again = rows()
            _header(again)
            return again

        return read_dwc_rows(header, after_header, parents=parents)

    return TaxaFile(read)


def read_taxa(data: bytes, filename: str) -> tuple[list[TaxonEntry], list[RowOutcome]]:
    """The entries of a taxa file, and the outcomes of the rows that were not imported (ERROR,
    or UNCHANGED for a checklist's synonyms): all of them at once, as tests and small files
    have them.

    Raises:
        TaxaFileInvalid: as ``TaxaFile`` says.
    """
    entries: list[TaxonEntry] = []
    outcomes: list[RowOutcome] = []
    for found in open_taxa(data, filename).read(True, True):
        if isinstance(found, TaxonEntry):
            entries.append(found)
        else:
            outcomes.append(found)
    return entries, outcomes


def _header(rows: Iterator[list[str]]) -> list[str]:
    """The first row that is not blank."""
    for row in rows:
        if not cells.is_blank(row):
            return row
    raise TaxaFileInvalid("the file is empty: it needs a header row and a row per taxon")


def _read_trapline(
    header: list[str], rows: Iterator[list[str]]
) -> Iterator[TaxonEntry | RowOutcome]:
    columns = _trapline_columns(header)
    languages = {c: language for c in columns if (language := _language(c)) is not None}
    names = 0
    for number, row in cells.numbered(rows):
        values = dict(zip(columns, row, strict=False))
        try:
            if len(row) > len(columns) and not cells.is_blank(row[len(columns) :]):
                raise RowProblem(f"the row has {len(row)} cells; the header has {len(columns)}")
            entry = _trapline_entry(number, values, languages)
        except RowProblem as problem:
            name = cells.shown_name(values.get("scientific_name", ""))
            yield RowOutcome(number, name, RowStatus.ERROR, str(problem))
            continue
        names += len(entry.vernacular)
        if names > MAX_VERNACULAR_NAMES:
            raise TaxaFileInvalid(
                f"the file gives more than {MAX_VERNACULAR_NAMES:,} vernacular names (row "
                f"{number} passes that); a taxa file may give at most {MAX_VERNACULAR_NAMES:,}: "
                "split it"
            )
        yield entry


def _trapline_columns(header: list[str]) -> list[str]:
    """The header's column names: the fixed ones in lower case, language tags as written."""
    columns = []
    for text in header:
        base, colon, tag = text.strip().partition(":")
        columns.append(base.lower() + colon + tag.strip())
    unknown = [c for c in columns if c and c not in COLUMNS and _language(c) is None]
    if unknown:
        shown = ", ".join(repr(c) for c in unknown[:5]) + (", …" if len(unknown) > 5 else "")
        raise TaxaFileInvalid(
            f"unknown column{'s' if len(unknown) > 1 else ''} {shown}: the columns are "
            f"{', '.join(COLUMNS)}, {VERNACULAR} and {VERNACULAR}:xx (xx a language tag)"
        )
    seen: set[str] = set()
    for column in columns:
        if column in seen and column:
            raise TaxaFileInvalid(f"the column {column} appears twice: keep one")
        seen.add(column)
        if len(_language(column) or "") > MAX_LANGUAGE:
            raise TaxaFileInvalid(
                f"the language tag of column {column} is longer than {MAX_LANGUAGE} characters"
            )
    if "rank" not in columns:
        raise TaxaFileInvalid("the file has no rank column: every taxon needs a rank")
    return columns


def _language(column: str) -> str | None:
    """The language of a vernacular name column, None for another column."""
    if column == VERNACULAR:
        return ""
    base, _, tag = column.partition(":")
    return tag if base == VERNACULAR and tag else None


def _trapline_entry(number: int, values: dict[str, str], languages: dict[str, str]) -> TaxonEntry:
    """A row's entry; ``languages`` holds the language of each vernacular name column."""
    name = cells.scientific_name(values.get("scientific_name", ""), "scientific_name")
    rank = cells.rank(values.get("rank", ""), "rank")
    parent_name = cells.optional_text(values.get("parent", ""), "parent")
    parent_rank = values.get("parent_rank", "").strip()
    if parent_rank and parent_name is None:
        raise RowProblem("parent_rank is given but parent is empty: give both or neither")
    parent = None
    if parent_name is not None:
        parent = ParentRef(
            parent_name, cells.rank(parent_rank, "parent_rank") if parent_rank else None
        )
    vernacular = {}
    for column, language in languages.items():
        text = cells.optional_text(values.get(column, ""), column)
        if text is not None:
            vernacular[language] = text
    return TaxonEntry(
        row=number,
        scientific_name=name,
        rank=rank,
        parent=parent,
        gbif_key=cells.gbif_key(values.get("gbif_key", ""), "gbif_key"),
        lsid=cells.optional_text(values.get("lsid", ""), "lsid"),
        source_id=cells.optional_text(values.get("taxon_id", ""), "taxon_id"),
        vernacular=vernacular,
    )


def write_taxa_csv(
    taxa: Iterable[Taxon], names: Mapping[int, tuple[str, Rank]], out: TextIO
) -> int:
    """Write taxa as trapline's CSV, one row each in the order given; returns the rows written.

    Args:
        taxa: The taxa, parents before their children (ordered by lineage length).
        names: The scientific name and rank of each taxon's parent, by the parent's id.
        out: Where to write; a file opened with ``newline=""``.
    """
    taxa = list(taxa)
    languages = sorted({language for taxon in taxa for language in taxon.vernacular})
    writer = csv.writer(out)
    writer.writerow([*COLUMNS, *(_vernacular_column(language) for language in languages)])
    for taxon in taxa:
        parent_name, parent_rank = (
            names[taxon.parent_id] if taxon.parent_id is not None else ("", "")
        )
        # Every text cell follows the one rule (``domain/core/formulas.py``); only gbif_key, written
        # from a number, is exempt.
        writer.writerow(
            [
                as_text(taxon.scientific_name),
                as_text(taxon.rank.value),
                as_text(parent_name),
                as_text(parent_rank),
                "" if taxon.gbif_key is None else str(taxon.gbif_key),
                as_text(taxon.lsid),
                as_text(taxon.source_id),
                *(as_text(taxon.vernacular.get(language)) for language in languages),
            ]
        )
    return len(taxa)


def _vernacular_column(language: str) -> str:
    return f"{VERNACULAR}:{language}" if language else VERNACULAR
