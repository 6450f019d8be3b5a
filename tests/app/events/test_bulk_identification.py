"""Identifying many occurrences at once through the API: one taxon for all, agreement with
each one's model label, all or none (a missing or foreign occurrence, a label that names no
taxon, a repeated id refuse the whole request, naming them), and the species view counting
them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.protocol_client import Protocol
from tests.support.scenes import (
    API,
    TAXA_CSV,
    find_taxon,
    import_taxa,
    six_occurrences,
    species_rows,
)
from tests.support.tallies import assert_counts_kept


@pytest.fixture(autouse=True)
def _kept_counts_agree(proto: Protocol) -> Iterator[None]:
    yield
    assert_counts_kept(proto.platform.db)


def _bulk(proto: Protocol, body: dict[str, Any], status: int = 201) -> Any:
    answer = proto.client.post(
        f"{API}/projects/{proto.project_id}/identifications", json=body, headers=proto.headers
    )
    assert answer.status_code == status, answer.text
    return answer.json()


@pytest.fixture
def scene(proto: Protocol) -> tuple[Protocol, list[dict[str, Any]]]:
    found = six_occurrences(proto)
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    return proto, found


def test_many_occurrences_are_identified_as_one_taxon_in_one_request(
    scene: tuple[Protocol, list[dict[str, Any]]],
) -> None:
    proto, found = scene
    grey = find_taxon(proto, "Ardea cinerea")
    chosen = [o["id"] for o in found[:5]][::-1]  # any order: the answer keeps it
    made = _bulk(proto, {"occurrence_ids": chosen, "taxon_id": grey, "comment": " a flock "})
    assert made["count"] == 5
    assert [i["occurrence_id"] for i in made["identifications"]] == chosen
    assert {i["taxon"]["scientific_name"] for i in made["identifications"]} == {"Ardea cinerea"}
    assert {(i["comment"], i["agreed_with"]) for i in made["identifications"]} == {
        ("a flock", None)
    }
    assert [o["id"] for o in made["occurrences"]] == chosen
    assert {o["determination"]["by"] for o in made["occurrences"]} == {"person"}
    assert species_rows(proto) == [("Ardea cinerea", 5, 5), (None, 1, 1)]
    for occurrence in chosen:
        history = proto.client.get(
            f"{API}/occurrences/{occurrence}/identifications", headers=proto.headers
        ).json()
        assert [(i["user"], i["taxon"]["scientific_name"]) for i in history] == [
            ("Olive", "Ardea cinerea")
        ]
    queue = proto.client.get(
        f"{API}/projects/{proto.project_id}/identification-queue", headers=proto.headers
    ).json()
    assert [o["id"] for o in queue["results"]] == [found[5]["id"]]


def test_agreeing_with_the_model_names_each_ones_label_and_needs_every_label_mapped(
    scene: tuple[Protocol, list[dict[str, Any]]],
) -> None:
    proto, found = scene
    every = [o["id"] for o in found]
    refused = _bulk(proto, {"occurrence_ids": every, "agree_with": "model"}, 400)
    assert "map the labels to taxa first" in refused["detail"]
    for o in found:  # every one is named, with its label
        assert f"{o['id']} ('{o['determination']['label']}')" in refused["detail"]
    aves, animalia = find_taxon(proto, "Aves"), find_taxon(proto, "Animalia")
    for label, taxon in (("animal", aves), ("person", animalia)):
        mapped = proto.client.post(
            f"{API}/projects/{proto.project_id}/labels",
            json={"label": label, "taxon_id": taxon},
            headers=proto.headers,
        )
        assert mapped.status_code == 200, mapped.text
    made = _bulk(proto, {"occurrence_ids": every, "agree_with": "model"})
    assert [(i["taxon"]["id"], i["agreed_with"]) for i in made["identifications"]] == [
        (aves, "model")
    ] * 4 + [(animalia, "model")] * 2
    assert sorted(species_rows(proto)) == [("Animalia", 2, 2), ("Aves", 4, 4)]


def test_the_whole_request_is_refused_naming_what_is_wrong(
    scene: tuple[Protocol, list[dict[str, Any]]], make_account: Callable[..., Account]
) -> None:
    proto, found = scene
    grey = find_taxon(proto, "Ardea cinerea")
    ids = [o["id"] for o in found]
    # An occurrence of another project of the same owner is answered as a missing one.
    other = proto.client.post(f"{API}/projects", json={"name": "Elsewhere"}, headers=proto.headers)
    assert other.status_code == 201, other.text
    foreign = six_occurrences(proto.in_project(other.json()["id"]), "Far")[0]["id"]
    for stranger in (foreign, 10**12):
        answer = _bulk(proto, {"occurrence_ids": [*ids[:2], stranger], "taxon_id": grey}, 404)
        assert answer["detail"] == f"occurrences {stranger} not found in project {proto.project_id}"
    for body, words in (
        ({"occurrence_ids": [ids[0], ids[1], ids[0]], "taxon_id": grey}, f"({ids[0]} repeated)"),
        ({"occurrence_ids": [], "taxon_id": grey}, "occurrence_ids"),
        ({"occurrence_ids": list(range(1, 502)), "taxon_id": grey}, "occurrence_ids"),
        ({"occurrence_ids": ids, "taxon_id": grey, "agree_with": "model"}, "one of them"),
        ({"occurrence_ids": ids}, "one of them"),
        ({"occurrence_ids": ids, "agree_with": 3}, "agree_with"),
        ({"occurrence_ids": ids, "taxon_id": 10**12}, "taxon_id"),
    ):
        assert words in _bulk(proto, body, 400)["detail"], body
    assert species_rows(proto) == [(None, 6, 6)]  # nothing was identified
    # Outsiders learn nothing; viewers and service accounts change nothing.
    eve = proto.as_(make_account("eve"))
    answer = _bulk(eve, {"occurrence_ids": ids, "taxon_id": grey}, 404)
    assert answer["detail"] == f"project {proto.project_id} not found"
    viewer = proto.as_(make_account("vic"))
    proto.add_member(viewer.account, "viewer")
    _bulk(viewer, {"occurrence_ids": ids, "taxon_id": grey}, 403)
    assert species_rows(proto) == [(None, 6, 6)]


def test_the_document_describes_the_endpoint(proto: Protocol) -> None:
    document = proto.client.get(f"{API}/openapi.json").json()
    operation = document["paths"][f"{API}/projects/{{project_id}}/identifications"]["post"]
    assert set(operation["responses"]) >= {"201", "400", "403", "404"}
    answer = operation["responses"]["201"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/BulkIdentificationOut")
    body = document["components"]["schemas"]["BulkIdentificationIn"]["properties"]
    assert (body["occurrence_ids"]["maxItems"], body["occurrence_ids"]["uniqueItems"]) == (
        500,
        True,
    )
