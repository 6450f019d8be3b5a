"""Taxa through the API: a list imported from CSV (bad files refused whole, with the rows'
outcomes, those with a problem first), labels mapped onto it, occurrences identified by people
(agreeing and disagreeing), the species view and a taxon's page, the type-ahead, the export read
back, a shared list, and a foreign caller answered as for a missing object."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.refusals import answered_as_missing
from tests.support.scenes import (
    API,
    TAXA_CSV,
    find_taxon,
    heron,
    heron_event,
    import_taxa,
    occurrences_of,
    species_rows,
)


@pytest.fixture
def herons(proto: Protocol) -> tuple[Protocol, dict[str, Any]]:
    """The heron scene tracked, with the taxa list imported: the bird's occurrence."""
    heron(proto)
    imported = import_taxa(proto, TAXA_CSV)
    assert imported.status_code == 200, imported.text
    assert imported.json()["added"] == 8
    (_, event) = heron_event(proto)
    bird = next(o for o in occurrences_of(proto, event) if o["detection_count"] == 10)
    return proto, bird


def test_labels_map_onto_taxa_and_the_species_view_counts_occurrences(
    herons: tuple[Protocol, dict[str, Any]],
) -> None:
    proto, bird = herons
    labels = api_get(proto, f"/projects/{proto.project_id}/labels")
    assert [(m["label"], m["kind"], m["occurrences"]) for m in labels["results"]] == [
        ("animal", None, 1),
        ("person", None, 1),
    ]
    assert (labels["count"], labels["next"]) == (2, None)
    first = api_get(proto, f"/projects/{proto.project_id}/labels", limit=1)
    assert [m["label"] for m in first["results"]] == ["animal"]
    second = proto.client.get(first["next"], headers=proto.headers).json()
    assert ([m["label"] for m in second["results"]], second["next"]) == (["person"], None)
    assert species_rows(proto) == [(None, 2, 11)]  # nothing maps yet
    aves = find_taxon(proto, "Aves")
    mapped = api_post(
        proto, f"/projects/{proto.project_id}/labels", {"label": "animal", "taxon_id": aves}
    )
    assert (mapped["kind"], mapped["taxon_id"], mapped["how"]) == ("taxon", aves, "person")
    api_post(proto, f"/projects/{proto.project_id}/labels", {"label": "person", "non_object": True})
    assert species_rows(proto) == [("Aves", 1, 10)]  # the person is no object: not counted
    (row,) = api_get(proto, f"/projects/{proto.project_id}/species")["results"]
    assert row["best_detection_id"] == bird["best_detection_id"]
    assert (row["first_night"], row["last_night"], row["deployments"]) == (
        "2024-03-01",
        "2024-03-01",
        1,
    )
    page = api_get(proto, f"/projects/{proto.project_id}/taxa/{aves}")
    assert page["occurrences"] == 1
    assert page["per_night"] == [{"night": "2024-03-01", "occurrences": 1}]
    assert page["per_hour"][21] == 1
    assert sum(page["per_hour"]) == 1
    assert page["recent_occurrence_ids"] == [bird["id"]]


