"""docs/exports.md's table of the exports request body names every key the API takes, and no
other: it is checked against the body's schema (``ExportIn``)."""

from __future__ import annotations

import re
from pathlib import Path

from trapline.domain.exports.exports import ExportFormat
from trapline.schemas.exports import ExportIn

DOC = Path(__file__).parents[2] / "docs" / "exports.md"


def _table() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("### The request body") :]
    return section[: section.index("\n\n", section.index("| key |"))]


def test_the_request_body_table_is_the_schemas() -> None:
    rows = [line for line in _table().splitlines() if line.startswith("| `")]
    keys = [key for row in rows for key in re.findall(r"`([a-z_0-9]+)`", row.split("|")[1])]
    assert sorted(keys) == sorted(ExportIn.model_fields)
    assert len(keys) == len(set(keys))


def test_it_says_how_many_formats_there_are() -> None:
    assert "one of the ten formats above" in _table()
    assert len(ExportFormat) == 10
