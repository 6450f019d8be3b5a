"""Count tables' rules without a database: which dimensions a ``by`` names, how tallies fold
into rows (taxa rolled up, the labels of one taxon together, unmapped labels last), and which
columns a table has."""

from __future__ import annotations

from datetime import date

import pytest

from trapline.domain.ecology.listings import (
    CountBy,
    CountRow,
    count_columns,
    count_dimensions,
    count_rows,
    night_bounds,
)
from trapline.domain.taxa.taxa import Rank, Taxon


def _taxon(taxon_id: int, name: str, rank: Rank, *lineage: int) -> Taxon:
    return Taxon(taxon_id, 1, name, rank, lineage[-1] if lineage else None, tuple(lineage))


GENUS = _taxon(1, "Ardea", Rank.GENUS)
GREY = _taxon(2, "Ardea cinerea", Rank.SPECIES, 1)
JOUYI = _taxon(3, "Ardea cinerea jouyi", Rank.SUBSPECIES, 1, 2)
WHITE = _taxon(4, "Ardea alba", Rank.SPECIES, 1)
TAXA = {t.id: t for t in (GENUS, GREY, JOUYI, WHITE)}
N1, N2 = date(2024, 3, 1), date(2024, 3, 2)


def _named(rows: list[CountRow]) -> list[tuple[object, ...]]:
    return [
        (r.night, r.taxon.scientific_name if r.taxon else f"label: {r.label}", r.individuals)
        for r in rows
    ]


def test_dimensions_come_in_table_order_each_once() -> None:
    assert count_dimensions("night,deployment") == (CountBy.DEPLOYMENT, CountBy.NIGHT)
    assert count_dimensions(" hour , event") == (CountBy.EVENT, CountBy.HOUR)
    with pytest.raises(ValueError, match="'week' is not one of deployment, event, night, hour"):
        count_dimensions("night,week")
    with pytest.raises(ValueError, match="'night' is named twice"):
        count_dimensions("night,night")


def test_rows_rolled_up_and_ordered_within_each_cell() -> None:
    tallied = [
        # One taxon under two labels (a person's word and the model's), and a subspecies.
        (None, None, N1, None, GREY.id, "Ardea cinerea", 2),
        (None, None, N1, None, GREY.id, "grey heron", 1),
        (None, None, N1, None, JOUYI.id, "Ardea cinerea jouyi", 1),
        (None, None, N1, None, WHITE.id, "Ardea alba", 4),
        (None, None, N1, None, None, "animal", 5),
        (None, None, N1, None, None, None, 1),
        # A taxon no longer in the list counts under its label.
        (None, None, N2, None, 99, "gone", 1),
        (None, None, N2, None, GENUS.id, "Ardea", 1),
        (None, None, N2, None, GREY.id, "Ardea cinerea", 1),
    ]
    assert _named(count_rows(tallied, TAXA, Rank.SPECIES)) == [
        (N1, "Ardea alba", 4),
        (N1, "Ardea cinerea", 4),
        (N1, "label: animal", 5),
        (N1, "label: None", 1),
        (N2, "Ardea", 1),
        (N2, "Ardea cinerea", 1),
        (N2, "label: gone", 1),
    ]
    # Not rolled up, the subspecies has a row of its own.
    assert _named(count_rows(tallied, TAXA, None))[:5] == [
        (N1, "Ardea alba", 4),
        (N1, "Ardea cinerea", 3),
        (N1, "Ardea cinerea jouyi", 1),
        (N1, "label: animal", 5),
        (N1, "label: None", 1),
    ]
    assert _named(count_rows(tallied, TAXA, Rank.GENUS))[:1] == [(N1, "Ardea", 8)]


def test_columns_of_a_table() -> None:
    assert count_columns([CountBy.NIGHT]) == (
        "night", "taxon_id", "scientific_name", "rank", "label", "individuals",
    )  # fmt: skip
    assert count_columns([CountBy.DEPLOYMENT, CountBy.HOUR])[:3] == (
        "deployment_id", "deployment", "hour",
    )  # fmt: skip


def test_nights_run_from_noon_to_noon() -> None:
    start, end = night_bounds(N1, N2)
    assert str(start) == "2024-03-01 12:00:00"
    assert str(end) == "2024-03-03 12:00:00"
    assert night_bounds(None, None) == (None, None)


@pytest.mark.parametrize(
    "by",
    [(CountBy.NIGHT,), (CountBy.DEPLOYMENT, CountBy.NIGHT), (CountBy.EVENT,), (CountBy.HOUR,),
     (CountBy.DEPLOYMENT, CountBy.EVENT, CountBy.NIGHT, CountBy.HOUR)],
)  # fmt: skip
def test_a_table_written_cell_by_cell_is_the_tables_model_as_json(by: tuple[CountBy, ...]) -> None:
    """The count table's JSON, written from each cell's and taxon's text reused row after
    row, is what its model gives: the same keys in the same order and the same values,
    names with quotes and other scripts escaped."""
    import json

    from trapline.domain.ecology.listings import row_values
    from trapline.schemas.listings import CountTableOut, count_table_json

    odd = _taxon(5, 'Ardea "grey" \u00e9gr\u00e9tte \u2603', Rank.SPECIES, 1)
    rows = [
        CountRow(1, 10, date(2024, 3, 1), 21, GREY, None, 3),
        CountRow(1, 10, date(2024, 3, 1), 21, odd, None, 2),
        CountRow(1, 10, date(2024, 3, 1), 21, None, 'an "animal"\n', 1),
        CountRow(2, 11, date(2024, 3, 2), 4, GREY, None, 5),
        CountRow(2, 11, date(2024, 3, 2), 4, None, None, 1),
    ]
    deployments = {1: 'North "pond"', 2: "S\u00fcd"}
    columns = count_columns(by)
    every = (
        "deployment_id", "deployment", "event_id", "night", "hour",
        "taxon_id", "scientific_name", "rank", "label", "individuals",
    )  # fmt: skip
    expected = CountTableOut(
        pipeline="ami",
        by=[d.value for d in by],
        rank=None,
        rows=[dict(zip(every, row_values(r, deployments), strict=True)) for r in rows],  # type: ignore[arg-type]
    ).model_dump(mode="json")
    expected["rows"] = [{c: r[c] for c in columns} for r in expected["rows"]]
    written = json.loads(count_table_json("ami", by, None, rows, deployments))
    assert written == expected
    assert [list(r) for r in written["rows"]] == [list(columns)] * len(rows)
