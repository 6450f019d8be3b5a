"""A taxa import reads its file twice (issue 51): once to check an outline of its rows, then
again to store them a batch at a time, each after its parent. What the second reading gives
is what the first checked: children before their parents are stored under them, whatever the
order and past a batch; an archive's vernacular names arrive; a refusal tells UPDATED and
UNCHANGED of the rows of taxa the list has."""

from __future__ import annotations

from typing import Any

from tests.support.protocol_client import Protocol, api_get
from tests.support.scenes import find_taxon, import_taxa
from tests.support.taxa_files import META, NAMES_TXT, TAXON_TXT, zip_of


def _taxa(proto: Protocol) -> dict[str, dict[str, Any]]:
    listed = api_get(proto, f"/projects/{proto.project_id}/taxa", limit=1000)
    return {t["scientific_name"]: t for t in listed["results"]}


def test_children_before_their_parents_are_stored_under_them(proto: Protocol) -> None:
    # The species come first, then their genera (2,100 of them: past a batch of 2,000),
    # then the family: three readings store them, each generation after its parents.
    genera = [f"Genus{g:04d}" for g in range(2_100)]
    rows = [f"{g} alpha,species,{g}" for g in genera[:5]]
    rows += [f"{g},genus,Noctuidae" for g in genera]
    rows.append("Noctuidae,family,")
    answer = import_taxa(proto, "scientific_name,rank,parent\n" + "\n".join(rows) + "\n")
    assert answer.status_code == 200, answer.text[:300]
    body = answer.json()
    assert (body["added"], body["updated"], body["unchanged"]) == (2_106, 0, 0)
    assert [r["row"] for r in body["rows"][:3]] == [1, 2, 3]
    family = find_taxon(proto, "Noctuidae")
    genus = find_taxon(proto, "Genus0000")
    species = api_get(proto, f"/projects/{proto.project_id}/taxa/search", q="genus0000 alpha")
    assert species[0]["parent_id"] == genus
    assert species[0]["lineage"] == [family, genus]
    last = api_get(proto, f"/projects/{proto.project_id}/taxa/search", q="genus2099")
    assert (last[0]["parent_id"], last[0]["lineage"]) == (family, [family])
    taxa_list = api_get(proto, f"/projects/{proto.project_id}/taxa-list")
    assert taxa_list["taxon_count"] == 2_106


def test_an_archives_children_first_and_its_vernacular_names_are_stored(
    proto: Protocol,
) -> None:
    header, *rows = TAXON_TXT.strip("\n").split("\n")
    core = "\n".join([header, *reversed(rows)]) + "\n"  # the species first, the family last
    data = zip_of({"meta.xml": META, "taxon.txt": core, "vernacularname.txt": NAMES_TXT})
    answer = import_taxa(proto, data, "dwca.zip")
    assert answer.status_code == 200, answer.text
    assert answer.json()["added"] == 3
    taxa = _taxa(proto)
    assert taxa["Noctuidae"]["vernacular_names"] == {"en": "Owlet moths", "fr": "Noctuelles"}
    assert taxa['"Agrotis" ipsilon']["vernacular_names"] == {"": "Dark sword-grass"}
    assert taxa['"Agrotis" ipsilon']["parent_id"] == taxa["Agrotis"]["id"]
    assert taxa["Agrotis"]["lineage"] == [taxa["Noctuidae"]["id"]]


def test_a_refusal_tells_updated_and_unchanged_of_the_lists_taxa(proto: Protocol) -> None:
    header = "scientific_name,rank,parent,vernacular_name\n"
    first = import_taxa(proto, header + "Noctuidae,family,,\nAgrotis,genus,Noctuidae,\n")
    assert first.status_code == 200, first.text
    answer = import_taxa(
        proto,
        header + "Noctuidae,family,,\nAgrotis,genus,Noctuidae,Darts\nEuxoa,genus,Noctuinae,\n",
    )
    assert answer.status_code == 400, answer.text
    rows = [(r["row"], r["status"], r["message"]) for r in answer.json()["rows"]]
    assert rows == [
        (1, "unchanged", None),
        (2, "updated", None),
        (3, "error", "parent missing: Noctuinae"),
    ]
    assert _taxa(proto)["Agrotis"]["vernacular_names"] == {}  # nothing imported


def test_a_file_in_taxonomic_order_is_stored_a_generation_at_a_time_within_a_batch(
    proto: Protocol,
) -> None:
    # Each family followed by its genera, each genus by its species: parent and child share a
    # batch, written a generation after the other.
    rows = []
    for f in range(30):
        rows.append(f"Family{f},family,")
        for g in range(3):
            rows.append(f"Genus{f}x{g},genus,Family{f}")
            rows += [f"Genus{f}x{g} s{s},species,Genus{f}x{g}" for s in range(2)]
    answer = import_taxa(proto, "scientific_name,rank,parent\n" + "\n".join(rows) + "\n")
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["added"] == 30 * (1 + 3 * 3)
    taxa = _taxa(proto)
    species = taxa["Genus29x2 s1"]
    family, genus = taxa["Family29"]["id"], taxa["Genus29x2"]["id"]
    assert (species["parent_id"], species["lineage"]) == (genus, [family, genus])
