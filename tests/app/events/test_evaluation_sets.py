"""Evaluation sets (issue "People teach the models"): people's identifications frozen under a
name, and two versions of a model scored against them, figures checked against a hand
calculation on the pond scene (``tests/support/evaluation_scene.py``)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from tests.support.accounts import Account, upload
from tests.support.evaluation_scene import (
    POND_TAXA,
    Pond,
    new_set,
    pond,
    scores,
    second_version,
)
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.refusals import answered_as_missing, refused
from tests.support.scenes import (
    API,
    event_of,
    find_taxon,
    import_md,
    import_taxa,
    new_deployment,
    occurrences_of,
    track_all,
)
from trapline.imaging.synthetic import light_trap_jpeg


@pytest.fixture
def scene(proto: Protocol) -> Pond:
    return pond(proto)


def _taxa(found: dict[str, object]) -> dict[str, tuple[object, ...]]:
    rows = found["taxa"]
    assert isinstance(rows, list)
    return {
        r["scientific_name"]: (r["members"], r["support"], r["predicted"], r["correct"],
                               r["precision"], r["recall"])
        for r in rows
    }  # fmt: skip


def test_two_versions_scored_on_one_set_match_the_hand_calculation(
    proto: Protocol, scene: Pond
) -> None:
    """The set freezes each box's latest identification not withdrawn: A cin, B cin, C alba,
    D alba (size 4); and the reviewed boxes of their photos: E rejected, J confirmed, G drawn.

    Version 1 (threshold 0.2) ran on all three photos, so it saw all 4:
    A->cin (right), B->alba (wrong), C->cin (wrong), D->alba (right): accuracy 2/4 = 0.5.
    Top-5: every truth is among the two ranked labels: 4/4 = 1.0.
    cin: support 2 (A, B), predicted 2 (A, C), correct 1 (A): precision 1/2, recall 1/2.
    alba: support 2 (C, D), predicted 2 (B, D), correct 1 (D): precision 1/2, recall 1/2.
    Boxes: true ones A, B, C, D, J, G = 6; its boxes over 0.2 are A, B, C, D, E, J (F's 0.1
    is under): A B C D J found (5), E on the rejected E (1 false), G missed (1):
    precision 5/6, recall 5/6.

    Version 2 ran on frame-00 and frame-02 only: it saw A, B, D (3 of 4; C's photo not).
    A' overlaps A (IoU 121.6 / 134.4 = 0.90) -> cin (right); no box on B -> nothing (wrong);
    D' -> cin (wrong): accuracy 1/3. Top-5: A yes, B no, D yes (alba ranked second): 2/3.
    cin: support 2 (A, B), predicted 2 (A', D'), correct 1: precision 1/2, recall 1/2.
    alba: members 2, support 1 (D), predicted 0: precision none, recall 0/1 = 0.
    Boxes on its photos: true A, B, D, J = 4; A' and D' found (2), E' on the rejected E (1
    false), H where nobody said anything (unjudged, not counted), B and J missed (2):
    precision 2/3, recall 2/4.
    """
    made = new_set(proto, "Pond, all")
    assert (made["size"], made["reviewed"], made["note"]) == (4, 3, None)
    second_version(proto)
    one = scores(proto, made["id"], scene.slug, 1)
    assert (one["size"], one["seen"], one["correct"]) == (4, 4, 2)
    assert one["accuracy"] == pytest.approx(0.5)
    assert one["top5_accuracy"] == pytest.approx(1.0)
    assert one["threshold"] == pytest.approx(0.2)
    assert _taxa(one) == {
        "Ardea cinerea": (2, 2, 2, 1, 0.5, 0.5),
        "Ardea alba": (2, 2, 2, 1, 0.5, 0.5),
    }
    cells = {(c["scientific_name"], c["predicted"]): c["count"] for c in one["confusion"]}
    assert cells == {
        ("Ardea cinerea", "Ardea cinerea"): 1, ("Ardea cinerea", "Ardea alba"): 1,
        ("Ardea alba", "Ardea cinerea"): 1, ("Ardea alba", "Ardea alba"): 1,
    }  # fmt: skip
    boxes = one["boxes"]
    assert (boxes["identified"], boxes["confirmed"], boxes["rejected"], boxes["drawn"]) == (
        4,
        1,
        1,
        1,
    )
    assert (boxes["true_positives"], boxes["false_positives"], boxes["misses"]) == (5, 1, 1)
    assert boxes["unjudged"] == 0
    assert boxes["precision"] == pytest.approx(5 / 6)
    assert boxes["recall"] == pytest.approx(5 / 6)

    two = scores(proto, made["id"], scene.slug, 2)
    assert (two["size"], two["seen"], two["correct"]) == (4, 3, 1)
    assert two["accuracy"] == pytest.approx(1 / 3)
    assert two["top5_accuracy"] == pytest.approx(2 / 3)
    assert _taxa(two) == {
        "Ardea cinerea": (2, 2, 2, 1, 0.5, 0.5),
        "Ardea alba": (2, 1, 0, 0, None, 0.0),
    }
    cells = {(c["scientific_name"], c["predicted"]): c["count"] for c in two["confusion"]}
    assert cells == {
        ("Ardea cinerea", "Ardea cinerea"): 1, ("Ardea cinerea", ""): 1,
        ("Ardea alba", "Ardea cinerea"): 1,
    }  # fmt: skip
    boxes = two["boxes"]
    assert (boxes["true_positives"], boxes["false_positives"], boxes["misses"]) == (2, 1, 2)
    assert boxes["unjudged"] == 1
    assert boxes["precision"] == pytest.approx(2 / 3)
    assert boxes["recall"] == pytest.approx(0.5)
    # Without a version: the newest.
    newest = api_get(proto, f"/evaluation-sets/{made['id']}/scores", pipeline=scene.slug)
    assert (newest["version"], newest["seen"]) == (2, 3)


def test_a_frozen_set_keeps_its_members_when_identifications_change(
    proto: Protocol, scene: Pond
) -> None:
    made = new_set(proto, "Frozen")
    before = scores(proto, made["id"], scene.slug, 1)
    (c_mark,) = api_get(
        proto, f"/occurrences/{_occurrence_of(proto, scene.boxes['C'])}/identifications"
    )
    api_post(proto, f"/identifications/{c_mark['id']}/withdraw", {})
    api_post(
        proto, f"/annotations/{scene.boxes['B']}/identifications", {"taxon_id": scene.alba}, 201
    )
    after = scores(proto, made["id"], scene.slug, 1)
    assert after == before
    assert api_get(proto, f"/evaluation-sets/{made['id']}")["size"] == 4
    # A set frozen now sees what people say now: C's withdrawn, B named alba.
    now = new_set(proto, "Now")
    assert now["size"] == 3
    assert _taxa(scores(proto, now["id"], scene.slug, 1))["Ardea alba"][:4] == (2, 2, 2, 2)


def test_an_individual_whose_latest_word_is_a_rejection_is_left_out(
    proto: Protocol, scene: Pond
) -> None:
    """A person who rejects an individual they named earlier takes it out of the next set:
    its older name does not stand in for the rejection."""
    c = _occurrence_of(proto, scene.boxes["C"])
    api_post(proto, f"/occurrences/{c}/identifications", {"rejected": "nothing_there"}, 201)
    assert new_set(proto, "After the rejection")["size"] == 3


def _occurrence_of(proto: Protocol, annotation_id: int) -> int:
    found = api_get(proto, f"/projects/{proto.project_id}/identifications/unplaced")
    assert found["count"] == 0
    events = api_get(proto, f"/projects/{proto.project_id}/occurrences", limit=100)["results"]
    (held,) = [o["id"] for o in events if o["best_detection_id"] == annotation_id]
    return int(held)


def test_a_set_is_narrowed_to_a_deployment_dates_and_taxa(proto: Protocol, scene: Pond) -> None:
    albas = new_set(proto, "Egrets", taxa=["Ardea alba"])
    assert (albas["size"], albas["taxa"]) == (2, ["Ardea alba"])
    genus = new_set(proto, "Ardea", taxa=["ardea"])  # any case; and the taxa under it
    assert genus["size"] == 4
    day = new_set(proto, "Second night", since="2024-03-02", until="2024-03-02")
    assert (day["size"], day["reviewed"]) == (1, 1)  # C, and G drawn beside it
    here = new_set(proto, "Pond only", deployment_id=scene.deployment)
    assert here["size"] == 4
    listed = api_get(proto, f"/projects/{proto.project_id}/evaluation-sets")
    assert [s["name"] for s in listed["results"]] == [
        "Pond only",
        "Second night",
        "Ardea",
        "Egrets",
    ]


def test_a_set_of_a_taxon_nobody_identified_is_empty_and_says_so(
    proto: Protocol, scene: Pond
) -> None:
    made = new_set(proto, "Little egrets", taxa=["Egretta garzetta"])
    assert made["size"] == 0
    assert made["note"] == "nobody has identified anything of Egretta garzetta: the set is empty"
    found = scores(proto, made["id"], scene.slug, 1)
    assert (found["size"], found["seen"], found["accuracy"], found["taxa"]) == (0, 0, None, [])
    assert found["note"] == "the set is empty: there is nothing to score"


def test_bad_input_is_refused_naming_what_there_is(proto: Protocol, scene: Pond) -> None:
    made = new_set(proto, "Pond")
    url = f"{API}/evaluation-sets/{made['id']}/scores"
    unknown = proto.client.get(url, params={"pipeline": "nothing"}, headers=proto.headers)
    refused(unknown, 400, "pipeline: 'nothing' is not a pipeline of project", scene.slug)
    version = proto.client.get(
        url, params={"pipeline": scene.slug, "version": 7}, headers=proto.headers
    )
    refused(version, 400, f"version: '{scene.slug}' has no version 7", "(its versions: 1)")
    sets = f"{API}/projects/{proto.project_id}/evaluation-sets"
    again = proto.client.post(sets, json={"name": "Pond"}, headers=proto.headers)
    refused(again, 409, "has an evaluation set named 'Pond'")
    taxon = proto.client.post(
        sets, json={"name": "x", "taxa": ["Nothing here"]}, headers=proto.headers
    )
    refused(taxon, 400, "taxa: not in the project's taxa list: 'Nothing here'")
    dates = {"name": "x", "since": "2024-03-05", "until": "2024-03-01"}
    refused(
        proto.client.post(sets, json=dates, headers=proto.headers),
        400,
        "until: 2024-03-01 is before",
    )
    place = proto.client.post(
        sets, json={"name": "x", "deployment_id": 10**9}, headers=proto.headers
    )
    refused(place, 400, "deployment_id: 1000000000 is not a deployment of project")
    refused(proto.client.post(sets, json={"name": ""}, headers=proto.headers), 400, "name")
    # A date is ISO 8601 text: a number (a Unix time to pydantic) is refused.
    for day in (0, "0", 1709251200):
        numbered = proto.client.post(sets, json={"name": "x", "since": day}, headers=proto.headers)
        assert numbered.status_code == 400, numbered.text
        assert "ISO 8601 date" in numbered.text


def test_a_foreign_projects_set_answers_as_a_missing_one(
    proto: Protocol, scene: Pond, make_account: Callable[..., Account]
) -> None:
    made = new_set(proto, "Pond")
    stranger = proto.as_(make_account("eve"))
    for path in ("/evaluation-sets/{}", "/evaluation-sets/{}/scores?pipeline=" + scene.slug):
        foreign = stranger.client.get(API + path.format(made["id"]), headers=stranger.headers)
        missing = stranger.client.get(API + path.format(10**12), headers=stranger.headers)
        assert foreign.status_code == 404, foreign.text
        assert answered_as_missing(foreign, missing, made["id"], 10**12)
    listing = stranger.client.get(
        f"{API}/projects/{proto.project_id}/evaluation-sets", headers=stranger.headers
    )
    assert listing.status_code == 404
    create = stranger.client.post(
        f"{API}/projects/{proto.project_id}/evaluation-sets", json={"name": "mine"},
        headers=stranger.headers,
    )  # fmt: skip
    assert create.status_code == 404


def test_scores_download_as_csv(proto: Protocol, scene: Pond) -> None:
    made = new_set(proto, "Pond")
    url = f"{API}/evaluation-sets/{made['id']}/scores"
    params = {"pipeline": scene.slug, "version": 1, "format": "csv"}
    answer = proto.client.get(url, params=params, headers=proto.headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    name = f"evaluation-{made['id']}-{scene.slug}-v1.csv"
    assert answer.headers["content-disposition"] == f'attachment; filename="{name}"'
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert {r["scientific_name"]: (r["support"], r["precision"], r["recall"]) for r in rows} == {
        "Ardea cinerea": ("2", "0.5000", "0.5000"),
        "Ardea alba": ("2", "0.5000", "0.5000"),
    }
    params["format"] = "confusion-csv"
    table = proto.client.get(url, params=params, headers=proto.headers)
    assert table.status_code == 200
    cells = list(csv.reader(io.StringIO(table.text)))
    assert cells[0] == ["scientific_name", "predicted", "count"]
    assert sorted(cells[1:]) == [
        ["Ardea alba", "Ardea alba", "1"], ["Ardea alba", "Ardea cinerea", "1"],
        ["Ardea cinerea", "Ardea alba", "1"], ["Ardea cinerea", "Ardea cinerea", "1"],
    ]  # fmt: skip


def test_viewers_score_sets_and_members_freeze_them(
    proto: Protocol, scene: Pond, make_account: Callable[..., Account]
) -> None:
    made = new_set(proto, "Pond")
    viewer = proto.as_(make_account("vic"))
    proto.add_member(viewer.account, "viewer")
    assert scores(viewer, made["id"], scene.slug, 1)["correct"] == 2
    refused_create = viewer.client.post(
        f"{API}/projects/{proto.project_id}/evaluation-sets",
        json={"name": "mine"},
        headers=viewer.headers,
    )
    assert refused_create.status_code == 403, refused_create.text
    member = proto.as_(make_account("mia"))
    proto.add_member(member.account, "member")
    assert new_set(member, "Mia's")["size"] == 4


def test_an_individual_across_midnight_is_taken_by_its_latest_identifications_date(
    proto: Protocol,
) -> None:
    """A bird seen at 23:59:50 and 00:00:10 (one sequence, one occurrence): named a grey heron
    on the first photo, then a great egret on the second. A set of the first day alone does
    not take the heron: the individual's word is the egret's, on the second day."""
    assert import_taxa(proto, POND_TAXA).status_code == 200
    place = new_deployment(proto, "Night")
    midnight = datetime(2024, 3, 2)
    files = [
        (
            f"frame-{n}.jpg",
            light_trap_jpeg(3, width=640, height=480, captured_at=at, quality=80 + n),
        )
        for n, at in enumerate((midnight - timedelta(seconds=10), midnight + timedelta(seconds=10)))
    ]
    answer = upload(proto.client, proto.account, proto.project_id, *files, deployment_id=str(place))
    assert answer["status"] == 201, answer
    box = {"category": "1", "conf": 0.9, "bbox": [0.3, 0.3, 0.2, 0.2]}
    import_md(proto, {"Night/frame-0.jpg": [box], "Night/frame-1.jpg": [box]})
    track_all(proto)
    (bird,) = occurrences_of(proto, event_of(proto, place))
    assert bird["detection_count"] == 2
    boxes = api_get(proto, f"/projects/{proto.project_id}/annotations", type="bounding_box")
    first, second = sorted(a["id"] for a in boxes["results"])
    for annotation, name in ((first, "Ardea cinerea"), (second, "Ardea alba")):
        body = {"taxon_id": find_taxon(proto, name)}
        api_post(proto, f"/annotations/{annotation}/identifications", body, 201)
    assert new_set(proto, "First day", until="2024-03-01")["size"] == 0
    second_day = new_set(proto, "Second day", since="2024-03-02")
    assert second_day["size"] == 1
    (member,) = scores(proto, second_day["id"], bird["pipeline"], 1)["taxa"]
    assert member["scientific_name"] == "Ardea alba"
