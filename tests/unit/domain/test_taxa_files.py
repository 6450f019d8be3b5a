"""Taxa files: trapline's CSV, Darwin Core checklists as text and as archives, the limits
and cell rules every file obeys, the checks of entries against each other and the list, and
writing a list back out."""

from __future__ import annotations

import io

import pytest

from tests.support.taxa_files import META, NAMES_TXT, TAXON_TXT, zip_of
from trapline.domain.taxa import taxa_rows
from trapline.domain.taxa.taxa import ParentRef, Rank, RowOutcome, RowStatus, Taxon, TaxonEntry
from trapline.domain.taxa.taxa_checks import check_entries
from trapline.domain.taxa.taxa_files import (
    MAX_TAXA_ROWS,
    TaxaFileInvalid,
    read_taxa,
    write_taxa_csv,
)

DWC = "http://rs.tdwg.org/dwc/terms/"


def _read(text: str, filename: str = "taxa.csv") -> tuple[list[TaxonEntry], list[RowOutcome]]:
    return read_taxa(text.encode(), filename)


def _taxon(
    taxon_id: int,
    name: str,
    rank: Rank,
    parent_id: int | None = None,
    *,
    gbif_key: int | None = None,
    lsid: str | None = None,
    source_id: str | None = None,
    vernacular: dict[str, str] | None = None,
) -> Taxon:
    return Taxon(
        taxon_id, 1, name, rank, parent_id, (), gbif_key, lsid, source_id, vernacular or {}
    )


def _entry(row: int, name: str, rank: Rank, parent: ParentRef | None = None) -> TaxonEntry:
    return TaxonEntry(row, name, rank, parent)


def _statuses(outcomes: list[RowOutcome]) -> list[tuple[int, RowStatus]]:
    return [(outcome.row, outcome.status) for outcome in outcomes]


# trapline's CSV


def test_a_trapline_csv_gives_its_taxa_with_parents_ids_and_vernacular_names() -> None:
    entries, problems = _read(
        "scientific_name,rank,parent,parent_rank,gbif_key,lsid,taxon_id,vernacular_name,"
        "vernacular_name:en\n"
        "Lepidoptera,Order,,,797,,L1,Schmetterlinge,Butterflies and moths\n"
        " Noctuidae , family ,Lepidoptera,ORDER,,urn:lsid:x:1,,,\n"
        "Agrotis,genus,Noctuidae,,,,,,\n"
    )
    assert problems == []
    assert entries == [
        TaxonEntry(
            1, "Lepidoptera", Rank.ORDER, None, 797, None, "L1",
            {"": "Schmetterlinge", "en": "Butterflies and moths"},
        ),
        TaxonEntry(
            2, "Noctuidae", Rank.FAMILY, ParentRef("Lepidoptera", Rank.ORDER), lsid="urn:lsid:x:1"
        ),
        TaxonEntry(3, "Agrotis", Rank.GENUS, ParentRef("Noctuidae")),
    ]  # fmt: skip


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_trapline_csv_may_be_separated_by_semicolons_or_tabs(delimiter: str) -> None:
    text = "scientific_name;rank;parent;vernacular_name:fr\nNoctuidae;family;;Noctuelles, les\n"
    entries, problems = _read(text.replace(";", delimiter))
    assert problems == []
    assert entries == [
        TaxonEntry(1, "Noctuidae", Rank.FAMILY, None, vernacular={"fr": "Noctuelles, les"})
    ]


