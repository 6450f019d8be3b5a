"""The outlines a check of a taxa import works on: a file's entries and a list's taxa, each
kept as a name and a few numbers.

A file of 250,000 rows checked as ``TaxonEntry`` objects and maps of keys held about 900
bytes a row; as an outline, about 250 (its names, and arrays of ranks, rows and parents). The
entries themselves are read again from the file when they are stored.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field

from trapline.domain.taxa.taxa import ParentRef, Rank, Taxon, TaxonEntry

#: Every rank, by the number an outline keeps for it.
RANKS: tuple[Rank, ...] = tuple(Rank)
_RANK_NUMBER = {rank: number for number, rank in enumerate(RANKS)}


def rank_number(rank: Rank) -> int:
    return _RANK_NUMBER[rank]


def folded(name: str) -> str:
    """A name in any case, as keys hold it (the name itself when it is folded already)."""
    key = name.casefold()
    return name if key == name else key


@dataclass
class FileOutline:
    """A file's entries, in its order: each one's row, scientific name, rank and parent."""

    rows: array[int] = field(default_factory=lambda: array("i"))
    names: list[str] = field(default_factory=list)
    ranks: bytearray = field(default_factory=bytearray)
    #: The parent's name, None when the entry names none (the entries of one parent share it).
    parent_names: list[str | None] = field(default_factory=list)
    #: The parent's rank's number plus one; 0 when the entry gives no rank for its parent.
    parent_ranks: bytearray = field(default_factory=bytearray)
    _shared: dict[str, str] = field(default_factory=dict, repr=False)

    def add(self, entry: TaxonEntry) -> None:
        self.rows.append(entry.row)
        self.names.append(entry.scientific_name)
        self.ranks.append(_RANK_NUMBER[entry.rank])
        parent = entry.parent
        if parent is None:
            self.parent_names.append(None)
            self.parent_ranks.append(0)
            return
        self.parent_names.append(self._shared.setdefault(parent.name, parent.name))
        self.parent_ranks.append(0 if parent.rank is None else _RANK_NUMBER[parent.rank] + 1)

    @classmethod
    def of(cls, entries: Iterable[TaxonEntry]) -> FileOutline:
        outline = cls()
        for entry in entries:
            outline.add(entry)
        return outline

    def __len__(self) -> int:
        return len(self.rows)

    def rank(self, i: int) -> Rank:
        return RANKS[self.ranks[i]]

    def parent(self, i: int) -> ParentRef | None:
        name = self.parent_names[i]
        if name is None:
            return None
        number = self.parent_ranks[i]
        return ParentRef(name, RANKS[number - 1] if number else None)

    def place_of(self, row: int) -> int | None:
        """The place of the entry of a row, None when no entry has it (rows are in order)."""
        place = bisect_left(self.rows, row)
        return place if place < len(self.rows) and self.rows[place] == row else None


@dataclass
class ListOutline:
    """A list's taxa as a check needs them: id, scientific name, rank and parent's id (0 for
    none), parents before children."""

    ids: array[int] = field(default_factory=lambda: array("q"))
    names: list[str] = field(default_factory=list)
    ranks: bytearray = field(default_factory=bytearray)
    parent_ids: array[int] = field(default_factory=lambda: array("q"))

    def add(self, taxon_id: int, name: str, rank: Rank, parent_id: int | None) -> None:
        self.ids.append(taxon_id)
        self.names.append(name)
        self.ranks.append(_RANK_NUMBER[rank])
        self.parent_ids.append(parent_id or 0)

    @classmethod
    def of(cls, taxa: Iterable[Taxon]) -> ListOutline:
        outline = cls()
        for taxon in taxa:
            outline.add(taxon.id, taxon.scientific_name, taxon.rank, taxon.parent_id)
        return outline

    def __len__(self) -> int:
        return len(self.ids)
