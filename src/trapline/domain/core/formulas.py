"""The one rule that keeps a spreadsheet from running a cell of a table trapline writes.

Spreadsheets (Excel, LibreOffice, Google Sheets) run a cell that starts with ``=``, ``+``,
``-`` or ``@`` as a formula (``=HYPERLINK(…)``, ``-2+3+cmd|…``), and a leading tab or carriage
return can hide one. Every text cell of every CSV-like file trapline writes (the exports of
``trapline.exports`` and the taxa list, ``taxa_files.write_taxa_csv``) goes through ``as_text``;
only columns written from numbers are exempt (a negative number starts with ``-`` and must stay
a number).
"""

from __future__ import annotations

#: First characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: What ``as_text`` puts before such a cell: spreadsheets show the rest as text.
TEXT_MARK = "'"


def as_text(text: str | None) -> str:
    """Text a spreadsheet shows as text: a leading formula character gets a quote before it."""
    if not text:
        return ""
    return TEXT_MARK + text if text.startswith(FORMULA_STARTS) else text


def unmarked(text: str) -> str:
    """A cell as ``as_text`` had it before: the quote before a formula character removed."""
    if text.startswith(TEXT_MARK) and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text