def test_blank_rows_are_skipped_but_keep_their_number_and_a_bom_is_allowed() -> None:
    data = "\ufeffscientific_name,rank\n\nAgrotis,genus\n,\nNoctua,genus\n".encode()
    entries, problems = read_taxa(data, "taxa.csv")
    assert problems == []
    assert [(entry.row, entry.scientific_name) for entry in entries] == [
        (2, "Agrotis"),
        (4, "Noctua"),
    ]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("scientific_name,rank,vernacular_nmae", "unknown column 'vernacular_nmae'"),
        ("scientific_name,rank,rank", "the column rank appears twice"),
        ("scientific_name,parent", "no rank column"),
        ("scientific_name,rank,vernacular_name:" + "x" * 17, "language tag of column"),
    ],
)
def test_a_wrong_header_refuses_the_whole_file(header: str, message: str) -> None:
    with pytest.raises(TaxaFileInvalid, match=message):
        _read(header + "\nAgrotis,genus\n")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",genus", "scientific_name is empty"),
        ("A" * 256 + ",genus", "scientific_name is 256 characters long; it may have at most 255"),
        ("Agrotis,famly", "unknown rank 'famly' in column rank: use one of kingdom, phylum"),
        ("Agrotis,", "no rank in column rank"),
        ("Agrotis,genus,Noctuidae,famly", "unknown rank 'famly' in column parent_rank"),
        ("Agrotis,genus,,family", "parent_rank is given but parent is empty"),
        ("Agrotis,genus,,,-5", 'gbif_key must be a whole number from 1 up (got "-5")'),
        ("Agrotis,genus,,,1.5", 'gbif_key must be a whole number from 1 up (got "1.5")'),
        ("Agrotis,genus,,,,,,," + "v" * 256, "vernacular_name:en is 256 characters long"),
        ("Agrotis,genus,,,,,,,,extra", "the row has 10 cells; the header has 9"),
    ],
)
def test_a_row_that_breaks_a_rule_is_an_error_naming_its_column(row: str, message: str) -> None:
    header = (
        "scientific_name,rank,parent,parent_rank,gbif_key,lsid,taxon_id,vernacular_name,"
        "vernacular_name:en"
    )
    entries, problems = _read(f"{header}\nNoctua,genus\n{row}\n")
    assert [entry.scientific_name for entry in entries] == ["Noctua"]
    assert _statuses(problems) == [(2, RowStatus.ERROR)]
    assert problems[0].message is not None
    assert message in problems[0].message


@pytest.mark.parametrize(
    ("row", "column"),
    [
        ('"=HYPERLINK(""http://evil"",""Agrotis"")",genus,,', "scientific_name"),
        ("Agrotis,genus,+1,", "parent"),
        ("Agrotis,genus,,@SUM(A1)", "vernacular_name:en"),
        ("Agrotis,genus,,-cmd", "vernacular_name:en"),
    ],
)
def test_a_formula_cell_is_an_error(row: str, column: str) -> None:
    entries, problems = _read(f"scientific_name,rank,parent,vernacular_name:en\n{row}\n")
    assert entries == []
    assert problems[0].status is RowStatus.ERROR
    assert problems[0].message == f"formula cell in column {column}: not imported"


def test_a_negative_number_is_no_formula_and_a_tab_inside_a_cell_is_an_error() -> None:
    entries, problems = _read(
        'scientific_name,rank,vernacular_name\nAgrotis,genus,-5 degrees\n"Noc\ttua",genus,\n'
    )
    assert entries == [TaxonEntry(1, "Agrotis", Rank.GENUS, None, vernacular={"": "-5 degrees"})]
    message = "tab or line break in column scientific_name: not imported"
    assert problems == [RowOutcome(2, "Noc\ttua", RowStatus.ERROR, message)]


@pytest.mark.parametrize(
    ("cell", "column"),
    [
        ("Noc\x01tua", "scientific_name"),
        ("Noc\u202etua", "scientific_name"),
        ("M\x7fth", "vernacular_name"),
    ],
)
def test_a_control_or_invisible_character_in_a_cell_is_an_error(cell: str, column: str) -> None:
    """As the API refuses them in a name: a NUL or a control, bidirectional or invisible
    character would be stored as part of a taxon's name (PostgreSQL refuses a NUL)."""
    name, vernacular = (cell, "") if column == "scientific_name" else ("Noctua", cell)
    entries, problems = _read(
        f"scientific_name,rank,vernacular_name\nAgrotis,genus,\n{name},genus,{vernacular}\n"
    )
    assert entries == [TaxonEntry(1, "Agrotis", Rank.GENUS, None)]
    message = f"control or invisible characters in column {column}: not imported"
    assert [(p.row, p.status, p.message) for p in problems] == [(2, RowStatus.ERROR, message)]


