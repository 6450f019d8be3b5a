"""Taxa files for ``body_memory.py``: each as large as the byte cap (or the row cap) allows, in
the shapes that cost the most memory per byte: a header of millions of columns, rows of as many
cells as a file may have, vernacular names in every column, and the most rows a file may have,
as trapline's CSV, a Darwin Core checklist and a Darwin Core Archive with vernacular names."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator

from trapline.domain.taxa.taxa_rows import MAX_TAXA_BYTES, MAX_TAXA_ROWS

#: The most columns a file may have (``taxa_rows.MAX_COLUMNS``), written out so that the same
#: files can be posted to a server from before the cap, to compare.
MAX_COLUMNS = 300
#: The first columns of trapline's CSV, before its vernacular names.
TRAPLINE = b"scientific_name,rank,parent,parent_rank,gbif_key,lsid,taxon_id"
#: Rows kept under the caps, for the footers and the archive's meta.xml.
_ROOM = 64 * 1024


def _filled(head: bytes, row: Callable[[int], bytes], rows: int = MAX_TAXA_ROWS) -> bytes:
    """``head`` and then ``row(n)`` for n = 0, 1, ... while the file stays within its caps."""
    out = io.BytesIO()
    out.write(head)
    for n in range(rows):
        line = row(n)
        if out.tell() + len(line) > MAX_TAXA_BYTES - _ROOM:
            break
        out.write(line)
    return out.getvalue()


def header_of_columns() -> bytes:
    """trapline's CSV whose header has one column for every two bytes (the review's file)."""
    count = (MAX_TAXA_BYTES - len(TRAPLINE) - 1) // 2
    return TRAPLINE + b",a" * count + b"\n"


def header_of_names() -> bytes:
    """A checklist whose header names millions of distinct terms."""
    return _filled(b"scientificName,taxonRank", lambda n: b",t%x" % n, MAX_TAXA_BYTES)


def rows_of_cells() -> bytes:
    """A checklist of as many columns as a file may have, every cell distinct (none read)."""
    others = MAX_COLUMNS - 2
    head = b"scientificName,taxonRank," + b",".join(b"t%d" % i for i in range(others)) + b"\n"
    return _filled(
        head,
        lambda n: (
            b"G%x,genus," % n + b",".join(b"%x" % (n * others + i) for i in range(others)) + b"\n"
        ),
    )


def names_in_every_column() -> bytes:
    """trapline's CSV with a vernacular name in every column a file may have, all kept."""
    languages = MAX_COLUMNS - 7
    head = TRAPLINE + b"," + b",".join(b"vernacular_name:l%d" % i for i in range(languages))
    return _filled(
        head + b"\n",
        lambda n: (
            b"G%x,genus,,,,,," % n
            + b",".join(b"%x" % (n * languages + i) for i in range(languages))
            + b"\n"
        ),
    )


def trapline_rows() -> bytes:
    """trapline's CSV of the most rows a file may have, each with two vernacular names."""
    return _filled(
        b"scientific_name,rank,parent,vernacular_name,vernacular_name:en\n",
        lambda n: b"Genus%07d,genus,,Gattung %d,Genus %d\n" % (n, n, n),
    )


def checklist_rows() -> bytes:
    """A checklist of the most rows a file may have: genera under a thousand families."""
    return _filled(
        b"taxonID,parentNameUsageID,scientificName,taxonRank,vernacularName\n",
        lambda n: (
            b"%d,,Family%04d,family,Familie %d\n" % (n, n, n)
            if n < 1000
            else b"%d,%d,Genus%07d,genus,Gattung %d\n" % (n, n % 1000, n, n)
        ),
    )


def one_parent_cycle() -> bytes:
    """A checklist of the most rows a file may have, each genus under the next and the last
    under the first: one cycle through every row (refused, listing it)."""
    made = _filled(
        b"taxonID,parentNameUsageID,scientificName,taxonRank\n",
        lambda n: b"%d,%d,Genus%07d,genus\n" % (n, n + 1, n),
    )
    head, _, last = made.rstrip(b"\n").rpartition(b"\n")
    taxon, _, rest = last.split(b",", 2)
    return head + b"\n" + b"%s,0,%s\n" % (taxon, rest)  # the last row's parent: the first


def self_parents() -> bytes:
    """A checklist of the most rows a file may have, each genus its own parent (refused)."""
    return _filled(
        b"taxonID,parentNameUsageID,scientificName,taxonRank\n",
        lambda n: b"%d,%d,Genus%07d,genus\n" % (n, n, n),
    )


def rows_of_errors() -> bytes:
    """trapline's CSV of the most rows a file may have, each refused (an unknown rank), so the
    400 lists every row's outcome."""
    return _filled(b"scientific_name,rank\n", lambda n: b"Genus%07d,kind\n" % n)


_META = b"""<archive xmlns="http://rs.tdwg.org/dwc/text/">
<core rowType="http://rs.tdwg.org/dwc/terms/Taxon" fieldsTerminatedBy="\\t" ignoreHeaderLines="1">
<files><location>taxa.txt</location></files><id index="0"/>
<field index="1" term="http://rs.tdwg.org/dwc/terms/scientificName"/>
<field index="2" term="http://rs.tdwg.org/dwc/terms/taxonRank"/></core>
<extension rowType="http://rs.gbif.org/terms/1.0/VernacularName" fieldsTerminatedBy="\\t"
 ignoreHeaderLines="1"><files><location>names.txt</location></files><coreid index="0"/>
<field index="1" term="http://rs.tdwg.org/dwc/terms/vernacularName"/>
<field index="2" term="http://purl.org/dc/terms/language"/></extension></archive>"""


def archive_of_names() -> bytes:
    """A Darwin Core Archive: the most taxa and the most vernacular names a file may have."""
    taxa = _filled(b"id\tname\trank\n", lambda n: b"%d\tGenus%07d\tgenus\n" % (n, n))
    names = _filled(
        b"coreid\tname\tlanguage\n",
        lambda n: b"%d\tname %d\tl%d\n" % (n, n, n % 50),
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.xml", _META)
        archive.writestr("taxa.txt", taxa)
        archive.writestr("names.txt", names)
    return buffer.getvalue()


#: Each shape: (file name, maker).
SHAPES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "header of columns": ("taxa.csv", header_of_columns),
    "header of names": ("taxa.csv", header_of_names),
    "rows of cells": ("taxa.csv", rows_of_cells),
    "names in every column": ("taxa.csv", names_in_every_column),
    "trapline rows": ("taxa.csv", trapline_rows),
    "checklist rows": ("taxa.csv", checklist_rows),
    "rows of errors": ("taxa.csv", rows_of_errors),
    "one parent cycle": ("taxa.csv", one_parent_cycle),
    "self-parents": ("taxa.csv", self_parents),
    "archive of names": ("taxa.zip", archive_of_names),
}


def taxa_files(shapes: list[str] | None = None) -> Iterator[tuple[str, str, bytes]]:
    """(shape, file name, file) for every shape (or these), made one at a time."""
    for shape, (filename, make) in SHAPES.items():
        if shapes is None or shape in shapes:
            yield shape, filename, make()