def test_people_identify_agree_and_disagree_and_the_latest_word_determines(
    herons: tuple[Protocol, dict[str, Any]], make_account: Callable[..., Account]
) -> None:
    proto, bird = herons
    grey, egret = find_taxon(proto, "Ardea cinerea"), find_taxon(proto, "Ardea alba")
    mine = api_post(
        proto, f"/occurrences/{bird['id']}/identifications",
        {"taxon_id": grey, "comment": "grey neck"}, 201,
    )  # fmt: skip
    assert mine["taxon"]["scientific_name"] == "Ardea cinerea"
    occurrence = api_get(proto, f"/occurrences/{bird['id']}")
    assert occurrence["determination"] == {
        "label": "Ardea cinerea",
        "score": None,
        "by": "person",
        "rejected": None,
    }
    assert species_rows(proto)[0] == ("Ardea cinerea", 1, 10)
    assert species_rows(proto, rank="family")[0] == ("Ardeidae", 1, 10)

    ann, bob = make_account("ann"), make_account("bob")
    proto.add_member(ann, "member")
    proto.add_member(bob, "member")
    agreed = api_post(
        proto.as_(ann),
        f"/occurrences/{bird['id']}/identifications",
        {"agree_with": mine["id"]},
        201,
    )
    assert (agreed["taxon"]["id"], agreed["agreed_with"]) == (grey, str(mine["id"]))
    queue = api_get(proto, f"/projects/{proto.project_id}/identification-queue")
    assert bird["id"] not in [o["id"] for o in queue["results"]]  # identified, agreed
    api_post(proto.as_(bob), f"/occurrences/{bird['id']}/identifications", {"taxon_id": egret}, 201)
    queue = api_get(proto, f"/projects/{proto.project_id}/identification-queue")
    assert queue["results"][0]["id"] == bird["id"]  # people disagree: first in line
    assert species_rows(proto)[0] == ("Ardea alba", 1, 10)  # the latest word determines
    history = api_get(proto, f"/occurrences/{bird['id']}/identifications")
    assert [(i["user"], i["taxon"]["scientific_name"]) for i in history] == [
        ("Olive", "Ardea cinerea"),
        ("Ann", "Ardea cinerea"),
        ("Bob", "Ardea alba"),
    ]
    withdrawn = api_post(proto.as_(bob), f"/identifications/{history[2]['id']}/withdraw", {})
    assert withdrawn["determination"]["label"] == "Ardea cinerea"
    # Agreeing with the model needs the model's label mapped.
    refused = proto.client.post(
        f"{API}/occurrences/{bird['id']}/identifications",
        json={"agree_with": "model"},
        headers=proto.headers,
    )
    assert refused.status_code == 400
    assert "agree_with" in refused.json()["detail"]
    aves = find_taxon(proto, "Aves")
    api_post(proto, f"/projects/{proto.project_id}/labels", {"label": "animal", "taxon_id": aves})
    model = api_post(
        proto, f"/occurrences/{bird['id']}/identifications", {"agree_with": "model"}, 201
    )
    assert (model["taxon"]["id"], model["agreed_with"]) == (aves, "model")


def test_identifications_survive_a_new_tracking(herons: tuple[Protocol, dict[str, Any]]) -> None:
    from tests.support.scenes import track_all
    from trapline.db.tracking_due import project_events_due

    proto, bird = herons
    grey = find_taxon(proto, "Ardea cinerea")
    api_post(proto, f"/occurrences/{bird['id']}/identifications", {"taxon_id": grey}, 201)
    deployment, event = heron_event(proto)
    events = f"/deployments/{deployment}/events"
    assert [e["occurrences_pending"] for e in api_get(proto, events)["results"]] == [False]
    with proto.platform.db.write() as repos:
        project_events_due(repos.session, proto.project_id)
    assert [e["occurrences_pending"] for e in api_get(proto, events)["results"]] == [True]
    assert track_all(proto) == 1
    assert [e["occurrences_pending"] for e in api_get(proto, events)["results"]] == [False]
    _, event = heron_event(proto)
    again = next(o for o in occurrences_of(proto, event) if o["detection_count"] == 10)
    assert again["id"] == bird["id"]  # the same detections: the same occurrence
    assert again["determination"]["label"] == "Ardea cinerea"
    assert species_rows(proto)[0] == ("Ardea cinerea", 1, 10)