# limits and encodings


def test_a_file_over_32_mb_is_refused_before_it_is_read() -> None:
    # Not UTF-8 at all: reading it would fail differently.
    with pytest.raises(
        TaxaFileInvalid, match=r"the file is 33\.0 MB; a taxa file may be at most 32 MB"
    ):
        read_taxa(b"\xff" * (33 * 1024 * 1024), "taxa.csv")


def test_a_file_of_more_than_250_000_rows_is_refused() -> None:
    with pytest.raises(TaxaFileInvalid, match="more than 250,000 rows; a taxa file may have at"):
        _read("scientific_name,rank\n" + "Agrotis,genus\n" * (MAX_TAXA_ROWS + 1))


def test_a_file_of_as_many_rows_as_allowed_is_read_and_blank_rows_do_not_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(taxa_rows, "MAX_TAXA_ROWS", 3)
    entries, _ = _read("scientific_name,rank\nAus,genus\n\nBus,genus\n,\nCus,genus\n")
    assert len(entries) == 3
    with pytest.raises(TaxaFileInvalid, match="more than 3 rows"):
        _read("scientific_name,rank\n" + "Aus,genus\n" * 4)


def test_a_file_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(TaxaFileInvalid, match="not utf-8 text"):
        read_taxa("scientific_name,rank\nPapillon,genre\n".encode("utf-16"), "taxa.csv")


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"", "taxa.csv", "the file is empty"),
        (b"name,rank\nAgrotis,genus\n", "taxa.csv", "names neither scientific_name"),
        (b"scientificName\nAgrotis\n", "taxa.csv", "names no taxonRank"),
        (b"scientific_name,rank\n", "taxa.zip", "taxa.zip is not a zip archive"),
        (b"PK\x03\x04 broken", "taxa.zip", "taxa.zip cannot be unpacked"),
    ],
)
def test_a_file_of_no_kind_read_here_is_refused(data: bytes, filename: str, message: str) -> None:
    with pytest.raises(TaxaFileInvalid, match=message):
        read_taxa(data, filename)


# Darwin Core checklists as text

GBIF_PAGE = "https://www.gbif.org/species/7015"
LSID = "urn:lsid:example.org:taxname:9"
CHECKLIST = "\n".join(
    "\t".join(row)
    for row in [
        (f"{DWC}taxonID", "parentNameUsageID", "scientificName", "taxonRank", "vernacularName",
         "taxonomicStatus", "scientificNameAuthorship", "kingdom"),
        ("1", "", "Lepidoptera", "order", "Butterflies and moths", "accepted",
         "Linnaeus, 1758", "Animalia"),
        (GBIF_PAGE, "1", "Noctuidae", "family", "", "ACCEPTED", "", ""),
        (LSID, GBIF_PAGE, "Agrotis", "Genus", "", "", "", ""),
        ("x-42", LSID, "Agrotis ipsilon", "species", "Dark sword-grass", "doubtful", "", ""),
        ("s-1", LSID, "Agrotis suffusa", "species", "", "synonym", "", ""),
        ("x-43", "nope", "Agrotis segetum", "species", "", "", "", ""),
    ]
)  # fmt: skip


