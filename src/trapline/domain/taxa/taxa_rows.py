"""What every taxa file obeys, whatever its format: its limits, and the rules a row's cells
must follow to be imported (``taxa_text`` splits its text into rows).

A file that breaks a limit or cannot be read at all raises ``TaxaFileInvalid``; a row that
breaks a rule raises ``RowProblem``, which its reader turns into the row's ERROR outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from trapline.domain.core.formulas import unmarked
from trapline.domain.core.text import NOT_ONE_LINE
from trapline.domain.taxa.taxa import MAX_LANGUAGE, MAX_NAME, Rank, parse_rank

#: The largest taxa file read (and, for an archive, the most its members may hold together).
MAX_TAXA_BYTES = 32 * 1024 * 1024
#: The most rows a taxa file may have (blank rows aside).
MAX_TAXA_ROWS = 250_000
#: The most columns a taxa file may have (cells in its header or in any row): trapline's
#: CSV has 7 and one per language of vernacular names, a Darwin Core checklist a few dozen.
MAX_COLUMNS = 300
#: The most characters one row may have, its quotes and line ends included.
MAX_ROW_CHARS = 128 * 1024
#: The most vernacular names trapline's CSV may give, all rows and languages together: as
#: many as a Darwin Core Archive may (one a row in its core, and its extension's rows).
MAX_VERNACULAR_NAMES = 2 * MAX_TAXA_ROWS
#: The largest GBIF key kept: the database keeps it as a signed 64-bit integer.
MAX_GBIF_KEY = 2**63 - 1

_MB = 1024 * 1024


class TaxaFileInvalid(ValueError):
    """A taxa file that cannot be read at all; the message says why and what to do."""


class RowProblem(Exception):
    """Why one row of a taxa file cannot be imported; the message names the column."""


def check_size(size: int, what: str = "the file is") -> None:
    """Refuse a file (or what an archive unpacks to) over ``MAX_TAXA_BYTES``."""
    if size > MAX_TAXA_BYTES:
        raise TaxaFileInvalid(
            f"{what} {size / _MB:.1f} MB; a taxa file may be at most "
            f"{MAX_TAXA_BYTES // _MB} MB: split it"
        )


def is_blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def numbered(rows: Iterable[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """The data rows with their numbers (1 is the first row after the header). Blank rows
    are skipped but keep their number, so a number is the row's place in a spreadsheet, less
    the header. More than ``MAX_TAXA_ROWS`` rows raise ``TaxaFileInvalid``."""
    count = 0
    for number, cells in enumerate(rows, start=1):
        if is_blank(cells):
            continue
        count += 1
        if count > MAX_TAXA_ROWS:
            raise TaxaFileInvalid(
                f"the file has more than {MAX_TAXA_ROWS:,} rows; a taxa file may have at most "
                f"{MAX_TAXA_ROWS:,}: split it"
            )
        yield number, cells


def is_formula(value: str) -> bool:
    """Whether a cell is refused as a formula on import (negative numbers aside: a
    vernacular name such as "-5 degrees" is read; written out, it is escaped like any text)."""
    if not value:
        return False
    if value[0] in "=+@\t\r":
        return True
    return value[0] == "-" and len(value) > 1 and value[1] not in "0123456789"


def cell(value: str, column: str) -> str:
    """A cell stripped, refused when it holds a formula or a tab or line break. A quote before
    a formula character, as trapline's export writes one, is taken away again."""
    if not value:  # most cells of a large file: nothing to check
        return value
    value = unmarked(value.strip())
    if is_formula(value):
        raise RowProblem(f"formula cell in column {column}: not imported")
    if "\t" in value or "\r" in value or "\n" in value:
        raise RowProblem(f"tab or line break in column {column}: not imported")
    if NOT_ONE_LINE.search(value):
        raise RowProblem(f"control or invisible characters in column {column}: not imported")
    return value


def optional_text(value: str, column: str, limit: int = MAX_NAME) -> str | None:
    """A cell's text, None when it is empty."""
    if not value:
        return None
    value = cell(value, column)
    if len(value) > limit:
        raise RowProblem(f"{column} is {len(value)} characters long; it may have at most {limit}")
    return value or None


def scientific_name(value: str, column: str) -> str:
    name = optional_text(value, column)
    if name is None:
        raise RowProblem(f"{column} is empty: every row needs a scientific name")
    return name


def rank(value: str, column: str) -> Rank:
    text = cell(value, column)
    found = parse_rank(text)
    if found is None:
        known = ", ".join(rank.value for rank in Rank)
        what = f"unknown rank {text!r}" if text else "no rank"
        raise RowProblem(f"{what} in column {column}: use one of {known}")
    return found


def gbif_key(value: str, column: str) -> int | None:
    """A GBIF key: a whole number from 1 up, None when the cell is empty."""
    text = cell(value, column)
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_GBIF_KEY):
        raise RowProblem(f'{column} must be a whole number from 1 up (got "{text}")')
    return int(text)


def language(value: str, column: str) -> str:
    """A vernacular name's language tag ("" when none is given)."""
    return optional_text(value, column, MAX_LANGUAGE) or ""


def shown_name(value: str) -> str:
    """A row's scientific name as an outcome shows it, even when it is not valid."""
    return value.strip()[:MAX_NAME]