def test_a_foreign_caller_is_answered_as_for_a_missing_object(
    herons: tuple[Protocol, dict[str, Any]], make_account: Callable[..., Account]
) -> None:
    proto, bird = herons
    stranger = proto.as_(make_account("eve"))
    grey = find_taxon(proto, "Ardea cinerea")
    for path, body in (
        ("/occurrences/{}/identifications", {"taxon_id": grey}),
        ("/annotations/{}/identifications", {"taxon_id": grey}),
    ):
        target = bird["id"] if "occurrences" in path else bird["best_detection_id"]
        foreign = stranger.client.post(
            f"{API}{path.format(target)}", json=body, headers=stranger.headers
        )
        missing = stranger.client.post(
            f"{API}{path.format(10**12)}", json=body, headers=stranger.headers
        )
        assert foreign.status_code == missing.status_code == 404
        assert answered_as_missing(foreign, missing, target, 10**12), (foreign.text, missing.text)
    for path in (
        "species", "labels", f"taxa/{grey}", "taxa/search?q=ard", "taxa-list", "taxa",
        "taxa/export", "identification-queue",
    ):  # fmt: skip
        answer = stranger.client.get(
            f"{API}/projects/{proto.project_id}/{path}", headers=stranger.headers
        )
        assert answer.status_code == 404, path
    history = stranger.client.get(
        f"{API}/occurrences/{bird['id']}/identifications", headers=stranger.headers
    )
    assert history.status_code == 404
    mine = api_post(proto, f"/occurrences/{bird['id']}/identifications", {"taxon_id": grey}, 201)
    for method, path, body in (
        ("post", f"/projects/{proto.project_id}/labels", {"label": "animal", "non_object": True}),
        ("put", f"/projects/{proto.project_id}/taxa-list", {"taxa_list_id": 1}),
        ("post", f"/identifications/{mine['id']}/withdraw", {}),
    ):
        answer = stranger.client.request(
            method, f"{API}{path}", json=body, headers=stranger.headers
        )
        assert answer.status_code == 404, path
    assert import_taxa(stranger, "scientific_name,rank\nAnas,genus\n").status_code == 404
    # A viewer sees, and changes nothing.
    viewer = proto.as_(make_account("vic"))
    proto.add_member(viewer.account, "viewer")
    assert species_rows(viewer)
    for path, body in (
        (f"/projects/{proto.project_id}/labels", {"label": "animal", "non_object": True}),
        (f"/occurrences/{bird['id']}/identifications", {"taxon_id": grey}),
        (f"/identifications/{mine['id']}/withdraw", {}),
    ):
        answer = viewer.client.post(f"{API}{path}", json=body, headers=viewer.headers)
        assert answer.status_code == 403, path
    assert import_taxa(viewer, "scientific_name,rank\nAnas,genus\n").status_code == 403
    # A taxon of another project's list is not one of this project's.
    other = proto.client.post(f"{API}/projects/", json={"name": "Elsewhere"}, headers=proto.headers)
    elsewhere = proto.in_project(int(other.json()["id"]))
    assert import_taxa(elsewhere, "scientific_name,rank\nVespa crabro,species\n").status_code == 200
    hornet = find_taxon(elsewhere, "Vespa crabro")
    refused = proto.client.post(
        f"{API}/occurrences/{bird['id']}/identifications",
        json={"taxon_id": hornet},
        headers=proto.headers,
    )
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("taxon_id:")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("scientific_name,rank,parent\nA,genus,B\nB,genus,A\n", "cycle"),
        ("scientific_name,rank\nAves,clade\n", "rank"),
        ("scientific_name,rank,parent\nArdea,genus,Ardeidaee\n", "parent missing"),
        ("scientific_name,rank\nAves,class\naves,class\n", "duplicate"),
        ('scientific_name,rank\n=HYPERLINK("x"),species\n', "formula"),
    ],
)
def test_a_bad_taxa_file_is_refused_whole_with_every_rows_outcome(
    proto: Protocol, text: str, problem: str
) -> None:
    assert import_taxa(proto, "scientific_name,rank\nInsecta,class\n").status_code == 200
    header, rest = text.split("\n", 1)
    good = "Lepidoptera,order" + "," * (header.count(",") - 1)
    answer = import_taxa(proto, f"{header}\n{good}\n{rest}")
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert "nothing imported" in body["detail"]
    assert any(problem in (r["message"] or "") for r in body["rows"]), body["rows"]
    assert {r["status"] for r in body["rows"]} >= {"error"}
    assert body["rows_not_listed"] == 0
    listed = api_get(proto, f"/projects/{proto.project_id}/taxa")
    assert [t["scientific_name"] for t in listed["results"]] == ["Insecta"]  # no half import


def test_a_refusal_lists_the_first_1000_rows_with_a_problem_and_counts_the_rest(
    proto: Protocol,
) -> None:
    rows = [f"Genus{n:04d},{'genus' if n % 3 == 0 else 'kind'}" for n in range(1, 1801)]
    answer = import_taxa(proto, "scientific_name,rank\n" + "\n".join(rows) + "\n")
    assert answer.status_code == 400, answer.text[:300]
    body = answer.json()
    assert body["detail"].startswith("nothing imported: 1,200 of 1,800 rows have problems")
    assert len(body["rows"]) == 1_000
    assert {r["status"] for r in body["rows"]} == {"error"}
    assert [r["row"] for r in body["rows"][:3]] == [1, 2, 4]  # in file order
    assert body["rows"][-1]["row"] == 1_499  # the 1,000th refused row
    assert body["rows_not_listed"] == 800  # 200 refused and 600 good rows left out
    assert api_get(proto, f"/projects/{proto.project_id}/taxa-list") is None