def test_a_darwin_core_checklist_gives_parents_by_taxon_id_and_gbif_keys_and_lsids() -> None:
    entries, outcomes = _read(CHECKLIST, "checklist.txt")
    assert entries == [
        TaxonEntry(1, "Lepidoptera", Rank.ORDER, None, 1, None, "1", {"": "Butterflies and moths"}),
        TaxonEntry(
            2, "Noctuidae", Rank.FAMILY, ParentRef("Lepidoptera", Rank.ORDER), 7015, None,
            "https://www.gbif.org/species/7015",
        ),
        TaxonEntry(
            3, "Agrotis", Rank.GENUS, ParentRef("Noctuidae", Rank.FAMILY), None,
            "urn:lsid:example.org:taxname:9", "urn:lsid:example.org:taxname:9",
        ),
        TaxonEntry(
            4, "Agrotis ipsilon", Rank.SPECIES, ParentRef("Agrotis", Rank.GENUS), None, None,
            "x-42", {"": "Dark sword-grass"},
        ),
    ]  # fmt: skip
    assert outcomes == [
        RowOutcome(5, "Agrotis suffusa", RowStatus.UNCHANGED, "a synonym: not imported"),
        RowOutcome(
            6, "Agrotis segetum", RowStatus.ERROR, "parent missing: no row has taxonID nope"
        ),
    ]


def test_a_checklist_row_under_a_synonym_an_error_or_a_repeated_taxon_id_is_an_error() -> None:
    entries, outcomes = _read(
        "taxonID,parentNameUsageID,scientificName,taxonRank,acceptedNameUsageID\n"
        "1,,Agrotis,genus,\n"
        "2,,Feltia,genus,1\n"
        "3,2,Feltia jaculifera,species,\n"
        "4,,Noctua,famly,\n"
        "5,4,Noctua pronuba,species,\n"
        "1,,Euxoa,genus,\n"
    )
    assert [entry.scientific_name for entry in entries] == ["Agrotis"]
    assert [(o.row, o.status, o.message) for o in outcomes] == [
        (2, RowStatus.UNCHANGED, "a synonym (of taxonID 1): not imported"),
        (3, RowStatus.ERROR, "parent Feltia (row 2) is not an accepted name"),
        (4, RowStatus.ERROR, outcomes[2].message),
        (5, RowStatus.ERROR, "parent Noctua has an error (row 4)"),
        (6, RowStatus.ERROR, "duplicate taxonID 1: row 1 has it too"),
    ]
    assert "unknown rank 'famly' in column taxonRank" in (outcomes[2].message or "")


# Darwin Core Archives


@pytest.mark.parametrize("folder", ["", "checklist/"])
def test_a_darwin_core_archive_gives_its_taxa_with_the_vernacular_names_of_its_extension(
    folder: str,
) -> None:
    data = zip_of({
        f"{folder}meta.xml": META,
        f"{folder}taxon.txt": TAXON_TXT,
        f"{folder}vernacularname.txt": NAMES_TXT,
        f"{folder}eml.xml": "<eml/>",
    })  # fmt: skip
    entries, outcomes = read_taxa(data, "dwca.zip")
    assert outcomes == []
    assert entries == [
        TaxonEntry(
            1, "Noctuidae", Rank.FAMILY, None, 7015, None, "7015",
            {"en": "Owlet moths", "fr": "Noctuelles"},
        ),
        TaxonEntry(2, "Agrotis", Rank.GENUS, ParentRef("Noctuidae", Rank.FAMILY), 1, None, "1"),
        TaxonEntry(
            3, '"Agrotis" ipsilon', Rank.SPECIES, ParentRef("Agrotis", Rank.GENUS), 2, None, "2",
            {"": "Dark sword-grass"},
        ),
    ]  # fmt: skip


