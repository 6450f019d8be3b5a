"""The determination rule, labels mapped onto taxa, and counts rolled up to a rank."""

from __future__ import annotations

from datetime import date

from trapline.domain.ecology.occurrences import Detection, DeterminedBy, determine
from trapline.domain.ecology.reviews import Verdict
from trapline.domain.ecology.species import TaxonTally, count_species, rolled_up
from trapline.domain.taxa.taxa import (
    IdentificationMark,
    LabelKind,
    LabelResolver,
    Rank,
    Taxon,
)


def _detection(
    n: int,
    label: str,
    confidence: float,
    *,
    review: tuple[int, Verdict, str | None] | None = None,
    marks: tuple[IdentificationMark, ...] = (),
) -> Detection:
    return Detection(n, n, "p", (0, 0, 1, 1), label, confidence, None, review, False, marks)


def _mark(n: int, taxon: int, name: str, user: int) -> IdentificationMark:
    return IdentificationMark(n, taxon, name, user, f"user {user}")


def test_the_models_most_confident_label_names_its_taxon_when_nobody_spoke() -> None:
    found = determine(
        [_detection(1, "moth", 0.6), _detection(2, "beetle", 0.9)],
        {"beetle": 7}.get,
    )
    assert (found.label, found.score, found.by, found.taxon_id) == (
        "beetle", 0.9, DeterminedBy.MODEL, 7,
    )  # fmt: skip


def test_a_review_beats_the_models_and_an_identification_beats_a_review() -> None:
    reviewed = _detection(1, "moth", 0.9, review=(5, Verdict.RELABEL, "Agrotis"))
    assert determine([reviewed], {"Agrotis": 3}.get).taxon_id == 3
    identified = _detection(2, "moth", 0.4, marks=(_mark(1, 9, "Noctua pronuba", 1),))
    found = determine([reviewed, identified], {"Agrotis": 3}.get)
    assert (found.label, found.taxon_id, found.by, found.identified_by) == (
        "Noctua pronuba", 9, DeterminedBy.PERSON, "user 1",
    )  # fmt: skip
    assert not found.disputed


def test_the_latest_identification_wins_and_two_people_disagreeing_is_shown() -> None:
    first = _detection(1, "moth", 0.4, marks=(_mark(1, 9, "Noctua pronuba", 1),))
    second = _detection(2, "moth", 0.5, marks=(_mark(4, 10, "Noctua comes", 2),))
    found = determine([first, second])
    assert (found.taxon_id, found.disputed) == (10, True)
    # The first person changing their mind to agree ends the dispute.
    agreed = _detection(3, "moth", 0.5, marks=(_mark(6, 10, "Noctua comes", 1),))
    assert determine([first, second, agreed]).disputed is False


def _resolver(**overrides: object) -> LabelResolver:
    values: dict[str, object] = {
        "mapped": {"bug": 5, "junk": None},
        "by_name": {
            "noctua": [(1, Rank.GENUS), (2, Rank.SUBGENUS)],
            "aves": [(3, Rank.CLASS)],
        },
        "by_gbif": {1234: 4},
        "hints": {"owl moth": {"gbif_key": 1234}, "Noctua": {"taxon_rank": "genus"}},
        "no_object": frozenset({"not an insect"}),
    }
    return LabelResolver(**(values | overrides))  # type: ignore[arg-type]


def test_labels_map_by_a_person_then_no_object_then_the_category_map_then_a_name() -> None:
    resolver = _resolver()
    assert (resolver.mapping("bug").taxon_id, resolver.mapping("bug").how) == (5, "person")
    assert resolver.mapping("junk").kind is LabelKind.NON_OBJECT
    assert resolver.mapping("Not an Insect").how == "no_object"
    assert (resolver.mapping("owl moth").taxon_id, resolver.mapping("owl moth").how) == (
        4, "category_map",
    )  # fmt: skip
    assert resolver.mapping("Noctua").taxon_id == 1  # the map's rank picks the genus
    assert resolver.mapping("AVES").taxon_id == 3  # the one scientific name, any case
    assert resolver.mapping("noctua").kind is None  # two ranks and no hint: a person decides
    assert resolver.mapping("moth").kind is None
    assert resolver.taxon_of(None) is None


def _taxon(n: int, name: str, rank: Rank, *lineage: int) -> Taxon:
    return Taxon(n, 1, name, rank, lineage[-1] if lineage else None, lineage)


def test_counts_roll_up_to_a_rank_and_the_unmapped_come_last() -> None:
    taxa = {
        1: _taxon(1, "Noctuidae", Rank.FAMILY),
        2: _taxon(2, "Noctua", Rank.GENUS, 1),
        3: _taxon(3, "Noctua pronuba", Rank.SPECIES, 1, 2),
        4: _taxon(4, "Noctua comes", Rank.SPECIES, 1, 2),
        5: _taxon(5, "Lepidoptera", Rank.ORDER),
    }
    night = date(2024, 6, 1)
    tallies = [
        TaxonTally(3, 1, 4, 10, night, night),
        TaxonTally(4, 2, 2, 3, date(2024, 6, 3), date(2024, 6, 3)),
        TaxonTally(5, 1, 1, 1, night, night),
        TaxonTally(None, 1, 7, 9, night, night),
    ]
    plain = count_species(tallies, taxa, None)
    assert [(r.taxon.scientific_name if r.taxon else None, r.occurrences) for r in plain] == [
        ("Noctua pronuba", 4), ("Noctua comes", 2), ("Lepidoptera", 1), (None, 7),
    ]  # fmt: skip
    (genus, order, unmapped) = count_species(tallies, taxa, Rank.GENUS)
    assert genus.taxon == taxa[2]
    assert (genus.occurrences, genus.detections, genus.deployments) == (6, 13, 2)
    assert (genus.first_night, genus.last_night, genus.members) == (
        night, date(2024, 6, 3), (3, 4),
    )  # fmt: skip
    assert order.taxon == taxa[5]  # ranks above the genus: counted as itself
    assert unmapped.taxon is None
    assert rolled_up(taxa[3], Rank.TRIBE, taxa) == taxa[3]  # no tribe in its lineage
