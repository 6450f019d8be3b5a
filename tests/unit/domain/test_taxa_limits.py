"""Taxa files beyond what a file may hold: columns and characters per row, vernacular names,
and the numbers and encodings an archive's meta.xml gives, each refused whole with a message
that names the limit and what was found."""

from __future__ import annotations

import pytest

from tests.support.taxa_files import META, NAMES_TXT, TAXON_TXT, zip_of
from trapline.domain.taxa.taxa_files import TaxaFileInvalid, read_taxa
from trapline.domain.taxa.taxa_text import TaxaText

HEADER = "scientific_name,rank"
#: The limits as docs/taxa.md gives them (``taxa_rows``).
MAX_COLUMNS = 300
MAX_ROW_CHARS = 128 * 1024
MAX_VERNACULAR_NAMES = 500_000


def test_a_header_of_a_million_columns_is_refused_naming_how_many() -> None:
    header = HEADER + ",a" * 1_000_000
    with pytest.raises(TaxaFileInvalid) as refused:
        read_taxa(f"{header}\nAgrotis,genus\n".encode(), "taxa.csv")
    assert str(refused.value) == (
        "line 1 of the file has 1,000,002 columns; a taxa file may have at most 300: leave out "
        "the columns trapline does not read"
    )


def test_a_checklist_header_of_distinct_terms_past_the_cap_is_refused() -> None:
    terms = ",".join(f"term{n}" for n in range(MAX_COLUMNS - 1))
    at_cap = f"scientificName,{terms}\n"
    with pytest.raises(TaxaFileInvalid, match="names no taxonRank"):  # read, not refused
        read_taxa(at_cap.encode(), "taxa.csv")
    over = f"scientificName,taxonRank,{terms}\nAgrotis,genus\n"
    with pytest.raises(TaxaFileInvalid, match="line 1 of the file has 301 columns; a taxa file"):
        read_taxa(over.encode(), "taxa.csv")


def test_a_row_of_more_cells_than_a_file_may_have_is_refused_naming_its_line() -> None:
    text = f"{HEADER}\nAgrotis,genus\n\nNoctua,genus{',' * MAX_COLUMNS}\n"
    with pytest.raises(TaxaFileInvalid, match="line 4 of the file has 302 columns"):
        read_taxa(text.encode(), "taxa.csv")


@pytest.mark.parametrize("quoted", [False, True], ids=["one-line", "quoted-over-lines"])
def test_a_row_longer_than_a_row_may_be_is_refused_before_it_is_split(quoted: bool) -> None:
    long = "x" * (MAX_ROW_CHARS // 2)
    cell = f'"{long}\n{long}"' if quoted else long + long
    with pytest.raises(TaxaFileInvalid) as refused:
        read_taxa(f"{HEADER},lsid\nAgrotis,genus,{cell}\n".encode(), "taxa.csv")
    assert f"a row of a taxa file may have at most {MAX_ROW_CHARS:,}" in str(refused.value)
    assert str(refused.value).startswith(f"line {3 if quoted else 2} of the file ends a row of")
    # Just within the limit, the row is read (and its over-long cell told of).
    fits = "x" * (MAX_ROW_CHARS - len("Agrotis,genus,\n"))
    _, problems = read_taxa(f"{HEADER},lsid\nAgrotis,genus,{fits}\n".encode(), "t.csv")
    assert [p.message for p in problems] == [
        f"lsid is {len(fits):,} characters long; it may have at most 255".replace(",", "")
    ]


def test_more_vernacular_names_than_a_file_may_give_are_refused() -> None:
    languages = MAX_COLUMNS - 2
    header = HEADER + "".join(f",vernacular_name:l{n}" for n in range(languages))
    rows = MAX_VERNACULAR_NAMES // languages + 1
    names = ",n" * languages
    text = header + "\n" + "".join(f"G{row},genus{names}\n" for row in range(rows))
    with pytest.raises(TaxaFileInvalid) as refused:
        read_taxa(text.encode(), "taxa.csv")
    assert str(refused.value) == (
        f"the file gives more than 500,000 vernacular names (row {rows} passes that); a taxa "
        "file may give at most 500,000: split it"
    )


# meta.xml


def _archive(meta: str) -> bytes:
    return zip_of({"meta.xml": meta, "taxon.txt": TAXON_TXT, "vernacularname.txt": NAMES_TXT})


@pytest.mark.parametrize(
    "encoding", ["rot13", "base64", "zlib", "hex", "punycode", "idna", "unicode_escape", "nope"]
)
def test_an_encoding_that_is_no_character_set_is_refused_naming_the_attribute(
    encoding: str,
) -> None:
    meta = META.replace('<core encoding="UTF-8"', f'<core encoding="{encoding}"')
    with pytest.raises(TaxaFileInvalid) as refused:
        read_taxa(_archive(meta), "dwca.zip")
    assert str(refused.value) == (
        f"meta.xml: the encoding of taxon.txt is '{encoding}', which is no character set: give "
        "one such as UTF-8 or ISO-8859-1"
    )


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "windows-1252", "UTF-16"])
def test_files_in_other_character_sets_are_read(encoding: str) -> None:
    meta = META.replace('<core encoding="UTF-8"', f'<core encoding="{encoding}"')
    taxa = TAXON_TXT.replace("Noctuidae", "Noctuidæ").encode(encoding)
    data = zip_of({"meta.xml": meta, "taxon.txt": taxa, "vernacularname.txt": NAMES_TXT})
    entries, _ = read_taxa(data, "dwca.zip")
    assert entries[0].scientific_name == "Noctuidæ"