def test_a_bad_vernacular_name_in_the_extension_is_an_error_of_its_taxon() -> None:
    names = "id\tname\tlanguage\n1\t=cmd|' /C calc'!A0\ten\n2\tNoctuelle\t" + "x" * 17 + "\n"
    data = zip_of({"meta.xml": META, "taxon.txt": TAXON_TXT, "vernacularname.txt": names})
    entries, outcomes = read_taxa(data, "dwca.zip")
    assert [entry.scientific_name for entry in entries] == ["Noctuidae"]
    assert [(o.row, o.status) for o in outcomes] == [(2, RowStatus.ERROR), (3, RowStatus.ERROR)]
    assert [o.message for o in outcomes] == [
        "formula cell in column vernacularName (vernacular names, row 1): not imported",
        "language (vernacular names, row 2) is 17 characters long; it may have at most 16",
    ]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"taxon.txt": TAXON_TXT}, "the archive has no meta.xml"),
        ({"meta.xml": META}, "the archive has no taxon.txt, which meta.xml names"),
        (
            {"meta.xml": META.replace("dwc/terms/Taxon", "dwc/terms/Occurrence"), "taxon.txt": ""},
            "the archive's core holds Occurrence rows, not taxa",
        ),
        (
            {
                "meta.xml": '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
                '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n<archive>&lol2;</archive>'
            },
            "meta.xml has a DOCTYPE or ENTITY declaration",
        ),
        ({"meta.xml": "<archive><core>"}, "meta.xml is not well-formed XML"),
        (
            {"meta.xml": "<archive>" + " " * 1024 * 1024 + "</archive>"},
            "meta.xml is larger than 1 MB",
        ),
        ({"[Content_Types].xml": "", "xl/workbook.xml": ""}, "the file is a spreadsheet"),
    ],
)
def test_an_archive_that_is_no_checklist_is_refused(files: dict[str, str], message: str) -> None:
    with pytest.raises(TaxaFileInvalid, match=message):
        read_taxa(zip_of(dict(files)), "dwca.zip")


def test_an_archive_that_unpacks_to_over_32_mb_is_refused_though_it_is_small() -> None:
    data = zip_of({"meta.xml": META, "taxon.txt": b"\n" * (33 * 1024 * 1024)})
    assert len(data) < 1024 * 1024
    with pytest.raises(TaxaFileInvalid, match=r"the archive unpacks to 33\.0 MB; a taxa file may"):
        read_taxa(data, "dwca.zip")


# checks against each other and the list


def test_each_entry_is_added_updated_or_unchanged_and_a_blank_cell_keeps_the_lists_value() -> None:
    existing = [
        _taxon(1, "Noctuidae", Rank.FAMILY, gbif_key=7015),
        _taxon(2, "Agrotis", Rank.GENUS, 1, vernacular={"en": "Darts", "fr": "Agrotis"}),
        _taxon(3, "Noctua", Rank.GENUS, 1, lsid="urn:lsid:x:3"),
        _taxon(4, "Euxoa", Rank.GENUS, 1),
    ]
    entries = [
        TaxonEntry(1, "noctuidae", Rank.FAMILY, None),
        TaxonEntry(
            2, "Agrotis", Rank.GENUS, ParentRef("Noctuidae"), vernacular={"en": "Dart moths"}
        ),
        TaxonEntry(
            3,
            "Noctua",
            Rank.GENUS,
            ParentRef("Noctuidae"),
            lsid="urn:lsid:x:3",
            vernacular={"fr": "x"},
        ),
        TaxonEntry(4, "Noctua", Rank.GENUS, ParentRef("Noctuidae"), lsid="urn:lsid:x:3"),
        TaxonEntry(5, "Euxoa", Rank.GENUS, ParentRef("Noctuinae")),
        TaxonEntry(6, "Noctuinae", Rank.SUBFAMILY, ParentRef("Noctuidae", Rank.FAMILY)),
    ]
    assert _statuses(check_entries(entries[:3] + entries[4:], existing)) == [
        (1, RowStatus.UNCHANGED),
        (2, RowStatus.UPDATED),
        (3, RowStatus.UPDATED),
        (5, RowStatus.UPDATED),
        (6, RowStatus.ADDED),
    ]
    assert _statuses(check_entries([entries[3]], existing)) == [(4, RowStatus.UNCHANGED)]


def _messages(entries: list[TaxonEntry], existing: list[Taxon] | None = None) -> list[str | None]:
    return [outcome.message for outcome in check_entries(entries, existing or [])]


