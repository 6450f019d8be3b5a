"""The one escaping rule of every CSV-like export: a text cell a spreadsheet would run as a
formula gets a ``'`` before it.

Spreadsheets (Excel, LibreOffice, Google Sheets) run a cell that starts with ``=``, ``+``,
``-`` or ``@`` as a formula (``=HYPERLINK(…)``, ``-2+3+cmd|…``), and a leading tab or carriage
return can hide one. Names people give (deployments, files, labels, their own) reach every
table, so every table of every CSV-like format (CSV, Camtrap DP, the Darwin Core Archive,
Antenna's occurrences) is written through ``Cells``: each table names the columns that hold
numbers, written as they are (a negative number starts with ``-`` and must stay a number), and
every other cell is text and follows the rule (``domain/core/formulas.py``, which the taxa list's
CSV follows too). docs/security.md lists the number columns.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from trapline.domain.core.formulas import FORMULA_STARTS, as_text

__all__ = ["FORMULA_STARTS", "Cells", "cell"]

#: Text a spreadsheet shows as text (the one rule, ``domain/core/formulas.py``).
cell = as_text


class Cells:
    """A table's columns: which hold numbers (written as they are) and which hold text
    (escaped by ``cell``)."""

    def __init__(
        self, columns: Sequence[str], *, numbers: Collection[str] = (), separator: str = ","
    ) -> None:
        unknown = set(numbers) - set(columns)
        if unknown:
            raise ValueError(f"number columns that are not columns: {sorted(unknown)}")
        self.columns = tuple(columns)
        #: Where the text columns are.
        self._text = tuple(i for i, name in enumerate(columns) if name not in numbers)
        #: Whether each column holds text.
        self._is_text = tuple(name not in numbers for name in columns)
        #: A cell that starts with a formula character, seen in the joined row after a
        #: separator (a quoted cell with ``,=`` inside only costs a closer look); the first
        #: cell is looked at on its own. The separator itself is left out: a cell never starts
        #: with it (the tab-separated tables change tabs in values to spaces), and two in a
        #: row are an empty cell.
        starts = "".join(c for c in FORMULA_STARTS if c != separator)
        self._risky = re.compile(re.escape(separator) + "[" + re.escape(starts) + "]")
        self._starts = tuple(starts)

    def safe(self, row: Sequence[str], line: str) -> list[str] | None:
        """The row with its text cells escaped; None when no cell needs it, as ``line`` (the
        row joined with the separator) shows at once for nearly every row."""
        if not line.startswith(self._starts) and not self._text_risky(row, line):
            return None
        if len(row) != len(self.columns):
            raise ValueError(f"a row of {len(row)} cells in a table of {len(self.columns)}")
        out = list(row)
        for i in self._text:
            out[i] = cell(out[i])
        return out

    def _text_risky(self, row: Sequence[str], line: str) -> bool:
        """Whether a cell after the first may start with a formula character. A match in a
        number column is no risk (a negative longitude is in every row of a project in the
        west): where no value holds the separator, the separators before a match say its
        column."""
        found = self._risky.search(line)
        if found is None:
            return False
        separator = line[found.start()]
        if line.count(separator) != len(row) - 1 or len(row) != len(self.columns):
            return True  # a value holds the separator: look at every cell
        while found is not None:
            if self._is_text[line.count(separator, 0, found.start()) + 1]:
                return True
            found = self._risky.search(line, found.start() + 1)
        return False