@pytest.mark.parametrize(
    ("old", "new", "attribute", "most"),
    [
        ('<id index="0"/>', '<id index="%s"/>', "the index of <id>", "299"),
        ('index="2" term', 'index="%s" term', "the index of the field 'scientificName'", "299"),
        ('<coreid index="0"/>', '<coreid index="%s"/>', "the index of <coreid>", "299"),
        (
            'ignoreHeaderLines="1" rowType',
            'ignoreHeaderLines="%s" rowType',
            "ignoreHeaderLines",
            "250,000",
        ),
    ],
    ids=["id", "field", "coreid", "ignoreHeaderLines"],
)
@pytest.mark.parametrize(
    "value",
    ["9" * 5000, "0" * 5000 + "1" * 10, "300", "-1", "1.5", "²"],
    ids=["5000-digits", "5000-zeros-first", "one-past", "negative", "fraction", "superscript"],
)
def test_a_number_out_of_bounds_is_refused_naming_the_attribute(
    old: str, new: str, attribute: str, most: str, value: str
) -> None:
    if attribute == "ignoreHeaderLines" and value == "300":
        value = "250001"
    assert old in META
    meta = META.replace(old, new % value, 1)
    with pytest.raises(TaxaFileInvalid) as refused:
        read_taxa(_archive(meta), "dwca.zip")
    shown = repr(value if len(value) <= 40 else value[:40] + "…")
    assert str(refused.value) == (
        f"meta.xml: {attribute} must be a whole number from 0 to {most} (got {shown})"
    )


def test_numbers_within_bounds_are_read() -> None:
    meta = META.replace('<field index="1"', '<field index="0299"', 1)
    entries, _ = read_taxa(_archive(meta), "dwca.zip")
    assert [e.scientific_name for e in entries] == ["Noctuidae", "Agrotis", '"Agrotis" ipsilon']


@pytest.mark.parametrize(
    ("attributes", "refusal"),
    [
        (
            'fieldsTerminatedBy="&#10;" linesTerminatedBy="\\n" fieldsEnclosedBy=""',
            "meta.xml: fieldsTerminatedBy is a line break ('\\n')",
        ),
        (
            'fieldsTerminatedBy="&#13;" linesTerminatedBy="\\n" fieldsEnclosedBy=""',
            "meta.xml: fieldsTerminatedBy is a line break ('\\r')",
        ),
        (
            'fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy="&#10;"',
            "meta.xml: fieldsEnclosedBy is a line break ('\\n')",
        ),
        (
            'fieldsTerminatedBy="," linesTerminatedBy="\\n" fieldsEnclosedBy=","',
            "meta.xml: fieldsTerminatedBy and fieldsEnclosedBy are both ','",
        ),
        (
            'fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy="&#9;"',
            "meta.xml: fieldsTerminatedBy and fieldsEnclosedBy are both '\\t'",
        ),
    ],
    ids=["newline-between", "return-between", "newline-around", "comma-both", "tab-both"],
)
def test_a_delimiter_the_csv_reader_cannot_use_is_refused_naming_the_attribute(
    attributes: str, refusal: str
) -> None:
    """Python 3.13's csv raises ValueError (not csv.Error) for these when the reader is built;
    they are refused before, on any Python."""
    old = 'fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy=""'
    assert old in META
    meta = META.replace(old, attributes, 1)
    with pytest.raises(TaxaFileInvalid) as refused:
        read_taxa(_archive(meta), "dwca.zip")
    assert str(refused.value).startswith(refusal + ":"), str(refused.value)


@pytest.mark.parametrize(("delimiter", "quotechar"), [("\n", '"'), (",", "\r"), (";", ";")])
def test_the_text_refuses_such_a_delimiter_before_building_a_reader(
    delimiter: str, quotechar: str
) -> None:
    rows = TaxaText(b"a,b\nc,d\n").rows(delimiter, quotechar)
    with pytest.raises(TaxaFileInvalid, match=r"^the (delimiter|quote character)"):
        next(rows)