def test_a_second_row_of_the_same_name_and_rank_is_a_duplicate() -> None:
    entries = [
        _entry(1, "Agrotis", Rank.GENUS),
        _entry(2, "AGROTIS", Rank.GENUS),
        _entry(3, "Agrotis", Rank.SUBGENUS),
    ]
    outcomes = check_entries(entries, [])
    assert _statuses(outcomes) == [(1, RowStatus.ADDED), (2, RowStatus.ERROR), (3, RowStatus.ADDED)]
    assert outcomes[1].message == "duplicate: row 1 already names Agrotis at rank genus"


def test_a_parent_that_is_nowhere_is_missing_and_one_at_two_ranks_is_ambiguous() -> None:
    existing = [_taxon(1, "Agrotis", Rank.GENUS), _taxon(2, "Agrotis", Rank.SUBGENUS, 1)]
    entries = [
        _entry(1, "Agrotis ipsilon", Rank.SPECIES, ParentRef("Agrotis")),
        _entry(2, "Agrotis segetum", Rank.SPECIES, ParentRef("agrotis", Rank.SUBGENUS)),
        _entry(3, "Xestia c-nigrum", Rank.SPECIES, ParentRef("Xestia")),
        _entry(4, "Xestia baja", Rank.SPECIES, ParentRef("Agrotis", Rank.SUBFAMILY)),
    ]
    assert _messages(entries, existing) == [
        "parent Agrotis is ambiguous: give parent_rank",
        None,
        "parent missing: Xestia",
        "parent missing: Agrotis (subfamily)",
    ]


def test_a_parent_must_rank_above_its_child() -> None:
    entries = [
        _entry(1, "Noctuidae", Rank.FAMILY),
        _entry(2, "Agrotis", Rank.GENUS),
        _entry(3, "Noctuinae", Rank.SUBFAMILY, ParentRef("Agrotis")),
        _entry(4, "Euxoa", Rank.GENUS, ParentRef("Agrotis")),
        _entry(5, "Feltia", Rank.MORPHOSPECIES, ParentRef("Agrotis ipsilon")),
        _entry(6, "Agrotis ipsilon", Rank.SPECIES, ParentRef("Agrotis")),
    ]
    assert _messages(entries) == [
        None,
        None,
        "parent Agrotis (genus) does not rank above Noctuinae (subfamily)",
        "parent Agrotis (genus) does not rank above Euxoa (genus)",
        "parent Agrotis ipsilon (species) does not rank above Feltia (morphospecies)",
        None,
    ]


def test_a_cycle_through_the_lists_taxa_is_named_as_a_cycle() -> None:
    # The list has Aus under Bus; the file puts Bus under Aus. Both are genera, so the rank
    # rule is broken too, but the cycle is the real problem.
    existing = [_taxon(1, "Bus", Rank.GENUS), _taxon(2, "Aus", Rank.GENUS, 1)]
    entries = [_entry(1, "Bus", Rank.GENUS, ParentRef("Aus"))]
    assert _messages(entries, existing) == ["cycle: Bus → Aus → Bus"]


def test_a_cycle_within_the_file_is_an_error_of_each_of_its_rows_and_a_long_one_is_cut() -> None:
    entries = [
        _entry(1, "Aus", Rank.GENUS, ParentRef("Bus")),
        _entry(2, "Bus", Rank.GENUS, ParentRef("Aus")),
        _entry(3, "Cus", Rank.GENUS, ParentRef("Cus")),
    ]
    assert _messages(entries) == [
        "cycle: Aus → Bus → Aus",
        "cycle: Bus → Aus → Bus",
        "cycle: Cus → Cus",
    ]
    ring = [_entry(i, f"G{i}", Rank.GENUS, ParentRef(f"G{(i + 1) % 20}")) for i in range(20)]
    assert _messages(ring)[0] == "cycle: G0 → G1 → G2 → G3 → G4 → G5 → G6 → G7 → … → G0"