def test_a_50_mb_taxa_file_is_refused_before_it_is_read(proto: Protocol) -> None:
    big = b"scientific_name,rank\n" + b"Aves,class\n" * (50 * 2**20 // 11)
    answer = import_taxa(proto, big)
    assert answer.status_code == 413, answer.text
    assert "limit" in answer.json()["detail"]
    assert api_get(proto, f"/projects/{proto.project_id}/taxa-list") is None


def test_type_ahead_export_round_trip_and_a_shared_list(
    herons: tuple[Protocol, dict[str, Any]], make_account: Callable[..., Account]
) -> None:
    proto, _ = herons
    found = api_get(proto, f"/projects/{proto.project_id}/taxa/search", q="ARD")
    assert [t["scientific_name"] for t in found] == [
        "Ardea", "Ardeidae", "Ardea alba", "Ardea cinerea",
    ]  # fmt: skip
    by_vernacular = api_get(proto, f"/projects/{proto.project_id}/taxa/search", q="grey h")
    assert [t["scientific_name"] for t in by_vernacular] == ["Ardea cinerea"]
    assert by_vernacular[0]["taxon_id"] == "https://www.gbif.org/species/2480830"
    exported = proto.client.get(
        f"{API}/projects/{proto.project_id}/taxa/export", headers=proto.headers
    )
    assert exported.status_code == 200
    again = import_taxa(proto, exported.text)
    assert again.status_code == 200, again.text
    assert (again.json()["added"], again.json()["updated"], again.json()["unchanged"]) == (0, 0, 8)
    # Ann views this project and owns another: hers counts under this list, which only
    # this project's managers edit.
    ann = make_account("ann")
    proto.add_member(ann, "viewer")
    other = proto.client.post(f"{API}/projects/", json={"name": "Pond 2"}, headers=ann.headers)
    second = proto.as_(ann).in_project(int(other.json()["id"]))
    taxa_list = api_get(proto, f"/projects/{proto.project_id}/taxa-list")
    shared = second.client.put(
        f"{API}/projects/{second.project_id}/taxa-list",
        json={"taxa_list_id": taxa_list["id"]},
        headers=second.headers,
    )
    assert shared.status_code == 200, shared.text
    assert find_taxon(second, "Ardea alba") == find_taxon(proto, "Ardea alba")
    refused = import_taxa(second, "scientific_name,rank\nAnas,genus\n")
    assert refused.status_code == 403, refused.text
    # A list of a project she cannot see is not found for her.
    hidden = proto.client.post(f"{API}/projects/", json={"name": "Private"}, headers=proto.headers)
    private = proto.in_project(int(hidden.json()["id"]))
    assert import_taxa(private, "scientific_name,rank\nAnas,genus\n").status_code == 200
    private_list = api_get(private, f"/projects/{private.project_id}/taxa-list")
    foreign = second.client.put(
        f"{API}/projects/{second.project_id}/taxa-list",
        json={"taxa_list_id": private_list["id"]},
        headers=second.headers,
    )
    missing = second.client.put(
        f"{API}/projects/{second.project_id}/taxa-list",
        json={"taxa_list_id": 10**12},
        headers=second.headers,
    )
    assert foreign.status_code == missing.status_code == 404


def test_a_second_import_changes_only_what_it_gives_and_moves_subtrees(proto: Protocol) -> None:
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    moved = import_taxa(
        proto,
        "scientific_name,rank,parent,vernacular_name:fr\n"
        "Egretta,genus,Ardeidae,\n"
        "Ardea alba,species,Egretta,Grande Aigrette\n"
        "Ardea cinerea,species,,Héron cendré\n",
    )
    assert moved.status_code == 200, moved.text
    assert [(r["name"], r["status"]) for r in moved.json()["rows"]] == [
        ("Egretta", "added"),
        ("Ardea alba", "updated"),
        ("Ardea cinerea", "updated"),
    ]
    egret = api_get(proto, f"/projects/{proto.project_id}/taxa/search", q="grande")
    assert egret[0]["vernacular_names"] == {"en": "Great Egret", "fr": "Grande Aigrette"}
    assert egret[0]["gbif_key"] == 2480816  # kept: the file gave none
    egretta = find_taxon(proto, "Egretta")
    assert egret[0]["parent_id"] == egretta
    assert egret[0]["lineage"][-1] == egretta
    grey = api_get(proto, f"/projects/{proto.project_id}/taxa/search", q="héron")
    assert grey[0]["parent_id"] == find_taxon(proto, "Ardea")  # no parent given: kept
    # Moving a genus moves what is under it.
    regrouped = import_taxa(
        proto,
        "scientific_name,rank,parent\nEgrettidae,family,Pelecaniformes\nArdea,genus,Egrettidae\n",
    )
    assert regrouped.status_code == 200, regrouped.text
    grey = api_get(proto, f"/projects/{proto.project_id}/taxa/search", q="héron")
    assert find_taxon(proto, "Egrettidae") in grey[0]["lineage"]
    assert find_taxon(proto, "Ardeidae") not in grey[0]["lineage"]
    # A name replaced is no longer found by; the new one is, and the other language kept.
    renamed = import_taxa(
        proto, "scientific_name,rank,vernacular_name:en\nArdea cinerea,species,Ashy Heron\n"
    )
    assert renamed.status_code == 200, renamed.text
    assert api_get(proto, f"/projects/{proto.project_id}/taxa/search", q="grey h") == []
    ashy = api_get(proto, f"/projects/{proto.project_id}/taxa/search", q="ashy")
    assert [(t["scientific_name"], t["vernacular_names"]) for t in ashy] == [
        ("Ardea cinerea", {"en": "Ashy Heron", "fr": "Héron cendré"})
    ]
    assert [t["scientific_name"] for t in api_get(
        proto, f"/projects/{proto.project_id}/taxa/search", q="héron"
    )] == ["Ardea cinerea"]  # fmt: skip


def test_the_best_crop_is_served_through_the_api(
    herons: tuple[Protocol, dict[str, Any]], make_account: Callable[..., Account]
) -> None:
    proto, bird = herons
    crop = proto.client.get(
        f"{API}/annotations/{bird['best_detection_id']}/crop",
        headers=proto.headers,
        follow_redirects=False,
    )
    assert crop.status_code == 307
    image = proto.client.get(crop.headers["location"])
    assert image.status_code == 200
    assert image.content[:2] == b"\xff\xd8"  # a JPEG
    stranger = make_account("eve")
    foreign = proto.client.get(
        f"{API}/annotations/{bird['best_detection_id']}/crop", headers=stranger.headers
    )
    assert foreign.status_code == 404


def test_a_category_maps_gbif_keys_and_ranks_map_labels_without_a_person(
    proto: Protocol,
) -> None:
    from datetime import timedelta

    from tests.support.protocol import LABELS, detection, pipeline_config, success
    from tests.support.scenes import add_frames, event_of, new_deployment, track_all

    config = pipeline_config()
    config["algorithms"][1]["category_map"]["data"] = [
        {"label": "moth", "index": 0, "gbif_key": 797},
        {"label": "beetle", "index": 1, "taxon_rank": "ORDER", "scientific_name": "Coleoptera"},
        {"label": "fly", "index": 2},
    ]
    assert proto.register(config).status_code in (200, 201)
    trap = new_deployment(proto, "Sheet", "UTC")
    photos = add_frames(proto, trap, 2, timedelta(minutes=1), size=(160, 120))
    job = proto.job_that_runs(params={"max_attempts": 1})
    tasks = {int(t["image_id"]): t for t in proto.claim(job["id"], 100)}
    items = [
        success(
            tasks[i],
            detection(tasks[i], bbox=(10, 12, 60, 70), label="moth", scores=[0.9, 0.05, 0.05]),
            detection(tasks[i], bbox=(80, 20, 120, 90), label="beetle", scores=[0.1, 0.8, 0.1]),
            detection(tasks[i], bbox=(20, 80, 40, 110), label="fly", scores=[0.1, 0.1, 0.8]),
        )
        for i in photos
    ]
    assert {a["status"] for a in proto.post(job["id"], *items)} == {"saved"}
    assert LABELS == ["moth", "beetle", "fly"]
    assert track_all(proto) == 1
    assert len(occurrences_of(proto, event_of(proto, trap))) == 3
    imported = import_taxa(
        proto,
        "scientific_name,rank,parent,gbif_key\n"
        "Insecta,class,,216\nLepidoptera,order,Insecta,797\nColeoptera,order,Insecta,\n"
        "Coleoptera,family,Insecta,\n",
    )
    assert imported.status_code == 200, imported.text
    listed = api_get(proto, f"/projects/{proto.project_id}/labels")["results"]
    labels = {m["label"]: m for m in listed}
    assert (labels["moth"]["taxon_id"], labels["moth"]["how"]) == (
        _taxon_at(proto, "Lepidoptera", "order"), "category_map",
    )  # fmt: skip
    assert (labels["beetle"]["taxon_id"], labels["beetle"]["how"]) == (
        _taxon_at(proto, "Coleoptera", "order"), "category_map",
    )  # fmt: skip
    assert labels["fly"]["kind"] is None
    assert species_rows(proto) == [("Coleoptera", 1, 2), ("Lepidoptera", 1, 2), (None, 1, 2)]


def _taxon_at(proto: Protocol, name: str, rank: str) -> int:
    found = api_get(proto, f"/projects/{proto.project_id}/taxa/search", q=name)
    (taxon,) = [t for t in found if t["scientific_name"] == name and t["rank"] == rank]
    return int(taxon["id"])
