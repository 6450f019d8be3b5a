"""The formula rule of the CSV-like exports (``exports/cells.py``): a row is escaped exactly
when one of its text cells needs it, whatever its number cells hold."""

from __future__ import annotations

import random

import pytest

from trapline.exports.cells import Cells, cell

COLUMNS = ("name", "latitude", "longitude", "remarks")
NUMBERS = ("latitude", "longitude")


def _expected(cells: Cells, row: list[str]) -> list[str] | None:
    """What the rule asks for: every text cell through ``cell`` (None: nothing changes)."""
    escaped = [value if name in NUMBERS else cell(value) for name, value in zip(
        cells.columns, row, strict=True
    )]  # fmt: skip
    return None if escaped == row else escaped


@pytest.mark.parametrize("separator", [",", "\t"])
def test_a_negative_number_leaves_the_row_as_it_is(separator: str) -> None:
    cells = Cells(COLUMNS, numbers=NUMBERS, separator=separator)
    row = ["Pond", "-6.8", "-73.5", "seen twice"]
    assert cells.safe(row, separator.join(row)) is None


@pytest.mark.parametrize("separator", [",", "\t"])
def test_a_text_cell_after_a_negative_number_is_still_escaped(separator: str) -> None:
    cells = Cells(COLUMNS, numbers=NUMBERS, separator=separator)
    row = ["Pond", "-6.8", "-73.5", "-2+3+cmd|' /C calc'!A0"]
    assert cells.safe(row, separator.join(row)) == [
        "Pond", "-6.8", "-73.5", "'-2+3+cmd|' /C calc'!A0"
    ]  # fmt: skip


def test_a_value_holding_the_separator_is_looked_at_cell_by_cell() -> None:
    cells = Cells(COLUMNS, numbers=NUMBERS)
    # Joined, the name's comma puts "-6.8" in the place of the first number.
    row = ["Pond, north", "=1+1", "-73.5", "-minus"]
    assert cells.safe(row, ",".join(row)) == ["Pond, north", "=1+1", "-73.5", "'-minus"]
    row = ["Pond,-north", "1", "2", "x"]
    assert cells.safe(row, ",".join(row)) == row  # escaped path, nothing to escape


@pytest.mark.parametrize("separator", [",", "\t"])
def test_any_row_is_escaped_as_the_rule_says(separator: str) -> None:
    pieces = ["", "a", "-1", "=x", "+", "@me", "b-c", ",d", "-", "1.5", "\r", "\t"]
    if separator == "\t":  # the tab-separated tables hold no tab or line break in a value
        pieces = pieces[:-2]
    cells = Cells(COLUMNS, numbers=NUMBERS, separator=separator)
    pick = random.Random(63)
    for _ in range(3000):
        row = ["".join(pick.choices(pieces, k=pick.randint(0, 2))) for _ in COLUMNS]
        found = cells.safe(row, separator.join(row))
        expected = _expected(cells, row)
        assert (found if found != row else None) == expected, row