def test_a_row_under_a_row_in_error_is_an_error_down_to_the_leaves() -> None:
    entries = [
        _entry(1, "Agrotis ipsilon", Rank.SPECIES, ParentRef("Agrotis")),
        _entry(2, "Agrotis", Rank.GENUS, ParentRef("Noctuinae")),
        _entry(3, "Noctuinae", Rank.SUBFAMILY, ParentRef("Noctuidea")),
    ]
    assert _messages(entries) == [
        "parent Agrotis has an error (row 2)",
        "parent Noctuinae has an error (row 3)",
        "parent missing: Noctuidea",
    ]


def test_a_parent_whose_row_could_not_be_read_is_said_to_have_an_error() -> None:
    entries, unreadable = _read(
        "scientific_name,rank,parent\nAgrotis,genra,\nAgrotis ipsilon,species,Agrotis\n"
    )
    assert _messages(entries) == ["parent missing: Agrotis"]
    outcomes = check_entries(entries, [], unreadable)
    assert [outcome.message for outcome in outcomes] == ["parent Agrotis has an error (row 1)"]


# writing


def test_what_is_written_reads_back_as_the_same_entries() -> None:
    taxa = [
        _taxon(
            1,
            "Lepidoptera",
            Rank.ORDER,
            gbif_key=797,
            vernacular={"en": "Butterflies", "fr": "Papillons"},
        ),
        _taxon(2, "Noctuidae", Rank.FAMILY, 1, lsid="urn:lsid:x:2"),
        _taxon(
            3, 'Agrotis "ipsilon", s.l.', Rank.SPECIES, 2, source_id="x-3", vernacular={"": "Dart"}
        ),
    ]
    names = {1: ("Lepidoptera", Rank.ORDER), 2: ("Noctuidae", Rank.FAMILY)}
    out = io.StringIO(newline="")
    assert write_taxa_csv(taxa, names, out) == 3
    assert out.getvalue().splitlines()[0] == (
        "scientific_name,rank,parent,parent_rank,gbif_key,lsid,taxon_id,vernacular_name,"
        "vernacular_name:en,vernacular_name:fr"
    )
    entries, problems = read_taxa(out.getvalue().encode(), "taxa.csv")
    assert problems == []
    assert entries == [
        TaxonEntry(
            1, "Lepidoptera", Rank.ORDER, None, 797,
            vernacular={"en": "Butterflies", "fr": "Papillons"},
        ),
        TaxonEntry(
            2, "Noctuidae", Rank.FAMILY, ParentRef("Lepidoptera", Rank.ORDER), lsid="urn:lsid:x:2"
        ),
        TaxonEntry(
            3, 'Agrotis "ipsilon", s.l.', Rank.SPECIES, ParentRef("Noctuidae", Rank.FAMILY),
            source_id="x-3", vernacular={"": "Dart"},
        ),
    ]  # fmt: skip


def test_a_written_cell_a_spreadsheet_would_run_is_written_as_text() -> None:
    # One rule for every text cell: a name that starts like a negative number is text too.
    vernacular = {"en": "=1+1", "fr": "-x", "de": "-5", "nl": "-1+cmd|' /C calc'!A0"}
    taxa = [_taxon(1, "Agrotis", Rank.GENUS, source_id="-2+3", vernacular=vernacular)]
    out = io.StringIO(newline="")
    write_taxa_csv(taxa, {}, out)
    assert out.getvalue().splitlines()[1] == (
        "Agrotis,genus,,,,,'-2+3,'-5,'=1+1,'-x,'-1+cmd|' /C calc'!A0"
    )


def test_a_name_written_as_text_reads_back_as_it_was() -> None:
    taxa = [_taxon(1, "Agrotis", Rank.GENUS, source_id="-2", vernacular={"": "-5 degrees"})]
    out = io.StringIO(newline="")
    write_taxa_csv(taxa, {}, out)
    entries, problems = read_taxa(out.getvalue().encode(), "taxa.csv")
    assert problems == []
    assert [(e.source_id, e.vernacular) for e in entries] == [("-2", {"": "-5 degrees"})]
