"""The text writers make by hand is the text the standard library would make: CSV rows as
``csv.writer`` writes them, numbers as ``repr(round(x, 6))``, times as ``isoformat`` of the
zone-aware time; and every text cell of a CSV is escaped by the one formula rule, no
number cell is."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trapline.domain.exports.facts import ImageFacts
from trapline.exports.base import CsvFile, capture_iso, capture_time, iso, json_bytes
from trapline.exports.cells import FORMULA_STARTS, cell
from trapline.exports.csv import number

#: Characters csv.writer treats specially, some it does not, and formula starts.
_TRICKY = st.text(alphabet=st.sampled_from(list("a é,\"\r\n\t'=+-@;\x0b\x1f\u2028\x85😀")))
#: The tables' width in these tests.
_WIDTH = 4
_COLUMNS = [f"c{i}" for i in range(_WIDTH)]
_ROWS = st.lists(st.lists(_TRICKY, min_size=_WIDTH, max_size=_WIDTH), max_size=20)


def _written(rows: list[list[str]], every: int, **options: Any) -> str:
    got = io.BytesIO()
    table = CsvFile(got, _COLUMNS, **options)
    for n, row in enumerate(rows):
        table.add(row)
        if n % every == 0:
            table.flush()
    table.flush()
    return got.getvalue().decode("utf-8")


@given(_ROWS, st.integers(1, 5))
def test_csv_rows_read_as_csv_writer_writes_them(rows: list[list[str]], every: int) -> None:
    """With every column one of numbers (nothing escaped), the text is csv.writer's."""
    want = io.StringIO()
    csv.writer(want).writerows([_COLUMNS, *rows])
    assert _written(rows, every, numbers=_COLUMNS) == want.getvalue()


@given(_ROWS, st.integers(1, 5), st.sets(st.sampled_from(_COLUMNS)))
def test_every_text_cell_is_escaped_and_no_number(
    rows: list[list[str]], every: int, numbers: set[str]
) -> None:
    text = _written(rows, every, numbers=numbers)
    header, *back = csv.reader(io.StringIO(text, newline=""))
    assert header == _COLUMNS
    want = [
        [v if c in numbers else cell(v) for c, v in zip(_COLUMNS, r, strict=True)] for r in rows
    ]
    assert back == want
    for row in back:
        for column, value in zip(_COLUMNS, row, strict=True):
            assert column in numbers or not value.startswith(FORMULA_STARTS), (column, value)


def test_the_escape_is_a_quote_before_a_formula_character() -> None:
    assert [cell(v) for v in ("=1+1", "+1", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\t=x")] == [
        "'=1+1", "'+1", "'-2+3+cmd|' /C calc'!A0", "'@SUM(A1)", "'\t=x",
    ]  # fmt: skip
    assert [cell(v) for v in ("", None, "a=b", "'=x", " =x")] == ["", "", "a=b", "'=x", " =x"]


def test_number_columns_must_be_columns() -> None:
    with pytest.raises(ValueError, match="not columns"):
        CsvFile(io.BytesIO(), ["a"], numbers=["b"])


def test_csv_file_can_start_with_a_byte_order_mark() -> None:
    got = io.BytesIO()
    table = CsvFile(got, ["a", "b"], bom=True)
    table.add(["1", "-2"])
    table.flush()
    assert got.getvalue() == b"\xef\xbb\xbfa,b\r\n1,'-2\r\n"


_EDGES = [
    0.0, -0.0, 1e-4, 9.99999e-5, 9.999995e-5, 0.0001000005, 5e-7, -5e-7, 4.9999999e-7, 0.1,
    100.0, 1e9, 999999999.9999995, 123456789.123456789, 1e16, -2.5e-5, 0.8, 1 / 3,
]  # fmt: skip


@given(st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(_EDGES))
def test_numbers_are_written_as_repr_of_the_rounded_value(value: float) -> None:
    assert number(value) == repr(round(value, 6))


def test_no_number_is_empty() -> None:
    assert number(None) == ""


@given(
    st.datetimes(timezones=st.none() | st.just(UTC) | st.builds(
        timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
    ))
)  # fmt: skip
def test_times_are_iso_8601_to_the_second_with_z_for_utc(moment: datetime) -> None:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    want = aware.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    assert iso(moment) == want


@given(st.datetimes(), st.none() | st.integers(-12 * 60, 14 * 60))
def test_capture_times_are_written_with_their_offset(moment: datetime, offset: int | None) -> None:
    image = ImageFacts(1, None, "a.jpg", "0" * 64, 10, 10, "image/jpeg", moment, offset)
    assert capture_iso(image) == iso(capture_time(image))


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(_JSON_VALUES)
def test_json_reads_back_as_the_value_written(value: object) -> None:
    assert json.loads(json_bytes(value)) == value


@given(st.lists(st.floats(min_value=1e-4, max_value=1e15) | st.text() | st.integers(), max_size=8))
def test_json_is_the_json_modules_but_for_very_small_and_large_numbers(value: object) -> None:
    want = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    assert json_bytes(value).decode() == want
