"""Rows of a table the API answers: dicts to loop over, and a pandas DataFrame when pandas is
installed (``pip install 'trapline[analysis]'``); the client needs nothing else."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

#: What to install when pandas is missing.
INSTALL_HINT = (
    "to_pandas() needs pandas, an optional extra of trapline: pip install 'trapline[analysis]' "
    "(or pip install pandas)"
)


class Rows:
    """A table's rows, as dicts in the API's order. Each loop over them (and each
    ``to_pandas``) reads them afresh: a listing walks its pages and the record table streams,
    so a large table is never held whole unless you ask for a DataFrame.

    ``meta`` holds what the answer says besides its rows (the pipeline counted by, a
    detection history's ``warnings``...), known once the rows are read.
    """

    def __init__(
        self, read: Callable[[dict[str, Any]], Iterator[dict[str, Any]]], *, columns: list[str]
    ) -> None:
        self._read = read
        #: The columns a DataFrame starts with (others follow as the rows have them).
        self.columns = columns
        self.meta: dict[str, Any] = {}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self._read(self.meta)

    @property
    def warnings(self) -> list[str]:
        """What the answer warned about (read the rows first)."""
        return list(self.meta.get("warnings", []))

    def to_pandas(self) -> Any:
        """The rows as a ``pandas.DataFrame``; nested objects become columns named with
        dots (``taxon.scientific_name``), and a table without rows keeps its columns."""
        try:
            import pandas
        except ImportError:  # an optional extra
            raise ImportError(INSTALL_HINT) from None
        rows = list(self)
        if not rows:
            return pandas.DataFrame(columns=self.columns)
        if any(isinstance(v, dict) for row in rows[:100] for v in row.values()):
            return pandas.json_normalize(rows)
        return pandas.DataFrame.from_records(rows)
