"""Writing an import into a taxa list: the list's taxa as an outline to check a file against,
and the file's taxa written a batch at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session

from trapline.db.ids import reserve_ids
from trapline.db.plain import Plain
from trapline.db.tables import TaxaListRow, TaxonNameRow, TaxonRow
from trapline.domain.taxa.taxa import Rank, Taxon, TaxonEntry
from trapline.domain.taxa.taxa_outline import ListOutline

#: Taxa written per statement: a large import is written a batch at a time.
STORE_BATCH = 2_000
#: Taxa read per fetch of a list's outline.
_OUTLINE_FETCH = 10_000
_TAXA = cast(Table, TaxonRow.__table__)
_NAMES = cast(Table, TaxonNameRow.__table__)
#: The columns of a new taxon ``_values`` gives, in the order written (vernacular names last).
_COLUMNS = (
    "scientific_name", "name_key", "rank", "rank_level", "parent_id", "lineage", "gbif_key",
    "lsid", "source_id", "vernacular",
)  # fmt: skip

#: A taxon to write: the entry, its parent's id, its ancestors' ids from the root, and the
#: list's taxon it updates (None: it adds one).
Stored = tuple[TaxonEntry, int | None, tuple[int, ...], Taxon | None]


class TaxaStore:
    """A list's taxa as an import reads and writes them."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def outline(self, list_id: int) -> ListOutline:
        """The list's taxa as an outline (id, name, rank, parent), parents before children:
        read a fetch at a time, not as taxa (a list of 250,000 held ~150 MB as taxa)."""
        outline = ListOutline()
        rows = self.session.execute(
            select(TaxonRow.id, TaxonRow.scientific_name, TaxonRow.rank, TaxonRow.parent_id)
            .where(TaxonRow.list_id == list_id)
            .order_by(func.length(TaxonRow.lineage), TaxonRow.id)
            .execution_options(yield_per=_OUTLINE_FETCH)
        )
        for taxon_id, name, rank, parent_id in rows:
            outline.add(int(taxon_id), name, Rank(rank), parent_id)
        return outline

    def write(self, list_id: int, taxa: Sequence[Stored]) -> list[int]:
        """Add or update taxa (at most ``STORE_BATCH``; parents stored before): new taxa in
        one statement. An entry changes only what it gives: a blank cell keeps the list's
        value, a vernacular name replaces only its own language's. Returns the taxa's ids."""
        ids = [0] * len(taxa)
        names: list[tuple[int, int, str]] = []
        added = sum(current is None for *_, current in taxa)
        fresh = reserve_ids(self.session, (_TAXA, added))[0] if added else []
        plain = Plain(self.session)
        rows: list[tuple[Any, ...]] = []
        changed: list[dict[str, Any]] = []
        for place, (entry, parent_id, path, current) in enumerate(taxa):
            values = _values(entry, parent_id, path, current)
            if current is None:
                ids[place] = fresh[len(rows)]
                rows.append(
                    (ids[place], list_id, *(values[c] for c in _COLUMNS[:-1]),
                     plain.json(values["vernacular"]))
                )  # fmt: skip
            else:
                ids[place] = current.id
                changed.append(values | {"id": current.id})
            names += _names(list_id, ids[place], values)
        if changed:  # by primary key, one statement run for them all
            self.session.execute(update(TaxonRow), changed)
            updated = [values["id"] for values in changed]
            self.session.execute(delete(TaxonNameRow).where(TaxonNameRow.taxon_id.in_(updated)))
        plain.insert(_TAXA, ("id", "list_id", *_COLUMNS), rows)
        plain.insert(_NAMES, ("list_id", "taxon_id", "name_key"), names)
        return ids

    def finish(self, list_id: int, moved: bool) -> None:
        """After an import: the lineages written again when a taxon moved, and the list's
        count of taxa."""
        if moved:
            self._relineage(list_id)
        count = select(func.count()).where(TaxonRow.list_id == list_id).scalar_subquery()
        self.session.execute(
            update(TaxaListRow).where(TaxaListRow.id == list_id).values(taxon_count=count)
        )

    def _relineage(self, list_id: int) -> None:
        """Write every taxon's lineage again from the parents (after a taxon moved: the
        lineages of everything under it change)."""
        rows = self.session.execute(
            select(TaxonRow.id, TaxonRow.parent_id, TaxonRow.lineage).where(
                TaxonRow.list_id == list_id
            )
        ).all()
        parent = {int(i): p for i, p, _ in rows}
        stored = {int(i): text for i, _, text in rows}
        done: dict[int, str] = {}

        def lineage_of(taxon_id: int) -> str:
            chain: list[int] = []
            node = parent.get(taxon_id)
            while node is not None and node not in done:
                chain.append(node)
                node = parent.get(node)
            text = done[node] + f"{node}/" if node is not None else "/"
            for ancestor in reversed(chain):
                done[ancestor] = text
                text += f"{ancestor}/"
            return text

        for taxon_id in parent:
            done[taxon_id] = lineage_of(taxon_id)
        changed = [{"id": i, "lineage": text} for i, text in done.items() if stored[i] != text]
        if changed:
            self.session.execute(update(TaxonRow), changed)


def _values(
    entry: TaxonEntry, parent_id: int | None, path: tuple[int, ...], current: Taxon | None
) -> dict[str, Any]:
    """A taxon's columns from an entry, the list's values kept where the entry gives none."""
    return {
        "scientific_name": entry.scientific_name,
        "name_key": entry.scientific_name.casefold(),
        "rank": entry.rank.value,
        "rank_level": entry.rank.level,
        "parent_id": parent_id,
        "lineage": "/" + "".join(f"{i}/" for i in path),
        "gbif_key": entry.gbif_key
        if entry.gbif_key is not None or not current
        else current.gbif_key,
        "lsid": entry.lsid or (current.lsid if current else None),
        "source_id": entry.source_id or (current.source_id if current else None),
        "vernacular": {**(current.vernacular if current else {}), **entry.vernacular},
    }


def _names(list_id: int, taxon_id: int, values: dict[str, Any]) -> list[tuple[int, int, str]]:
    """The rows (list, taxon, name) of the names a taxon is found by: its scientific and
    vernacular names."""
    names = {values["name_key"]}
    names |= {v.strip().casefold()[:255] for v in values["vernacular"].values() if v.strip()}
    return [(list_id, taxon_id, n) for n in sorted(names)]
