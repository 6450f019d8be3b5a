"""Taxa lists, their taxa and the names the type-ahead searches, projects' lists, and the
mapping of labels onto taxa."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from trapline.db.repositories.counts import CountRepo
from trapline.db.repositories.occurrences import BIGINT_MAX, chunks
from trapline.db.tables import (
    AlgorithmRow,
    CategoryMapRow,
    LabelMappingRow,
    ProjectTaxaListRow,
    TaxaListRow,
    TaxonNameRow,
    TaxonRow,
)
from trapline.domain.occurrences import NOT_AN_OBJECT
from trapline.domain.taxa import (
    LabelKind,
    LabelMapping,
    LabelResolver,
    Rank,
    TaxaList,
    Taxon,
    TaxonEntry,
)

#: Taxa written per statement: a generation of a large import is written a batch at a time.
STORE_BATCH = 2_000


class TaxaRepo:
    """Taxa lists and label mappings."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- lists ------------------------------------------------------------------------------

    def create_list(self, name: str, owner_project_id: int) -> TaxaList:
        row = TaxaListRow(name=name, owner_project_id=owner_project_id, taxon_count=0)
        self.session.add(row)
        self.session.flush()
        return _to_list(row)

    def get_list(self, list_id: int) -> TaxaList | None:
        if not 1 <= list_id <= BIGINT_MAX:
            return None
        row = self.session.get(TaxaListRow, list_id)
        return _to_list(row) if row else None

    def list_of(self, project_id: int) -> TaxaList | None:
        """The list the project counts under, if it has one."""
        row = self.session.scalar(
            select(TaxaListRow)
            .join(ProjectTaxaListRow, ProjectTaxaListRow.list_id == TaxaListRow.id)
            .where(ProjectTaxaListRow.project_id == project_id)
        )
        return _to_list(row) if row else None

    def use_list(self, project_id: int, list_id: int) -> None:
        """The project counts under this list from now on."""
        self.session.execute(
            delete(ProjectTaxaListRow).where(ProjectTaxaListRow.project_id == project_id)
        )
        self.session.add(ProjectTaxaListRow(project_id=project_id, list_id=list_id))
        self.session.flush()

    def projects_using(self, list_id: int) -> list[int]:
        return list(
            self.session.scalars(
                select(ProjectTaxaListRow.project_id)
                .where(ProjectTaxaListRow.list_id == list_id)
                .order_by(ProjectTaxaListRow.project_id)
            )
        )

    # -- taxa -------------------------------------------------------------------------------

    def all_of(self, list_id: int) -> list[Taxon]:
        """Every taxon of a list, parents before children."""
        rows = self.session.scalars(
            select(TaxonRow)
            .where(TaxonRow.list_id == list_id)
            .order_by(func.length(TaxonRow.lineage), TaxonRow.id)
        )
        return [to_taxon(r) for r in rows]

    def get(self, taxon_id: int) -> Taxon | None:
        if not 1 <= taxon_id <= BIGINT_MAX:
            return None
        row = self.session.get(TaxonRow, taxon_id)
        return to_taxon(row) if row else None

    def by_ids(self, taxon_ids: Iterable[int]) -> dict[int, Taxon]:
        found: dict[int, Taxon] = {}
        for chunk in chunks(sorted(set(taxon_ids))):
            rows = self.session.scalars(select(TaxonRow).where(TaxonRow.id.in_(chunk)))
            found |= {r.id: to_taxon(r) for r in rows}
        return found

    def page(
        self, list_id: int, *, limit: int, offset: int, rank: Rank | None = None
    ) -> tuple[int, list[Taxon]]:
        terms = [TaxonRow.list_id == list_id]
        if rank is not None:
            terms.append(TaxonRow.rank == rank.value)
        total = self.session.scalar(select(func.count()).select_from(TaxonRow).where(*terms))
        rows = self.session.scalars(
            select(TaxonRow)
            .where(*terms)
            .order_by(TaxonRow.name_key, TaxonRow.id)
            .limit(limit)
            .offset(offset)
        )
        return int(total or 0), [to_taxon(r) for r in rows]

    def search(self, list_id: int, text: str, limit: int) -> list[Taxon]:
        """Taxa whose scientific or a vernacular name starts with ``text`` (any case), the
        shortest names first: a range scan of the names' index."""
        key = text.strip().casefold()
        if not key:
            return []
        hits = (
            select(TaxonNameRow.taxon_id, func.min(func.length(TaxonNameRow.name_key)).label("n"))
            .where(
                TaxonNameRow.list_id == list_id,
                TaxonNameRow.name_key >= key,
                TaxonNameRow.name_key < key + "\U0010ffff",
            )
            .group_by(TaxonNameRow.taxon_id)
            .order_by("n", TaxonNameRow.taxon_id)
            .limit(limit)
            .subquery()
        )
        rows = self.session.scalars(
            select(TaxonRow)
            .join(hits, hits.c.taxon_id == TaxonRow.id)
            .order_by(hits.c.n, TaxonRow.rank_level, TaxonRow.id)
        )
        return [to_taxon(r) for r in rows]

    def store(self, list_id: int, entries: Sequence[TaxonEntry], existing: Sequence[Taxon]) -> None:
        """Add or update a list's taxa from checked entries (parents before children): new
        taxa are inserted a generation at a time, many rows per statement. An entry changes
        only what it gives: a blank cell keeps the list's value, a vernacular name replaces
        only its own language's."""
        ids = {(t.scientific_name.casefold(), t.rank): t.id for t in existing}
        # Of the new taxa, only those that are some entry's parent are remembered.
        parents = {e.parent.name.casefold() for e in entries if e.parent is not None}
        known = {t.id: t for t in existing}
        lineage = {t.id: t.lineage for t in existing}
        by_name: dict[str, list[int]] = {}
        for t in existing:
            by_name.setdefault(t.scientific_name.casefold(), []).append(t.id)
        moved = False
        # A generation a batch at a time: the values and names of a large import are held
        # for one batch only.
        for generation in _batches(_generations(entries)):
            new: list[tuple[TaxonEntry, dict[str, Any]]] = []
            names: list[dict[str, Any]] = []
            for entry in generation:
                taxon_id = ids.get(entry.key)
                current = known.get(taxon_id) if taxon_id is not None else None
                parent_id = (
                    _parent_id(entry, ids, by_name)
                    if entry.parent is not None or current is None
                    else current.parent_id
                )
                path = (*lineage[parent_id], parent_id) if parent_id is not None else ()
                values = _values(entry, parent_id, path, current)
                if taxon_id is None:
                    new.append((entry, values | {"list_id": list_id}))
                    continue
                assert current is not None
                moved = moved or parent_id != current.parent_id
                self.session.execute(
                    update(TaxonRow).where(TaxonRow.id == taxon_id).values(**values)
                )
                self.session.execute(delete(TaxonNameRow).where(TaxonNameRow.taxon_id == taxon_id))
                lineage[taxon_id] = path
                names += _names(list_id, taxon_id, values)
            made = self.session.execute(
                insert(TaxonRow).returning(TaxonRow.id, sort_by_parameter_order=True),
                [values for _, values in new],
            ).scalars().all() if new else []  # fmt: skip
            for (entry, values), taxon_id in zip(new, made, strict=True):
                names += _names(list_id, int(taxon_id), values)
                if entry.key[0] not in parents:
                    continue
                ids[entry.key] = int(taxon_id)
                by_name.setdefault(entry.key[0], []).append(int(taxon_id))
                lineage[int(taxon_id)] = _path(values["lineage"])
            if names:
                self.session.execute(insert(TaxonNameRow), names)
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

    # -- labels -----------------------------------------------------------------------------

    def set_mapping(
        self, project_id: int, label: str, kind: LabelKind | None, taxon_id: int | None,
        user_id: int | None,
    ) -> None:  # fmt: skip
        """A person says what ``label`` stands for (``kind`` None: forget their word)."""
        self.session.execute(
            delete(LabelMappingRow).where(
                LabelMappingRow.project_id == project_id, LabelMappingRow.label == label
            )
        )
        if kind is not None:
            self.session.add(
                LabelMappingRow(
                    project_id=project_id, label=label, kind=kind.value, taxon_id=taxon_id,
                    set_by=user_id,
                )
            )  # fmt: skip
            self.session.flush()

    def hidden_labels(self, project_id: int) -> list[str]:
        """The labels a person mapped as no object in the project."""
        return list(
            self.session.scalars(
                select(LabelMappingRow.label).where(
                    LabelMappingRow.project_id == project_id,
                    LabelMappingRow.kind == LabelKind.NON_OBJECT.value,
                )
            )
        )

    def resolver(self, project_id: int, labels: Iterable[str | None]) -> LabelResolver:
        """What these labels of the project name, with what their mapping needs loaded."""
        wanted = sorted({label for label in labels if label})
        mapped = {
            label: taxon
            for label, taxon in self.session.execute(
                select(LabelMappingRow.label, LabelMappingRow.taxon_id).where(
                    LabelMappingRow.project_id == project_id
                )
            )
        }
        taxa_list = self.list_of(project_id)
        hints = self._hints(project_id, wanted)
        by_name: dict[str, list[tuple[int, Rank]]] = {}
        by_gbif: dict[int, int] = {}
        if taxa_list is not None and wanted:
            names = {str(hints.get(w, {}).get("scientific_name") or w).casefold() for w in wanted}
            for chunk in chunks(sorted(names)):  # type: ignore[arg-type]
                rows = self.session.execute(
                    select(TaxonRow.name_key, TaxonRow.id, TaxonRow.rank).where(
                        TaxonRow.list_id == taxa_list.id, TaxonRow.name_key.in_(chunk)
                    )
                )
                for key, taxon_id, rank in rows:
                    by_name.setdefault(key, []).append((int(taxon_id), Rank(rank)))
            keys = sorted({k for h in hints.values() if (k := _key(h)) is not None})
            for chunk in chunks(keys):
                keyed = self.session.execute(
                    select(TaxonRow.gbif_key, TaxonRow.id).where(
                        TaxonRow.list_id == taxa_list.id, TaxonRow.gbif_key.in_(chunk)
                    )
                )
                by_gbif |= {int(k or 0): int(i) for k, i in keyed}
        return LabelResolver(mapped, by_name, by_gbif, hints, NOT_AN_OBJECT)

    def _hints(self, project_id: int, labels: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Category-map entries of the project's algorithms for these labels."""
        if not labels:
            return {}
        wanted = set(labels)
        hints: dict[str, dict[str, Any]] = {}
        maps = select(AlgorithmRow.category_map_id).where(AlgorithmRow.project_id == project_id)
        rows = self.session.execute(
            select(CategoryMapRow.labels, CategoryMapRow.data)
            .where(CategoryMapRow.id.in_(maps))
            .order_by(CategoryMapRow.id)
        )
        for names, data in rows:
            for name, entry in zip(names or [], data or [], strict=False):
                if name in wanted and isinstance(entry, dict) and name not in hints:
                    hints[name] = entry
        return hints

    def mappings(
        self, project_id: int, pipeline: str | None, limit: int | None = None, offset: int = 0
    ) -> tuple[int, list[LabelMapping]]:
        """The labels of the project's occurrences, most occurrences of ``pipeline`` (the one
        the project counts by) first: how many there are, and those from ``offset`` on (at
        most ``limit``; None: all) with what each stands for and how many carry it. Only
        these are worked out (the counts are one grouped read of the tallies)."""
        counted = CountRepo(self.session).labels(project_id, pipeline)
        named = [(label, n) for label, n in counted if label]
        shown = named[offset:] if limit is None else named[offset : offset + limit]
        resolver = self.resolver(project_id, [label for label, _ in shown])
        return len(named), [
            LabelMapping(m.label, m.kind, m.taxon_id, m.how, n)
            for label, n in shown
            for m in [resolver.mapping(label)]
        ]


def _batches(generations: list[list[TaxonEntry]]) -> Iterator[list[TaxonEntry]]:
    """Each generation in lists of at most ``STORE_BATCH`` entries, in order."""
    for generation in generations:
        for start in range(0, len(generation), STORE_BATCH):
            yield generation[start : start + STORE_BATCH]


def _generations(entries: Sequence[TaxonEntry]) -> list[list[TaxonEntry]]:
    """The entries by generation: those whose parent is already in the list (or who have
    none) first, then their children..."""
    depth: dict[tuple[str, Rank], int] = {}
    in_file: dict[str, list[TaxonEntry]] = {}
    for entry in entries:
        in_file.setdefault(entry.key[0], []).append(entry)
    found: list[list[TaxonEntry]] = []
    for entry in entries:
        level = 0
        parent = entry.parent
        if parent is not None:
            name = parent.name.casefold()
            above = [
                e for e in in_file.get(name, [])
                if e.key in depth and (parent.rank is None or e.rank is parent.rank)
            ]  # fmt: skip
            if above:
                level = depth[above[0].key] + 1
        depth[entry.key] = level
        while len(found) <= level:
            found.append([])
        found[level].append(entry)
    return found


def _parent_id(
    entry: TaxonEntry, ids: dict[tuple[str, Rank], int], by_name: dict[str, list[int]]
) -> int | None:
    """The id of the entry's parent (checked beforehand to be there, and to be the only
    taxon of its name when no rank is given)."""
    if entry.parent is None:
        return None
    name = entry.parent.name.casefold()
    if entry.parent.rank is not None:
        return ids[(name, entry.parent.rank)]
    return by_name[name][0]


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


def _names(list_id: int, taxon_id: int, values: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of the names a taxon is found by: its scientific and vernacular names."""
    names = {values["name_key"]}
    names |= {v.strip().casefold()[:255] for v in values["vernacular"].values() if v.strip()}
    return [{"list_id": list_id, "taxon_id": taxon_id, "name_key": n} for n in sorted(names)]


def _path(lineage: str) -> tuple[int, ...]:
    return tuple(int(i) for i in lineage.strip("/").split("/") if i)


def _key(hint: dict[str, Any]) -> int | None:
    try:
        key = int(hint.get("gbif_key") or hint.get("gbif_id") or 0)
    except (TypeError, ValueError):
        return None
    return key or None


def _to_list(row: TaxaListRow) -> TaxaList:
    return TaxaList(row.id, row.name, row.owner_project_id, int(row.taxon_count), row.created_at)


def to_taxon(row: TaxonRow) -> Taxon:
    return Taxon(
        id=row.id,
        list_id=row.list_id,
        scientific_name=row.scientific_name,
        rank=Rank(row.rank),
        parent_id=row.parent_id,
        lineage=_path(row.lineage),
        gbif_key=row.gbif_key,
        lsid=row.lsid,
        source_id=row.source_id,
        vernacular=dict(row.vernacular or {}),
    )
