"""Darwin Core checklists: a text file whose header names Darwin Core terms, or the core file
of a Darwin Core Archive (``taxa_archive``).

Terms are read with or without their namespace (``http://rs.tdwg.org/dwc/terms/``). A row is
a taxon: ``scientificName`` and ``taxonRank``; ``taxonID``, kept as the source id, and also
the GBIF key when it is a number or a GBIF species page, or the LSID when it is one;
``parentNameUsageID``, another row's ``taxonID``; ``vernacularName``. Rows whose
``taxonomicStatus`` is not an accepted one, or whose ``acceptedNameUsageID`` is another
taxon, are synonyms: they are not imported, and their outcome says so (UNCHANGED). Other
terms are not read. An archive may add vernacular names in its VernacularName extension.

A parent may come after its children, so finding parents reads the rows twice: first to keep
each ``taxonID``'s row (its number, name, rank and whether it is read), then to give the
entries.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from trapline.domain.taxa import taxa_rows as cells
from trapline.domain.taxa.taxa import ParentRef, RowOutcome, RowStatus, TaxonEntry
from trapline.domain.taxa.taxa_outline import RANKS, rank_number
from trapline.domain.taxa.taxa_rows import RowProblem, TaxaFileInvalid

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

#: Values of ``taxonomicStatus`` whose rows are imported (any case, "_" read as a space).
_ACCEPTED = frozenset({"accepted", "valid", "doubtful", "provisionally accepted"})
_GBIF_PAGE = re.compile(r"https?://(?:www\.)?gbif\.org/species/(\d+)/?", re.IGNORECASE)

#: A data row: its number and its cells by term.
Row = tuple[int, dict[str, str]]
#: The vernacular names an archive's extension gives a taxon, as (language, name) in the
#: extension's order, or why one of its rows cannot be read.
Names = tuple[tuple[str, str], ...] | str
#: A taxon's vernacular names by its taxonID (``taxa_archive.VernacularNames``).
NamesOf = Callable[[str], Names]
#: Rows of a checklist, read again from the top each time it is called.
Rows = Callable[[], Iterable[Row]]


def term(name: str) -> str:
    """A term without its namespace: ``scientificName`` for
    ``http://rs.tdwg.org/dwc/terms/scientificName`` or ``dwc:scientificName``."""
    return name.strip().rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def read_dwc_rows(
    header: list[str], rows: Callable[[], Iterator[list[str]]], *, parents: bool = True
) -> Iterator[TaxonEntry | RowOutcome]:
    """The entries of a checklist as text, and the outcomes of the rows not read as one (see
    ``checklist``); ``rows`` gives the rows after the header row, from the top."""
    terms = [term(name) for name in header]
    require_terms(terms, "the header")
    read = [(i, name) for i, name in enumerate(terms) if name in CORE_TERMS]

    def split() -> Iterator[Row]:
        for number, row in cells.numbered(rows()):
            yield number, {name: row[i] for i, name in read if i < len(row)}

    return checklist(split, parents=parents)


def require_terms(terms: Iterable[str], where: str) -> None:
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


def _no_names(taxon_id: str) -> Names:
    return ()


def checklist(
    rows: Rows, names: NamesOf = _no_names, *, parents: bool = True
) -> Iterator[TaxonEntry | RowOutcome]:
    """Each row's entry, each parent found by its ``taxonID``, or its outcome: ERROR (why),
    or UNCHANGED for a synonym; in the rows' order.

    Args:
        rows: The rows, numbered, read from the top each time it is called.
        names: Vernacular names (from an archive's extension) by the taxonID they belong to.
        parents: Whether to find the parents (reading the rows twice); without, entries have
            none and rows refused only for their parent or a taxonID used before are entries.
    """
    known = _Known.of(rows(), names) if parents else None
    for number, row in rows():
        read = _read_row(number, row, names)
        parent: ParentRef | str | None = None
        if known is not None:
            first = known.first_row(read.taxon_id)
            if first is not None and first != number and read.entry is not None:
                read.problem = f"duplicate taxonID {read.taxon_id}: row {first} has it too"
            if read.parent_id:
                parent = known.parent(read.parent_id)
        if isinstance(parent, str) and read.problem is None:
            read.problem = parent
        if read.synonym is not None:
            yield RowOutcome(read.number, read.name, RowStatus.UNCHANGED, read.synonym)
        elif read.problem is not None or read.entry is None:
            yield RowOutcome(read.number, read.name, RowStatus.ERROR, read.problem)
        elif isinstance(parent, ParentRef):
            entry = read.entry
            yield TaxonEntry(
                entry.row, entry.scientific_name, entry.rank, parent, entry.gbif_key,
                entry.lsid, entry.source_id, entry.vernacular,
            )  # fmt: skip
        else:
            yield read.entry


#: What ``_Known`` keeps of a row: read as an entry, a synonym, or not read.
_ENTRY, _SYNONYM, _ERROR = 0, 1, 2


class _Known:
    """The first row of each taxonID, as finding a parent needs it: its number, name, rank
    and whether it was read as an entry (arrays, not rows: a checklist may have 250,000)."""

    def __init__(self) -> None:
        self.places: dict[str, int] = {}
        self.numbers = array("i")
        self.names: list[str] = []
        self.states = bytearray()
        self.ranks = bytearray()

    @classmethod
    def of(cls, rows: Iterable[Row], names: NamesOf) -> _Known:
        known = cls()
        for number, row in rows:
            read = _read_row(number, row, names)
            if not read.taxon_id or read.taxon_id in known.places:
                continue
            known.places[read.taxon_id] = len(known.numbers)
            known.numbers.append(number)
            entry = read.entry
            known.names.append(read.name if entry is None else entry.scientific_name)
            state = _ERROR if read.problem is not None or entry is None else _ENTRY
            known.states.append(_SYNONYM if read.synonym is not None else state)
            known.ranks.append(0 if entry is None else rank_number(entry.rank))
        return known

    def first_row(self, taxon_id: str) -> int | None:
        """The number of the first row of a taxonID (None for none given)."""
        place = self.places.get(taxon_id) if taxon_id else None
        return None if place is None else self.numbers[place]

    def parent(self, parent_id: str) -> ParentRef | str:
        """The parent a parentNameUsageID names, or why it cannot be a parent."""
        place = self.places.get(parent_id)
        if place is None:
            return f"parent missing: no row has taxonID {parent_id}"
        name, number, state = self.names[place], self.numbers[place], self.states[place]
        if state == _SYNONYM:
            return f"parent {name} (row {number}) is not an accepted name"
        if state == _ERROR:
            return f"parent {name} has an error (row {number})"
        return ParentRef(name, RANKS[self.ranks[place]])


def _read_row(number: int, row: dict[str, str], names: NamesOf) -> _Read:
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
            read.entry = _entry(number, row, names(taxon_id))
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
