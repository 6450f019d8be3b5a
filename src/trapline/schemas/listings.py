"""Bodies of a project's listings of occurrences and events, and of its counts as rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from operator import itemgetter
from typing import Any

from pydantic import BaseModel, Field
from pydantic_core import to_json

from trapline.domain.ecology.events import Event, night_of
from trapline.domain.ecology.listings import (
    COUNT_COLUMNS,
    CountBy,
    CountRow,
    count_columns,
    row_values,
)
from trapline.domain.ecology.occurrences import Occurrence
from trapline.domain.taxa.taxa import Rank, Taxon
from trapline.schemas.events import EventOut
from trapline.schemas.occurrences import OccurrenceOut


class TaxonNameOut(BaseModel):
    """The taxon a determination names."""

    id: int
    scientific_name: str
    rank: str

    @classmethod
    def of(cls, t: Taxon) -> TaxonNameOut:
        return cls(id=t.id, scientific_name=t.scientific_name, rank=t.rank.value)


class ListedOccurrenceOut(OccurrenceOut):
    """An occurrence of a project's listing: where and when, what it is, on whose word."""

    night: date = Field(description="the night it was first seen in, named by its evening")
    taxon: TaxonNameOut | None = Field(
        description="the taxon its determination names; null: its label names none"
    )
    identified_by: str | None = Field(description="the person whose identification names it")
    disputed: bool = Field(description="people's latest identifications name different taxa")

    @classmethod
    def listed(cls, o: Occurrence, taxa: dict[int, Taxon]) -> ListedOccurrenceOut:
        taxon = taxa.get(o.taxon_id) if o.taxon_id is not None else None
        return cls(
            **OccurrenceOut.of(o).model_dump(),
            night=night_of(o.first_seen_at),
            taxon=TaxonNameOut.of(taxon) if taxon else None,
            identified_by=o.identified_by,
            disputed=o.disputed,
        )


class EventTaxonOut(BaseModel):
    """A taxon (or an unmapped label) of an event, with its individuals."""

    name: str | None = Field(
        description="the taxon's scientific name, else the label; null: undetermined"
    )
    taxon_id: int | None
    individuals: int


class ListedEventOut(EventOut):
    """An event of a project's listing, with what it holds as the project counts it."""

    night: date = Field(description="the night it starts in, named by its evening")
    individuals: int = Field(description="its occurrences of the pipeline counted by")
    taxa: list[EventTaxonOut] = Field(description="most individuals first")
    pipeline: str | None = Field(description="the pipeline counted by")

    @classmethod
    def listed(
        cls,
        e: Event,
        individuals: int,
        taxa: list[tuple[str | None, int | None, int]],
        pipeline: str | None,
    ) -> ListedEventOut:
        return cls(
            **EventOut.of(e).model_dump(),
            night=night_of(e.starts_at),
            individuals=individuals,
            taxa=[EventTaxonOut(name=n, taxon_id=t, individuals=k) for n, t, k in taxa],
            pipeline=pipeline,
        )


class CountRowOut(BaseModel):
    """Individuals of a taxon (or of an unmapped label) in one cell of a count table: the
    columns of the dimensions the table is split by, then the taxon's (as the CSV has them)."""

    deployment_id: int | None = Field(None, description="split by deployment")
    deployment: str | None = Field(None, description="the deployment's name; split by deployment")
    event_id: int | None = Field(None, description="split by event")
    night: date | None = Field(None, description="named by its evening's date; split by night")
    hour: int | None = Field(
        None, description="of the camera's clock, 0 to 23, first seen in; split by hour"
    )
    taxon_id: int | None
    scientific_name: str | None
    rank: str | None
    label: str | None = Field(
        description="for occurrences whose label names no taxon of the list: that label"
    )
    individuals: int


class CountTableOut(BaseModel):
    """A project's counts as rows: individuals per taxon and cell, cells with none left out."""

    pipeline: str | None = Field(description="the pipeline counted by")
    by: list[str] = Field(description="the dimensions each row's cell is of")
    rank: str | None = Field(description="the rank taxa are rolled up to")
    rows: list[CountRowOut]


def count_table_json(
    pipeline: str | None,
    by: Sequence[CountBy],
    rank: Rank | None,
    rows: Iterable[CountRow],
    deployments: Mapping[int, str],
) -> bytes:
    """A ``CountTableOut`` as JSON, written from plain data: a table can have hundreds of
    thousands of rows, which models would take seconds to build and check. A row is its
    cell's columns, its taxon's (or label's) and its individuals: each cell and each taxon is
    written once and its text reused for every row of it."""
    columns = count_columns(by)
    cell_columns = [c for c in columns if c in _CELL_COLUMNS]
    what_columns = [c for c in columns if c in _WHAT_COLUMNS]
    cell_values = itemgetter(*(COUNT_COLUMNS.index(c) for c in cell_columns))
    what_values = itemgetter(*(COUNT_COLUMNS.index(c) for c in what_columns))
    cells: dict[tuple[object, ...], str] = {}
    whats: dict[tuple[object, ...], str] = {}
    written = []
    for row in rows:
        cell = (row.deployment_id, row.event_id, row.night, row.hour)
        if (cell_text := cells.get(cell)) is None:
            values = cell_values(row_values(row, deployments))
            cell_text = cells[cell] = _members(cell_columns, values)
        what = (row.taxon.id if row.taxon else None, row.label)
        if (what_text := whats.get(what)) is None:
            values = what_values(row_values(row, deployments))
            what_text = whats[what] = _members(what_columns, values)
        written.append(f'{{{cell_text},{what_text},"individuals":{row.individuals}}}')
    head = to_json(
        {"pipeline": pipeline, "by": [d.value for d in by], "rank": rank.value if rank else None}
    )
    return head[:-1] + b',"rows":[' + ",".join(written).encode() + b"]}"


#: The columns of a count table's cell, and of what is counted in it.
_CELL_COLUMNS = frozenset(COUNT_COLUMNS[:5])
_WHAT_COLUMNS = frozenset(COUNT_COLUMNS[5:9])


def _members(names: Sequence[str], values: Any) -> str:
    """``"name":value`` for each column, comma-separated (an object's text without braces):
    ``values`` as ``itemgetter`` gives them, one value alone for one column."""
    given = (values,) if len(names) == 1 else tuple(values)
    return to_json(dict(zip(names, given, strict=True))).decode()[1:-1]
