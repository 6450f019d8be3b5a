"""The text of a taxa file: its character set, and its rows split into cells as they are read.

Text is decoded and split a line at a time, and no row is built before it is known to be
within ``MAX_ROW_CHARS``; a row of more than ``MAX_COLUMNS`` cells is refused as soon as it
is. So a file of any shape within ``MAX_TAXA_BYTES`` holds one row's cells at a time while it
is split, whatever its header or its rows hold.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from trapline.domain.taxa.taxa_rows import MAX_COLUMNS, MAX_ROW_CHARS, TaxaFileInvalid

#: Codecs Python counts as text encodings that are no character set a file is saved in.
_NOT_CHARACTER_SETS = frozenset(
    {"idna", "punycode", "raw-unicode-escape", "unicode-escape", "undefined"}
)


def character_set(encoding: str) -> str | None:
    """The codec that decodes text saved in ``encoding`` (a UTF-8 byte order mark allowed);
    None when ``encoding`` names no character set: unknown, or a codec of bytes (base64,
    zlib) or of escapes (rot13, punycode)."""
    try:
        info = codecs.lookup(encoding)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARACTER_SETS:
        return None
    return "utf-8-sig" if info.name == "utf-8" else info.name


def shown(value: str, limit: int = 40) -> str:
    """A value as a message quotes it, cut short when it is long."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def decode_text(data: bytes, what: str = "the file") -> str:
    """The UTF-8 text of a small file (meta.xml; a byte order mark is allowed)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _not_text(what, "UTF-8", exc.start) from None


def _not_text(what: str, encoding: str, byte: int) -> TaxaFileInvalid:
    return TaxaFileInvalid(
        f"{what} is not {encoding} text (byte {byte} cannot be read): save it as UTF-8 (in a "
        "spreadsheet, CSV UTF-8)"
    )


class TaxaText:
    """A taxa file's text, decoded as it is read: its first line, then its rows."""

    def __init__(self, data: bytes, what: str = "the file", encoding: str = "utf-8") -> None:
        codec = character_set(encoding)
        if codec is None:
            raise TaxaFileInvalid(
                f"{what} is said to be in {shown(encoding)}, which is no character set: give "
                "one such as UTF-8 or ISO-8859-1"
            )
        self.what, self.encoding = what, encoding
        # BytesIO shares the bytes (no copy); the wrapper decodes ~8 kB at a time.
        self._stream = io.TextIOWrapper(io.BytesIO(data), encoding=codec, newline="")

    def first_line(self) -> str:
        """The first line (at most ``MAX_ROW_CHARS`` characters of it), to tell the delimiter;
        the rows start again from the top."""
        with self._decoding():
            line = self._stream.readline(MAX_ROW_CHARS)
            self._stream.seek(0)
        return line

    def rows(self, delimiter: str, quotechar: str | None = '"') -> Iterator[list[str]]:
        """The rows, split into cells.

        Raises:
            TaxaFileInvalid: a row is longer than ``MAX_ROW_CHARS`` (before it is built) or
                has more than ``MAX_COLUMNS`` cells, or the text cannot be decoded or split.
        """
        check_dialect(delimiter, quotechar)
        lines = _Lines(self._stream, delimiter, self.what)
        if quotechar:
            reader = csv.reader(lines, delimiter=delimiter, quotechar=quotechar)
        else:
            reader = csv.reader(lines, delimiter=delimiter, quoting=csv.QUOTE_NONE)
        with self._decoding():
            try:
                for row in reader:
                    lines.row_chars = 0
                    if len(row) > MAX_COLUMNS:
                        raise TaxaFileInvalid(_too_many(reader.line_num, self.what, len(row)))
                    yield row
            except csv.Error as exc:
                raise TaxaFileInvalid(
                    f"line {reader.line_num} of {self.what} cannot be read: {exc}"
                ) from None

    @contextmanager
    def _decoding(self) -> Iterator[None]:
        """A decoding error as TaxaFileInvalid naming the byte it is at."""
        try:
            yield
        except UnicodeError as exc:
            # The bytes the decoder was given end where the wrapper has read to.
            given, start = getattr(exc, "object", b""), getattr(exc, "start", 0)
            byte = self._stream.buffer.tell() - len(given) + start
            raise _not_text(self.what, self.encoding, max(byte, 0)) from None


def check_dialect(
    delimiter: str,
    quotechar: str | None,
    names: tuple[str, str] = ("the delimiter", "the quote character"),
    where: str = "",
) -> None:
    """Refuse a delimiter and quote character that cannot split rows, naming them by
    ``names`` after ``where``: a line break, or one character for both. Python 3.13's csv
    refuses them with a ValueError when the reader is built, earlier ones split rows wrongly.

    Raises:
        TaxaFileInvalid: naming which of the two is wrong.
    """
    for name, char in zip(names, (delimiter, quotechar or ""), strict=True):
        if char in ("\r", "\n"):
            raise TaxaFileInvalid(
                f"{where}{name} is a line break ({shown(char)}): rows end at line breaks, so give "
                "another character"
            )
    if delimiter == quotechar:
        raise TaxaFileInvalid(
            f"{where}{names[0]} and {names[1]} are both {shown(delimiter)}: the character between "
            "cells and the one around them must differ"
        )


def _too_many(line: int, what: str, columns: int) -> str:
    return (
        f"line {line} of {what} has {columns:,} columns; a taxa file may have at most "
        f"{MAX_COLUMNS}: leave out the columns trapline does not read"
    )


class _Lines:
    """A text's lines for ``csv.reader``, each read up to what its row may still hold, so a
    row longer than ``MAX_ROW_CHARS`` is refused before the reader builds it."""

    def __init__(self, stream: TextIO, delimiter: str, what: str) -> None:
        self.stream, self.delimiter, self.what = stream, delimiter, what
        self.line = 0
        #: Characters of the row being read so far (``TaxaText.rows`` starts it again).
        self.row_chars = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = self.stream.readline(MAX_ROW_CHARS + 1 - self.row_chars)
        if not line:
            raise StopIteration
        self.line += 1
        self.row_chars += len(line)
        if self.row_chars > MAX_ROW_CHARS:
            raise TaxaFileInvalid(self._too_long(line))
        return line

    def _too_long(self, line: str) -> str:
        """Why the row is refused: its columns, or else its length, counted over the rest of
        its line a piece at a time."""
        delimiters, chars = line.count(self.delimiter), self.row_chars
        piece = line
        while piece and not piece.endswith(("\n", "\r")):
            piece = self.stream.readline(MAX_ROW_CHARS)
            delimiters, chars = delimiters + piece.count(self.delimiter), chars + len(piece)
        if delimiters + 1 > MAX_COLUMNS:
            return _too_many(self.line, self.what, delimiters + 1)
        return (
            f"line {self.line} of {self.what} ends a row of {chars:,} characters; a row of a "
            f"taxa file may have at most {MAX_ROW_CHARS:,}"
        )


def sniff_delimiter(first_line: str, filename: str) -> str:
    """The delimiter a header line uses: the most frequent of tab, semicolon and comma; a
    header of one column is taken as tab-separated when the file is named .tsv or .txt."""
    counts = {delimiter: first_line.count(delimiter) for delimiter in ("\t", ";", ",")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    if counts[best]:
        return best
    return "\t" if filename.lower().endswith((".tsv", ".txt")) else ","
