"""Taxa lists, their taxa and the names the type-ahead searches, projects' lists, and the
mapping of labels onto taxa."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from trapline.db.tables import (
    AlgorithmRow,
    CategoryMapRow,
    LabelMappingRow,
    ProjectTaxaListRow,
    TaxaListRow,
    TaxonNameRow,
    TaxonRow,
)
from trapline.db.types import BIGINT_MAX, chunks
from trapline.domain.taxa.taxa import (
    NOT_AN_OBJECT,
    LabelKind,
    LabelResolver,
    Rank,
    TaxaList,
    Taxon,
)


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

    def resolver(
        self,
        project_id: int,
        labels: Iterable[str | None],
        hints: Mapping[str, dict[str, Any]] | None = None,
    ) -> LabelResolver:
        """What these labels of the project name, with what their mapping needs loaded
        (``hints``: the project's ``category_hints``, where the caller holds them already)."""
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
        if hints is None:
            hints = self.category_hints(project_id, wanted)
        else:
            hints = {w: hints[w] for w in wanted if w in hints}
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

    def category_hints(
        self, project_id: int, labels: Sequence[str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Category-map entries of the project's algorithms for these labels (None: all of
        them), the first map's where several have one."""
        if labels is not None and not labels:
            return {}
        wanted = set(labels) if labels is not None else None
        hints: dict[str, dict[str, Any]] = {}
        maps = select(AlgorithmRow.category_map_id).where(AlgorithmRow.project_id == project_id)
        rows = self.session.execute(
            select(CategoryMapRow.labels, CategoryMapRow.data)
            .where(CategoryMapRow.id.in_(maps))
            .order_by(CategoryMapRow.id)
        )
        for names, data in rows:
            for name, entry in zip(names or [], data or [], strict=False):
                named = wanted is None or name in wanted
                if named and isinstance(entry, dict) and name not in hints:
                    hints[name] = entry
        return hints


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
