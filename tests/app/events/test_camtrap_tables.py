"""camtrapR's tables from the API (record table, camera operation, detection history; JSON
and CSV), on the scene of tests/support/camtrap_scene.py: each compared with the numbers
camtrapR's own functions give on that scene (tests/support/camtrap_scene.R holds the R
commands, and their answers as comments); bad input answered 400 naming the field; a taxon
never recorded answered with zeros and a warning."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support.camtrap_scene import CamtrapScene, build_camtrap_scene, csv_of
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.refusals import answered_as_missing
from tests.support.scenes import API, TAXA_CSV, find_taxon, import_taxa
from tests.support.shared_scenes import Shared, SharedScenes, shared_scenes


@pytest.fixture(scope="module")
def scenes(request: pytest.FixtureRequest) -> Iterator[SharedScenes[CamtrapScene]]:
    """The scene the tests that only read it share (each database's built once)."""
    yield from shared_scenes(request, build_camtrap_scene)


@pytest.fixture
def scene(proto: Protocol) -> CamtrapScene:
    """The scene of a test that changes it."""
    return build_camtrap_scene(proto)


def _records(proto: Protocol, **params: Any) -> list[tuple[Any, ...]]:
    """The record table as (station, species, date-time, delta seconds, file)."""
    table = api_get(proto, f"/projects/{proto.project_id}/record-table", **params)
    assert table["count"] == len(table["results"])
    return [
        (r["Station"], r["Species"], r["DateTimeOriginal"], r["delta.time.secs"], r["FileName"])
        for r in table["results"]
    ]


def test_record_table_by_default_is_camtraprs(shared: Shared[CamtrapScene]) -> None:
    proto, scene = shared.proto, shared.scene
    # camtrapR's default (removeDuplicateRecords = TRUE): the second heron of a1's photo and
    # the second egret of b1's are not records of their own.
    assert _records(proto) == [
        ("A", "Ardea alba", "2024-03-01 20:50:00", 0, "a-0301-2050.jpg"),
        ("A", "Ardea alba", "2024-03-04 09:00:00", 216600, "a-0304-0900.jpg"),
        ("A", "Ardea cinerea", "2024-03-01 20:00:00", 0, "a-0301-2000.jpg"),
        ("A", "Ardea cinerea", "2024-03-01 20:20:00", 1200, "a-0301-2020.jpg"),
        ("A", "Ardea cinerea", "2024-03-01 20:40:00", 1200, "a-0301-2040.jpg"),
        ("A", "Ardea cinerea", "2024-03-02 06:00:00", 33600, "a-0302-0600.jpg"),
        ("B", "Ardea alba", "2024-03-02 21:00:00", 0, "b-0302-2100.jpg"),
        ("B", "Ardea alba", "2024-03-02 21:10:00", 600, "b-0302-2110.jpg"),
        ("B", "Ardea cinerea", "2024-03-03 22:00:00", 0, "b-0303-2200.jpg"),
    ]
    table = api_get(proto, f"/projects/{proto.project_id}/record-table")
    assert table["remove_duplicate_records"] is True
    assert [r["occurrence_id"] for r in table["results"]][2] == scene.occurrences["a1"]


def test_record_table_with_every_occurrence(shared: Shared[CamtrapScene]) -> None:
    proto = shared.proto
    found = _records(proto, remove_duplicate_records="false")
    assert len(found) == 11
    # Each of a second has the delta of the first of it.
    assert found[2:5] == [
        ("A", "Ardea cinerea", "2024-03-01 20:00:00", 0, "a-0301-2000.jpg"),
        ("A", "Ardea cinerea", "2024-03-01 20:00:00", 0, "a-0301-2000.jpg"),
        ("A", "Ardea cinerea", "2024-03-01 20:20:00", 1200, "a-0301-2020.jpg"),
    ]
    assert found[7:10] == [
        ("B", "Ardea alba", "2024-03-02 21:00:00", 0, "b-0302-2100.jpg"),
        ("B", "Ardea alba", "2024-03-02 21:00:00", 0, "b-0302-2100.jpg"),
        ("B", "Ardea alba", "2024-03-02 21:10:00", 600, "b-0302-2110.jpg"),
    ]
    # With an interval, duplicates are one record whatever is asked, as in camtrapR.
    assert len(_records(proto, min_delta_minutes=30, remove_duplicate_records="false")) == 6


def test_record_table_30_minutes_after_the_last_record(shared: Shared[CamtrapScene]) -> None:
    proto = shared.proto
    # a2 is 20 min after a1 and a3 20 after a2: neither is a record; b2 is 10 after b1. a5's
    # delta is to a3, the sighting before it (not to a1, the record before it).
    assert _records(proto, min_delta_minutes=30) == [
        ("A", "Ardea alba", "2024-03-01 20:50:00", 0, "a-0301-2050.jpg"),
        ("A", "Ardea alba", "2024-03-04 09:00:00", 216600, "a-0304-0900.jpg"),
        ("A", "Ardea cinerea", "2024-03-01 20:00:00", 0, "a-0301-2000.jpg"),
        ("A", "Ardea cinerea", "2024-03-02 06:00:00", 33600, "a-0302-0600.jpg"),
        ("B", "Ardea alba", "2024-03-02 21:00:00", 0, "b-0302-2100.jpg"),
        ("B", "Ardea cinerea", "2024-03-03 22:00:00", 0, "b-0303-2200.jpg"),
    ]


def test_record_table_30_minutes_after_the_last_independent_record(
    shared: Shared[CamtrapScene],
) -> None:
    proto = shared.proto
    # a3 is 40 min after a1, the last record kept: a record of its own.
    found = _records(proto, min_delta_minutes=30, delta_compared_to="lastIndependentRecord")
    grey_at_a = [r[2:4] for r in found if r[:2] == ("A", "Ardea cinerea")]
    assert grey_at_a == [
        ("2024-03-01 20:00:00", 0),
        ("2024-03-01 20:40:00", 2400),
        ("2024-03-02 06:00:00", 33600),
    ]
    assert len(found) == 7


def test_record_table_row_and_csv(shared: Shared[CamtrapScene]) -> None:
    proto, scene = shared.proto, shared.scene
    first = api_get(proto, f"/projects/{proto.project_id}/record-table", min_delta_minutes=30)
    assert first["pipeline"]
    assert first["delta_compared_to"] == "lastRecord"
    assert first["results"][3] == {
        "Station": "A", "Species": "Ardea cinerea", "DateTimeOriginal": "2024-03-02 06:00:00",
        "Date": "2024-03-02", "Time": "06:00:00", "delta.time.secs": 33600,
        "delta.time.mins": 560, "delta.time.hours": 9.3, "delta.time.days": 0.4,
        "Directory": "A", "FileName": "a-0302-0600.jpg", "deployment_id": scene.a,
        "taxon_id": scene.taxa["Ardea cinerea"], "occurrence_id": scene.occurrences["a5"],
        "utc_offset_minutes": 180,
    }  # fmt: skip
    answer = proto.client.get(
        f"{API}/projects/{proto.project_id}/record-table",
        params={"min_delta_minutes": 30, "format": "csv"},
        headers=proto.headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [dict(r) for r in rows] == [
        {k: "" if v is None else str(v) for k, v in r.items()} for r in first["results"]
    ]


def test_record_table_filters(shared: Shared[CamtrapScene]) -> None:
    proto, scene = shared.proto, shared.scene
    only_b = _records(proto, deployment=scene.b, min_delta_minutes=30)
    assert [r[:3] for r in only_b] == [
        ("B", "Ardea alba", "2024-03-02 21:00:00"),
        ("B", "Ardea cinerea", "2024-03-03 22:00:00"),
    ]
    alba = _records(proto, taxon=scene.taxa["Ardea alba"], since="2024-03-02")
    assert [r[2] for r in alba] == ["2024-03-04 09:00:00", "2024-03-02 21:00:00",
                                    "2024-03-02 21:10:00"]  # fmt: skip
    # The genus takes both species.
    assert len(_records(proto, taxon=scene.taxa["Ardea"])) == 9
    assert len(_records(proto, taxon=scene.taxa["Ardea"], remove_duplicate_records=False)) == 11


def _operation(proto: Protocol, **params: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
    found = api_get(proto, f"/projects/{proto.project_id}/camera-operation", **params)
    return found["days"], [(r["station"], *r["operation"]) for r in found["rows"]]


def test_camera_operation_from_photos_and_deployment_dates(shared: Shared[CamtrapScene]) -> None:
    proto, scene = shared.proto, shared.scene
    days, rows = _operation(proto)
    assert days == ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"]
    # A: set 1 to 4 March, no photo on the 3rd; B: no dates, photos on the 2nd and 3rd.
    # Setup and retrieval days are half days, as camtrapR counts them.
    assert rows == [("A", 0.5, 1, 0, 0.5), ("B", None, 0.5, 0.5, None)]
    assert _operation(proto, empty_days="operating")[1] == [
        ("A", 0.5, 1, 1, 0.5),
        ("B", None, 0.5, 0.5, None),
    ]
    assert _operation(proto, since="2024-03-03") == (
        ["2024-03-03", "2024-03-04"],
        [("A", 0, 0.5), ("B", 0.5, None)],
    )
    whole = api_get(proto, f"/projects/{proto.project_id}/camera-operation", setup_days="whole")
    assert whole["setup_days"] == "whole"
    assert [r["operation"] for r in whole["rows"]] == [[1, 1, 0, 1], [None, 1, 1, None]]
    answer = proto.client.get(
        f"{API}/projects/{proto.project_id}/camera-operation",
        params={"format": "csv"},
        headers=proto.headers,
    )
    assert answer.text.splitlines() == [
        "Station,deployment_id,setup,retrieval,2024-03-01,2024-03-02,2024-03-03,2024-03-04",
        f"A,{scene.a},2024-03-01,2024-03-04,0.5,1,0,0.5",
        f"B,{scene.b},2024-03-02,2024-03-03,NA,0.5,0.5,NA",
    ]


def _history(proto: Protocol, taxon: int, **params: Any) -> dict[str, Any]:
    return dict(
        api_get(proto, f"/projects/{proto.project_id}/detection-history", taxon=taxon, **params)
    )


def test_detection_history_by_station(shared: Shared[CamtrapScene]) -> None:
    proto, scene = shared.proto, shared.scene
    alba = scene.taxa["Ardea alba"]
    # Two-day occasions from each setup: A 1-2 March (0.5 + 1 days), 3-4 (0 + 0.5); B 2-3
    # March (0.5 + 0.5), then the 4th, outside its operation (NA).
    found = _history(proto, alba, occasion_length=2, min_delta_minutes=30, include_effort=True)
    assert found["occasions"] == 2
    assert found["warnings"] == []
    assert [(r["station"], r["start"], r["detections"], r["effort"]) for r in found["rows"]] == [
        ("A", "2024-03-01", [1, 1], [1.5, 0.5]),
        ("B", "2024-03-02", [1, None], [1, None]),
    ]
    # Counts of records: with every sighting a record, B's first occasion has two (b1, b2;
    # b1b is b1's duplicate), or three when duplicates are kept.
    counted = _history(proto, alba, occasion_length=2, output="count")
    assert [r["detections"] for r in counted["rows"]] == [[1, 1], [2, None]]
    assert counted["remove_duplicate_records"] is True
    every = _history(proto, alba, occasion_length=2, output="count",
                     remove_duplicate_records="false")  # fmt: skip
    assert [r["detections"] for r in every["rows"]] == [[1, 1], [3, None]]
    with_30 = _history(proto, alba, occasion_length=2, output="count", min_delta_minutes=30)
    assert [r["detections"] for r in with_30["rows"]] == [[1, 1], [1, None]]
    whole = _history(proto, alba, occasion_length=2, include_effort=True, setup_days="whole")
    assert [r["effort"] for r in whole["rows"]] == [[2, 1], [2, None]]


def test_detection_history_by_survey(shared: Shared[CamtrapScene]) -> None:
    proto, scene = shared.proto, shared.scene
    grey = scene.taxa["Ardea cinerea"]
    found = _history(proto, grey, occasion_length=2, day1="survey", output="count",
                     min_delta_minutes=30)  # fmt: skip
    assert found["occasion_starts"] == ["2024-03-01", "2024-03-03"]
    # A: a1 and a5 in 1-2 March; B: b3 on the 3rd (its one operating day of 3-4 March).
    assert [r["detections"] for r in found["rows"]] == [[2, 0], [0, 1]]
    # A day operating at least: A's 3-4 March and B's occasions have half a day.
    strict = _history(proto, grey, occasion_length=2, day1="survey", min_active_days=1)
    assert [r["detections"] for r in strict["rows"]] == [[1, None], [None, None]]
    answer = proto.client.get(
        f"{API}/projects/{proto.project_id}/detection-history",
        params={"taxon": grey, "occasion_length": 2, "day1": "survey", "format": "csv",
                "include_effort": "true"},
        headers=proto.headers,
    )  # fmt: skip
    assert answer.text.splitlines() == [
        "Station,deployment_id,start,o1,o2,effort_o1,effort_o2",
        f"A,{scene.a},2024-03-01,1,0,1.5,0.5",
        f"B,{scene.b},2024-03-01,0,1,0.5,0.5",
    ]
    # One-day occasions: camtrapR's matrix as it is (A's 3 March off: effort 0, NA).
    daily = _history(proto, grey, output="count", include_effort=True)
    assert [(r["detections"], r["effort"]) for r in daily["rows"]] == [
        ([3, 1, None, 0], [0.5, 1, 0, 0.5]),
        ([0, 1, None, None], [0.5, 0.5, None, None]),
    ]
    # Three-day occasions with every day between setup and retrieval operating.
    alba = _history(proto, scene.taxa["Ardea alba"], occasion_length=3, day1="survey",
                    output="count", include_effort=True, empty_days="operating")  # fmt: skip
    assert [(r["detections"], r["effort"]) for r in alba["rows"]] == [
        ([1, 1], [2.5, 0.5]),
        ([2, None], [1, None]),
    ]


def test_a_taxon_never_recorded_gives_zeros_and_a_warning(shared: Shared[CamtrapScene]) -> None:
    proto, scene = shared.proto, shared.scene
    never = scene.taxa["Egretta garzetta"]
    found = _history(proto, never)
    assert [r["detections"] for r in found["rows"]] == [[0, 0, None, 0], [0, 0, None, None]]
    (warning,) = found["warnings"]
    assert "Egretta garzetta" in warning
    assert "no records" in warning
    answer = proto.client.get(
        f"{API}/projects/{proto.project_id}/detection-history",
        params={"taxon": never, "format": "csv"},
        headers=proto.headers,
    )
    assert answer.status_code == 200
    assert "no records" in answer.headers["x-trapline-warning"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("record-table", {"min_delta_minutes": -1}, "min_delta_minutes"),
        ("record-table", {"since": "2024-03-04", "until": "2024-03-01"}, "since"),
        ("record-table", {"delta_compared_to": "lastPhoto"}, "delta_compared_to"),
        ("camera-operation", {"since": "2024-03-04", "until": "2024-03-01"}, "since"),
        ("camera-operation", {"empty_days": "maybe"}, "empty_days"),
        ("camera-operation", {"setup_days": "quarter"}, "setup_days"),
        ("record-table", {"remove_duplicate_records": "perhaps"}, "remove_duplicate_records"),
        ("detection-history", {"occasion_length": 0}, "occasion_length"),
        ("detection-history", {"occasion_length": -3}, "occasion_length"),
        ("detection-history", {"occasion_length": 2, "min_active_days": 3}, "min_active_days"),
        ("detection-history", {"min_delta_minutes": -5}, "min_delta_minutes"),
        ("detection-history", {"since": "2024-03-04", "until": "2024-03-01"}, "since"),
        ("detection-history", {"output": "presence"}, "output"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    shared: Shared[CamtrapScene], path: str, params: dict[str, Any], field: str
) -> None:
    proto, scene = shared.proto, shared.scene
    if path == "detection-history":
        params = {"taxon": scene.taxa["Ardea alba"], **params}
    answer = proto.client.get(
        f"{API}/projects/{proto.project_id}/{path}", params=params, headers=proto.headers
    )
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["detail"]


@pytest.mark.parametrize("path", ["record-table", "detection-history"])
def test_a_missing_taxon_or_deployment_is_a_404(shared: Shared[CamtrapScene], path: str) -> None:
    proto, scene = shared.proto, shared.scene
    for params in ({"taxon": 10**9}, {"taxon": scene.taxa["Ardea alba"], "deployment": 10**9}):
        answer = proto.client.get(
            f"{API}/projects/{proto.project_id}/{path}", params=params, headers=proto.headers
        )
        assert answer.status_code == 404, answer.text


def test_another_projects_objects_answer_as_missing_ones(
    proto: Protocol, scene: CamtrapScene
) -> None:
    made = api_post(proto, "/projects", {"name": "Elsewhere", "kind": "camera_trap"}, 201)
    elsewhere = proto.in_project(int(made["id"]))
    assert import_taxa(elsewhere, TAXA_CSV).status_code == 200
    theirs_taxon = find_taxon(elsewhere, "Ardea alba")
    # The scene's deployment and taxon, asked for in the other project (its owner's too).
    for field, foreign in (("deployment", scene.a), ("taxon", scene.taxa["Ardea alba"])):
        missing = foreign + 10**9
        for path in ("record-table", "camera-operation", "detection-history"):
            if path == "camera-operation" and field == "taxon":
                continue
            base = {} if field == "taxon" or path != "detection-history" else {
                "taxon": theirs_taxon
            }  # fmt: skip
            foreign_answer, missing_answer = (
                elsewhere.client.get(
                    f"{API}/projects/{elsewhere.project_id}/{path}",
                    params={**base, field: value},
                    headers=proto.headers,
                )
                for value in (foreign, missing)
            )
            assert foreign_answer.status_code == missing_answer.status_code == 404
            assert answered_as_missing(foreign_answer, missing_answer, foreign, missing)
            assert foreign_answer.json()["detail"] == f"{field} {foreign} not found"


def test_the_last_day_there_is(shared: Shared[CamtrapScene]) -> None:
    proto = shared.proto
    found = _records(proto, since="2024-03-04", until="9999-12-31")
    assert [r[2] for r in found] == ["2024-03-04 09:00:00"]
    days, _ = _operation(proto, since="2024-03-04", until="9999-12-31")
    assert days == ["2024-03-04"]


def test_a_name_a_spreadsheet_would_run_is_text_in_every_table(
    proto: Protocol, scene: CamtrapScene
) -> None:
    renamed = proto.client.patch(
        f"{API}/deployments/{scene.a}", json={"name": "=1+2"}, headers=proto.headers
    )
    assert renamed.status_code == 200, renamed.text
    alba = scene.taxa["Ardea alba"]
    for path, params in (
        ("record-table", {}),
        ("camera-operation", {}),
        ("detection-history", {"taxon": alba}),
    ):
        rows = list(csv.reader(io.StringIO(csv_of(proto, path, **params).decode())))
        stations = {r[0] for r in rows[1:]}
        assert stations == {"'=1+2", "B"}, (path, stations)
    records = list(csv.DictReader(io.StringIO(csv_of(proto, "record-table").decode())))
    assert {r["Directory"] for r in records} == {"'=1+2", "B"}
    # JSON carries the name as it is.
    assert _records(proto)[0][0] == "=1+2"


def test_two_deployments_of_one_folder_name_are_kept_apart_as_the_exports_keep_them(
    proto: Protocol, scene: CamtrapScene
) -> None:
    """Deployments ``b`` and ``B`` would be one folder: the record table's ``Directory`` names
    each as the photo exports do (``<name>-<id>``), so a record finds its photo in a copy made
    from an export."""
    renamed = proto.client.patch(
        f"{API}/deployments/{scene.a}", json={"name": "b"}, headers=proto.headers
    )
    assert renamed.status_code == 200, renamed.text
    table = api_get(proto, f"/projects/{proto.project_id}/record-table")["results"]
    folders = {(r["Station"], r["Directory"]) for r in table}
    assert folders == {("b", f"b-{scene.a}"), ("B", f"B-{scene.b}")}


def test_a_project_with_nothing_tracked_answers_empty(proto: Protocol) -> None:
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/deployments",
        json={
            "name": "Idle",
            "started_at": "2024-05-01T00:00:00",
            "ended_at": "2024-05-02T00:00:00",
        },
        headers=proto.headers,
    )
    assert made.status_code == 201, made.text
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    base = f"/projects/{proto.project_id}"
    table = api_get(proto, f"{base}/record-table")
    assert (table["pipeline"], table["results"], table["count"]) == (None, [], 0)
    days, rows = _operation(proto)
    assert (days, rows) == (["2024-05-01", "2024-05-02"], [("Idle", 0, 0)])
    assert _operation(proto, empty_days="operating")[1] == [("Idle", 0.5, 0.5)]
    # No photo: never operating, so every occasion is NA; with camtrapR's rule, zeros.
    egret = find_taxon(proto, "Ardea alba")
    found = _history(proto, egret)
    assert [r["detections"] for r in found["rows"]] == [[None, None]]
    assert found["warnings"]
    found = _history(proto, egret, empty_days="operating")
    assert [r["detections"] for r in found["rows"]] == [[0, 0]]


def test_a_table_past_its_cells_is_refused_saying_how_to_narrow_it(proto: Protocol) -> None:
    """Six hundred stations over 3,400 days would be 2,040,000 cells: the camera operation
    (JSON and CSV) and the detection history answer 400 naming since and until; a third of
    the days is a table like any other, its CSV streamed a few stations at a time."""
    first = datetime(2020, 1, 1)
    with proto.platform.db.write() as repos:
        for n in range(600):
            repos.core.deployments.create(
                proto.project_id,
                name=f"S{n:03d}",
                started_at=first,
                ended_at=first + timedelta(days=3_399),
            )
    import_taxa(proto, TAXA_CSV)
    heron = find_taxon(proto, "Ardea alba")
    base = f"{API}/projects/{proto.project_id}"
    for path, extra in (
        ("camera-operation", {}),
        ("camera-operation", {"format": "csv"}),
        ("detection-history", {"taxon": heron, "include_effort": "true", "format": "csv"}),
    ):
        refused = proto.client.get(f"{base}/{path}", params=extra, headers=proto.headers)
        assert refused.status_code == 400, refused.text
        detail = refused.json()["detail"]
        assert detail.startswith("since: the table would hold 2,040,000 cells"), detail
        assert "give since and until" in detail
    narrowed = proto.client.get(
        f"{base}/camera-operation",
        params={"since": "2020-01-01", "until": "2023-02-05", "format": "csv"},
        headers=proto.headers,
    )
    assert narrowed.status_code == 200, narrowed.text
    rows = list(csv.reader(io.StringIO(narrowed.text.lstrip("\ufeff"))))
    assert len(rows) == 601
    assert len(rows[1]) == 4 + 1_132
